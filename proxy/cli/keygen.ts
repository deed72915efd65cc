/**
 * `scopegate keygen`: a new private signing key as PKCS#8 PEM, readable by its owner only, and the
 * `signing.keys` entry that works where it is pasted: `status: active` for a first key, `next`
 * (publish before signing) when the given config already has an active key; `--status` decides
 * otherwise.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isSeq, LineCounter, parseDocument } from 'yaml';
import { SIGNING_ALGORITHMS } from '../../config/schema.js';
import { generatePrivateKeyPem, type SigningAlgorithm } from '../keys/key-material.js';
import { UsageError } from './usage.js';

export interface KeygenOptions {
  alg?: string;
  kid?: string;
  out?: string;
  force?: boolean;
  status?: string;
  /** the config the key is for: decides the default status and the key file's relative path */
  config?: string;
}

const KEY_STATUSES = ['active', 'next', 'retired'] as const;
type KeyStatus = (typeof KEY_STATUSES)[number];

/** Why each status, printed beside it so the pasted entry explains itself. */
const STATUS_NOTE: Record<KeyStatus, string> = {
  active: 'signs new tokens; exactly one key is active',
  next: 'published, not signing: make it active once JWKS caches have seen it',
  retired: 'published until publish_until, never signs',
};

export function defaultKid(now = new Date()): string {
  const month = `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, '0')}`;
  return `${month}-${randomBytes(3).toString('hex')}`;
}

function isStatus(value: string): value is KeyStatus {
  return (KEY_STATUSES as readonly string[]).includes(value);
}

/** The signing keys a config already lists, and the column its `- kid` entries start at. */
interface ExistingKeys {
  keys: Array<Record<string, unknown>>;
  column: number;
}

/**
 * Reads the config's signing keys from the YAML as written (the config may not be valid yet: the
 * key being generated is often what it lacks). A config not written yet has none.
 */
async function configuredKeys(file: string): Promise<ExistingKeys> {
  const none = { keys: [], column: 4 };
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    if (code === 'ENOENT') return none;
    throw new Error(`${file}: cannot read the config file (${code})`);
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  if (doc.errors.length > 0) {
    throw new Error(`${file}: not valid YAML (${doc.errors[0]?.message.split('\n')[0]})`);
  }
  const node = doc.getIn(['signing', 'keys'], true);
  if (!isSeq(node)) return none;
  const start = node.range?.[0];
  // Block sequences start at their first `-`; flow sequences ([...]) get the usual 4 spaces.
  const column = start !== undefined && !node.flow ? lines.linePos(start).col - 1 : 4;
  const entries: unknown[] = node.toJSON();
  return {
    keys: entries.filter(
      (key): key is Record<string, unknown> => typeof key === 'object' && key !== null,
    ),
    column,
  };
}

/** The key file as the config will name it: relative to the config's directory when there is one. */
function keyFileReference(out: string, config: string | undefined): string {
  const absolute = path.resolve(out);
  if (config === undefined) return absolute;
  return path.relative(path.dirname(path.resolve(config)), absolute) || absolute;
}

export function keySnippet(entry: {
  kid: string;
  alg: SigningAlgorithm;
  file: string;
  status: KeyStatus;
  /** set: the config has a signing.keys list already; print only the entry, at this column */
  entryColumn?: number;
}): string[] {
  const indent = ' '.repeat(entry.entryColumn ?? 4);
  const item = [
    `${indent}- kid: "${entry.kid}"`,
    `${indent}  alg: ${entry.alg}`,
    `${indent}  private_key_file: "${entry.file}"`,
    `${indent}  status: ${entry.status}   # ${STATUS_NOTE[entry.status]}`,
  ];
  return entry.entryColumn !== undefined ? item : ['signing:', '  keys:', ...item];
}

export async function keygen(options: KeygenOptions): Promise<{ text: string; file?: string }> {
  const alg = (options.alg ?? 'ES256') as SigningAlgorithm;
  if (!SIGNING_ALGORITHMS.includes(alg)) {
    throw new UsageError(
      `--alg: unsupported algorithm ${alg} (one of ${SIGNING_ALGORITHMS.join(', ')})`,
    );
  }
  if (options.status !== undefined && !isStatus(options.status)) {
    throw new UsageError(`--status must be one of: ${KEY_STATUSES.join(', ')}`);
  }
  if (options.out === undefined && (options.status !== undefined || options.config !== undefined)) {
    throw new UsageError('--status and --config describe the config entry: give --out FILE too');
  }
  const kid = options.kid ?? defaultKid();
  const pem = generatePrivateKeyPem(alg);
  if (options.out === undefined) return { text: pem };

  const existing =
    options.config === undefined ? { keys: [], column: 4 } : await configuredKeys(options.config);
  const hasActive = existing.keys.some((key) => key.status === 'active');
  const status: KeyStatus = options.status ?? (hasActive ? 'next' : 'active');

  await mkdir(path.dirname(path.resolve(options.out)), { recursive: true });
  try {
    await writeFile(options.out, pem, { mode: 0o600, flag: options.force ? 'w' : 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new Error(`${options.out} exists (use --force)`);
    }
    throw error;
  }
  const where =
    existing.keys.length > 0
      ? `add it to signing.keys in ${options.config}:`
      : 'add it to the config:';
  const snippet = [
    `wrote ${alg} key ${kid} to ${options.out}`,
    where,
    ...keySnippet({
      kid,
      alg,
      file: keyFileReference(options.out, options.config),
      status,
      ...(existing.keys.length > 0 ? { entryColumn: existing.column } : {}),
    }),
    '',
  ];
  return { text: snippet.join('\n'), file: options.out };
}
