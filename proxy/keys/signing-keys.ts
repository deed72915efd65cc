/**
 * scopegate's own keys: the one that signs, and the set it publishes. Every replica given the
 * same key files publishes the same JWKS (same kids, same order, no per-process state).
 */

import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { SigningKeyConfig } from '../../config/schema.js';
import {
  keyAlgorithmMismatch,
  type PublicJwk,
  parsePrivateKey,
  publicJwk,
  type SigningAlgorithm,
} from './key-material.js';

export interface SigningKey {
  kid: string;
  alg: SigningAlgorithm;
  status: 'next' | 'active' | 'retired';
  privateKey: KeyObject;
  publicJwk: PublicJwk;
  /** Retired keys stop being published after this instant (ms since epoch). */
  publishUntil?: number;
}

export class SigningKeySet {
  readonly active: SigningKey;

  constructor(readonly keys: readonly SigningKey[]) {
    const active = keys.filter((key) => key.status === 'active');
    if (active.length !== 1) throw new Error('exactly one signing key must be active');
    this.active = active[0] as SigningKey;
  }

  /**
   * The JWKS as of `now`: next, active, and retired keys still inside their publishing window,
   * in configured order. Statuses do not show in it, so replicas that differ only in which key
   * is active (a rotation rolling out) publish byte-identical documents.
   */
  jwks(now = Date.now()): { keys: PublicJwk[] } {
    return {
      keys: this.keys.filter((key) => isPublished(key, now)).map((key) => key.publicJwk),
    };
  }
}

export function isPublished(key: SigningKey, now: number): boolean {
  return key.publishUntil === undefined || now < key.publishUntil;
}

/** Loads one configured key (entry `index` of signing.keys); a problem comes back as its message. */
export async function loadSigningKey(
  config: SigningKeyConfig,
  index: number,
  configFile: string,
): Promise<{ ok: true; key: SigningKey } | { ok: false; problem: string }> {
  const where = `signing.keys[${index}] (kid ${config.kid})`;
  let text: string;
  if (config.private_key !== undefined) {
    text = config.private_key;
  } else {
    const file = path.resolve(path.dirname(configFile), config.private_key_file as string);
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'error';
      return { ok: false, problem: `${where}: cannot read ${config.private_key_file} (${code})` };
    }
  }
  let privateKey: KeyObject;
  try {
    privateKey = parsePrivateKey(text);
  } catch (error) {
    return { ok: false, problem: `${where}: ${(error as Error).message}` };
  }
  const mismatch = keyAlgorithmMismatch(privateKey, config.alg);
  if (mismatch) return { ok: false, problem: `${where}: ${mismatch}` };
  return {
    ok: true,
    key: {
      kid: config.kid,
      alg: config.alg,
      status: config.status,
      privateKey,
      publicJwk: publicJwk(privateKey, config.kid, config.alg),
      ...(config.publish_until ? { publishUntil: Date.parse(config.publish_until) } : {}),
    },
  };
}

/** Loads every configured key, collecting all problems before failing. */
export async function loadSigningKeys(
  configs: readonly SigningKeyConfig[],
  configFile: string,
): Promise<SigningKeySet> {
  const problems: string[] = [];
  const keys: SigningKey[] = [];
  for (const [index, config] of configs.entries()) {
    const loaded = await loadSigningKey(config, index, configFile);
    if (loaded.ok) keys.push(loaded.key);
    else problems.push(loaded.problem);
  }
  if (problems.length > 0) throw new KeyLoadError(problems);
  return new SigningKeySet(keys);
}

export class KeyLoadError extends Error {
  constructor(readonly problems: string[]) {
    super(`cannot load signing keys:\n  ${problems.join('\n  ')}`);
    this.name = 'KeyLoadError';
  }
}
