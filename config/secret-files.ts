/**
 * Every secret of the configuration, and its `_file` form: the one list that loading, `check`
 * and the config watcher read. A secret is given inline (where `${ENV}` puts it in from the
 * environment) or as a file (Kubernetes mounts Secrets as files), never both (config/schema.ts).
 * A file is read each time the configuration is loaded, at start and on every reload; one
 * trailing newline is ignored, and the content is checked as the inline form is checked. What a
 * file holds is never repeated in a message: only its name and what is wrong with it.
 *
 * Signing keys are not here: `private_key_file` is their usual form and the key loader reads it
 * (proxy/keys/signing-keys.ts).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type * as z from 'zod';
import { parseOtlpHeaders } from './otlp-headers.js';
import { cacheKeyValue, key32, secretText } from './schema.js';

export interface SecretSetting {
  /**
   * Path of the inline form; the `_file` form is its sibling with `_file` appended. A segment
   * ending in `[]` is a list: the setting is in each of its entries.
   */
  path: readonly string[];
  /** What the content must be: the inline form's own check. */
  value: z.ZodType<string>;
  /** How the checked text becomes the inline form's value, when that is not text. */
  decode?: (text: string) => unknown;
}

/** Every Redis connection setting: each has a password, for the server, Sentinel or cluster. */
const REDIS_CONNECTIONS = [
  ['cache', 'upstream_tokens', 'redis'],
  ['tokens', 'revocation', 'redis'],
  ['tokens', 'replay', 'redis'],
  ['upstream', 'quota', 'redis'],
] as const;

export const SECRET_SETTINGS: readonly SecretSetting[] = [
  { path: ['upstream', 'introspection', 'client_secret'], value: secretText },
  {
    path: ['tracing', 'exporter', 'headers'],
    value: secretText.refine((text) => Object.keys(parseOtlpHeaders(text) ?? {}).length > 0, {
      message: 'expected key=value pairs separated by commas',
    }),
    decode: parseOtlpHeaders,
  },
  { path: ['tokens', 'refresh_token_key'], value: key32 },
  { path: ['tokens', 'upstream_token_key'], value: key32 },
  { path: ['tokens', 'dpop', 'nonce', 'key'], value: key32 },
  { path: ['cache', 'upstream_tokens', 'key'], value: cacheKeyValue },
  // Per client (`clients[]`: every entry of the list).
  { path: ['clients[]', 'client_secret'], value: secretText },
  { path: ['clients[]', 'upstream_auth', 'client_secret'], value: secretText },
  ...REDIS_CONNECTIONS.flatMap((at) =>
    [[], ['sentinel'], ['cluster']].map((where) => ({
      path: [...at, ...where, 'password'],
      value: secretText,
    })),
  ),
];

/** A `_file` setting found in a configuration. */
export interface SecretFileReference {
  setting: SecretSetting;
  /** Path of the `_file` key (list entries by index), for messages and line numbers. */
  at: (string | number)[];
  /** Path of the inline form the content goes to, list entries by index. */
  inline: (string | number)[];
  /** As written: relative to the config file's directory. */
  file: string;
  /** Resolved against the config file's directory. */
  absolute: string;
}

function memberOf(value: unknown, key: string | number): unknown {
  if (typeof value !== 'object' || value === null) return undefined;
  if (Array.isArray(value) !== (typeof key === 'number')) return undefined;
  return (value as Record<string | number, unknown>)[key];
}

/** Every concrete path `pattern` (with `[]` list segments) names in `config`, with its holder. */
function concretePaths(
  config: unknown,
  pattern: readonly string[],
): { path: (string | number)[]; value: unknown }[] {
  let found: { path: (string | number)[]; value: unknown }[] = [{ path: [], value: config }];
  for (const segment of pattern) {
    const list = segment.endsWith('[]');
    const key = list ? segment.slice(0, -2) : segment;
    found = found.flatMap(({ path, value }) => {
      const member = memberOf(value, key);
      if (!list) return [{ path: [...path, key], value: member }];
      if (!Array.isArray(member)) return [];
      return member.map((entry, index) => ({ path: [...path, key, index], value: entry }));
    });
  }
  return found;
}

/**
 * The `_file` settings `config` uses. `config` may be unvalidated (what `check` reports besides the
 * schema's errors): a value that is not text is skipped, the schema names it.
 */
export function secretFilesOf(config: unknown, configFile: string): SecretFileReference[] {
  const found: SecretFileReference[] = [];
  for (const setting of SECRET_SETTINGS) {
    const name = setting.path.at(-1) as string;
    for (const holder of concretePaths(config, setting.path.slice(0, -1))) {
      const file = memberOf(holder.value, `${name}_file`);
      if (typeof file !== 'string' || file === '') continue;
      found.push({
        setting,
        at: [...holder.path, `${name}_file`],
        inline: [...holder.path, name],
        file,
        absolute: path.resolve(path.dirname(configFile), file),
      });
    }
  }
  return found;
}

export interface SecretFileProblem {
  /** Path of the `_file` key it is about. */
  at: (string | number)[];
  /** `dotted.path_file: what is wrong`. */
  text: string;
}

export interface ReadSecrets {
  /** The content of each readable, valid file, with where it goes. */
  values: { reference: SecretFileReference; value: string }[];
  problems: SecretFileProblem[];
}

/** Reads every `_file` secret `config` names and checks its content. */
export async function readSecretFiles(config: unknown, configFile: string): Promise<ReadSecrets> {
  const values: ReadSecrets['values'] = [];
  const problems: SecretFileProblem[] = [];
  for (const reference of secretFilesOf(config, configFile)) {
    const where = reference.at.join('.');
    const problem = (text: string) =>
      problems.push({ at: reference.at, text: `${where}: ${text}` });
    let content: string;
    try {
      content = (await readFile(reference.absolute, 'utf8')).replace(/\r?\n$/, '');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'error';
      problem(`cannot read ${reference.file} (${code})`);
      continue;
    }
    if (content === '') {
      problem(`${reference.file} is empty`);
      continue;
    }
    // The check's own message only: the content is a secret, never quoted back.
    const checked = reference.setting.value.safeParse(content);
    if (!checked.success) {
      problem(`${reference.file}: ${checked.error.issues[0]?.message ?? 'not a valid value'}`);
      continue;
    }
    values.push({ reference, value: checked.data });
  }
  return { values, problems };
}

/** Puts each secret read from a file into its inline setting, where the code reads it. */
export function withSecretValues<T extends object>(config: T, secrets: ReadSecrets): T {
  for (const { reference, value } of secrets.values) {
    let holder: unknown = config;
    for (const key of reference.inline.slice(0, -1)) holder = memberOf(holder, key);
    if (typeof holder !== 'object' || holder === null) continue;
    const { setting } = reference;
    (holder as Record<string, unknown>)[reference.inline.at(-1) as string] =
      setting.decode === undefined ? value : setting.decode(value);
  }
  return config;
}
