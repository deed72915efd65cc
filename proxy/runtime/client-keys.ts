/**
 * The keys of client authentication, for one configuration generation:
 *
 * - each `private_key_jwt` client's public keys, from `clients[].jwks` (imported once) or
 *   `clients[].jwks_uri` (fetched, kept `client_auth.jwks_uri.max_age`, fetched again for an
 *   unknown kid at most once per cooldown: the upstream JWKS cache, upstream-keys.ts, pointed at
 *   the client's URL, through the environment's egress only, never the upstream's TLS settings
 *   or credentials);
 * - the private key scopegate signs a client's upstream assertions with
 *   (`clients[].upstream_auth.key_file`, method private_key_jwt), read on every load, so a bad
 *   key fails the start or the reload rather than a request.
 *
 * Bounded by construction: one key set per configured client, each at most MAX_UPSTREAM_KEYS
 * keys from a document of at most 1 MiB (http-client.ts).
 */
import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { calculateJwkThumbprint } from 'jose';
import type { Config, UpstreamAuthConfig } from '../../config/schema.js';
import {
  type PreparedKey,
  prepareKeys,
  type VerifiedJws,
  verifyCompactJws,
} from '../keys/jws-verifier.js';
import { createJwtSigner, type JwtSigner } from '../keys/jwt-signer.js';
import {
  keyAlgorithmMismatch,
  parsePrivateKey,
  publicJwk,
  type SigningAlgorithm,
} from '../keys/key-material.js';
import { UpstreamKeys } from '../upstream/upstream-keys.js';

/** Where one client's public keys come from. */
type ClientKeySource =
  | { kind: 'inline'; keys: PreparedKey[] }
  | { kind: 'remote'; uri: string; keys: UpstreamKeys };

/** scopegate's signing key for one client's assertions to the upstream. */
export interface UpstreamAssertionKey {
  /** Signs the assertion (header alg, kid, typ JWT). */
  signer: JwtSigner;
  alg: SigningAlgorithm;
  kid: string;
}

export class ClientKeyLoadError extends Error {
  constructor(readonly problems: string[]) {
    super(`cannot load client authentication keys:\n  ${problems.join('\n  ')}`);
    this.name = 'ClientKeyLoadError';
  }
}

async function loadUpstreamAssertionKey(
  auth: UpstreamAuthConfig,
  where: string,
  configFile: string,
): Promise<UpstreamAssertionKey> {
  const file = path.resolve(path.dirname(configFile), auth.key_file as string);
  const alg = auth.alg as SigningAlgorithm;
  let key: KeyObject;
  try {
    key = parsePrivateKey(await readFile(file, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === undefined ? (error as Error).message : `cannot read it (${code})`;
    throw new Error(`${where}.key_file ${auth.key_file}: ${why}`);
  }
  const mismatch = keyAlgorithmMismatch(key, alg);
  if (mismatch !== undefined) throw new Error(`${where}.key_file ${auth.key_file}: ${mismatch}`);
  // Without a configured kid, the RFC 7638 thumbprint: what a JWKS registered by thumbprint names.
  const kid = auth.kid ?? (await calculateJwkThumbprint(publicJwk(key, '', alg)));
  return { signer: createJwtSigner(alg, kid, key, 'JWT'), alg, kid };
}

export class ClientKeys {
  private constructor(
    private readonly sources: ReadonlyMap<string, ClientKeySource>,
    private readonly upstreamKeys: ReadonlyMap<string, UpstreamAssertionKey>,
  ) {}

  /**
   * Builds the generation's client keys; a remote key set of `previous` with the same URL and
   * settings is kept, so a reload does not refetch every client's JWKS.
   */
  static async load(
    config: Config,
    configFile: string,
    previous?: ClientKeys,
    previousConfig?: Config,
  ): Promise<ClientKeys> {
    const sameFetching =
      previousConfig !== undefined &&
      JSON.stringify(previousConfig.client_auth.jwks_uri) ===
        JSON.stringify(config.client_auth.jwks_uri);
    const fetching = config.client_auth.jwks_uri;
    const sources = new Map<string, ClientKeySource>();
    const upstreamKeys = new Map<string, UpstreamAssertionKey>();
    const problems: string[] = [];
    for (const [index, rule] of config.clients.entries()) {
      if (rule.jwks !== undefined) {
        sources.set(rule.client_id, { kind: 'inline', keys: prepareKeys(rule.jwks.keys) });
      } else if (rule.jwks_uri !== undefined) {
        const uri = rule.jwks_uri;
        const kept = previous?.sources.get(rule.client_id);
        const keys =
          sameFetching && kept?.kind === 'remote' && kept.uri === uri
            ? kept.keys
            : new UpstreamKeys({
                jwksUri: async () => new URL(uri),
                maxAgeMs: fetching.max_age,
                cooldownMs: fetching.cooldown,
                staleIfErrorMs: fetching.max_age,
                timeoutMs: fetching.timeout,
              });
        sources.set(rule.client_id, { kind: 'remote', uri, keys });
      }
      const auth = rule.upstream_auth;
      if (auth?.method === 'private_key_jwt') {
        try {
          const where = `clients[${index}].upstream_auth`;
          upstreamKeys.set(rule.client_id, await loadUpstreamAssertionKey(auth, where, configFile));
        } catch (error) {
          problems.push((error as Error).message);
        }
      }
    }
    if (problems.length > 0) throw new ClientKeyLoadError(problems);
    return new ClientKeys(sources, upstreamKeys);
  }

  /**
   * Verifies a client's assertion with its published keys and one of `algorithms`; throws
   * JwsRefused (or UpstreamKeysUnavailable when a jwks_uri cannot be fetched and nothing usable
   * is held).
   */
  async verify(
    clientId: string,
    token: string,
    algorithms: readonly string[],
  ): Promise<VerifiedJws> {
    const source = this.sources.get(clientId);
    if (source === undefined) throw new Error(`no keys configured for client ${clientId}`);
    if (source.kind === 'inline') return verifyCompactJws(token, source.keys, algorithms);
    return source.keys.verifyJws(token, algorithms);
  }

  /** scopegate's key for `clientId`'s upstream assertions (upstream_auth private_key_jwt). */
  upstreamAssertionKey(clientId: string): UpstreamAssertionKey | undefined {
    return this.upstreamKeys.get(clientId);
  }
}
