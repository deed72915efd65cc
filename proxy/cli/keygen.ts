/** `scopegate keygen`: a new private signing key as PKCS#8 PEM, readable by its owner only. */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SIGNING_ALGORITHMS } from '../../config/schema.js';
import { generatePrivateKeyPem, type SigningAlgorithm } from '../keys/key-material.js';

export interface KeygenOptions {
  alg?: string;
  kid?: string;
  out?: string;
  force?: boolean;
}

export function defaultKid(now = new Date()): string {
  const month = `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, '0')}`;
  return `${month}-${randomBytes(3).toString('hex')}`;
}

export async function keygen(options: KeygenOptions): Promise<{ text: string; file?: string }> {
  const alg = (options.alg ?? 'ES256') as SigningAlgorithm;
  if (!SIGNING_ALGORITHMS.includes(alg)) {
    throw new Error(`unsupported algorithm ${alg} (one of ${SIGNING_ALGORITHMS.join(', ')})`);
  }
  const kid = options.kid ?? defaultKid();
  const pem = generatePrivateKeyPem(alg);
  if (options.out === undefined) return { text: pem };
  await mkdir(path.dirname(path.resolve(options.out)), { recursive: true });
  await writeFile(options.out, pem, { mode: 0o600, flag: options.force ? 'w' : 'wx' });
  const snippet = [
    `wrote ${alg} key ${kid} to ${options.out}`,
    'add it to the config:',
    'signing:',
    '  keys:',
    `    - kid: "${kid}"`,
    `      alg: ${alg}`,
    `      private_key_file: "${options.out}"`,
    '      status: next   # publish first; make it active once caches have seen it',
    '',
  ].join('\n');
  return { text: snippet, file: options.out };
}
