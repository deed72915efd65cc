/**
 * scopegate's own keys: the ones that sign (one active key per algorithm), and the set it
 * publishes. Every replica given the same key files publishes the same JWKS (same kids, same
 * order, no per-process state).
 */

import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { SigningKeyConfig } from '../../config/schema.js';
import { TOKEN_TYPS, type TokenTyp } from '../rules/token-typ.js';
import { createJwtSigner, type JwtSigner } from './jwt-signer.js';
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
  /** Signs with this key and `typ` at+jwt; prepared once when the key loads, not per token. */
  signer: JwtSigner;
  /** Signs with this key, per `typ` header (token profiles choose one). */
  signers: Readonly<Record<TokenTyp, JwtSigner>>;
  /** Retired keys stop being published after this instant (ms since epoch). */
  publishUntil?: number;
}

export class SigningKeySet {
  /** The key that signs what names no algorithm: tokens without a profile `alg`, ID tokens. */
  readonly active: SigningKey;
  private readonly activeByAlg = new Map<SigningAlgorithm, SigningKey>();

  /**
   * `defaultAlg` (signing.default_alg) picks the default key when several algorithms have an
   * active key; with one, it may be left out. The schema checks the same rules with paths.
   */
  constructor(
    readonly keys: readonly SigningKey[],
    defaultAlg?: SigningAlgorithm,
  ) {
    for (const key of keys) {
      if (key.status !== 'active') continue;
      if (this.activeByAlg.has(key.alg)) {
        throw new Error(`more than one active ${key.alg} signing key`);
      }
      this.activeByAlg.set(key.alg, key);
    }
    if (this.activeByAlg.size === 0) throw new Error('no signing key is active');
    if (defaultAlg === undefined && this.activeByAlg.size > 1) {
      throw new Error('several algorithms have an active key: signing.default_alg must pick one');
    }
    const active =
      defaultAlg === undefined
        ? [...this.activeByAlg.values()][0]
        : this.activeByAlg.get(defaultAlg);
    if (active === undefined) throw new Error(`no active ${defaultAlg} signing key`);
    this.active = active;
  }

  /** The active key of `alg`, or undefined when none is configured (the config check refuses). */
  activeFor(alg: SigningAlgorithm): SigningKey | undefined {
    return this.activeByAlg.get(alg);
  }

  /** The algorithms that sign something: one per active key. */
  activeAlgorithms(): SigningAlgorithm[] {
    return [...this.activeByAlg.keys()];
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
      ...signersOf(config.alg, config.kid, privateKey),
      ...(config.publish_until ? { publishUntil: Date.parse(config.publish_until) } : {}),
    },
  };
}

function signersOf(
  alg: SigningAlgorithm,
  kid: string,
  privateKey: KeyObject,
): { signer: JwtSigner; signers: Record<TokenTyp, JwtSigner> } {
  const signers = Object.fromEntries(
    TOKEN_TYPS.map((typ) => [typ, createJwtSigner(alg, kid, privateKey, typ)]),
  ) as Record<TokenTyp, JwtSigner>;
  return { signer: signers['at+jwt'], signers };
}

/** Loads every configured key, collecting all problems before failing. */
export async function loadSigningKeys(
  configs: readonly SigningKeyConfig[],
  configFile: string,
  defaultAlg?: SigningAlgorithm,
): Promise<SigningKeySet> {
  const problems: string[] = [];
  const keys: SigningKey[] = [];
  for (const [index, config] of configs.entries()) {
    const loaded = await loadSigningKey(config, index, configFile);
    if (loaded.ok) keys.push(loaded.key);
    else problems.push(loaded.problem);
  }
  if (problems.length > 0) throw new KeyLoadError(problems);
  return new SigningKeySet(keys, defaultAlg);
}

export class KeyLoadError extends Error {
  constructor(readonly problems: string[]) {
    super(`cannot load signing keys:\n  ${problems.join('\n  ')}`);
    this.name = 'KeyLoadError';
  }
}
