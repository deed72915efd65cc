/**
 * The upstream's access token, carried inside scopegate's own access token for the upstream
 * endpoints that only know the upstream's tokens (userinfo, introspection, revocation).
 *
 * Only tokens whose scope includes `openid` carry it (machine tokens stay small), and only with
 * `tokens.upstream_token_key`. It is a compact JWE (`dir` + A256GCM) in one private claim,
 * readable by scopegate alone: resource servers and clients see ciphertext, never a token the
 * upstream would accept. Any replica with the same secret opens it: no shared state, no sticky
 * sessions.
 *
 * The content key is derived per token with HKDF-SHA256 from the configured secret, with the
 * scopegate token's `jti` as salt: the claim opens only inside the token it was issued in (copied
 * into another token, for instance by token exchange, it is just noise), and the binding costs no
 * bytes. A different HKDF `info` than anything else keeps the secret's uses apart even when the
 * same value is configured for `tokens.refresh_token_key`.
 */
import { hkdfSync } from 'node:crypto';
import { CompactEncrypt, compactDecrypt, decodeProtectedHeader, type JWTPayload } from 'jose';
import type { Config } from '../../config/schema.js';

import { EMBEDDED_CLAIM } from '../rules/claim-names.js';

export { EMBEDDED_CLAIM };

/** The scope a token must carry to embed the upstream's token: userinfo needs it (OIDC Core §5.3). */
export const EMBEDDING_SCOPE = 'openid';

const CONTENT_KEY_INFO = 'scopegate upstream access token v1';
const KEY_ID_INFO = 'scopegate upstream access token key id v1';

export interface EmbeddingKey {
  secret: Buffer;
  /** Names the secret in the JWE header, so a token sealed under another secret is told apart. */
  kid: string;
}

/** Derived once per configuration generation (a reload brings a new Config object). */
const derivedKeys = new WeakMap<Config, EmbeddingKey | undefined>();

/** The configured secret (tokens.upstream_token_key), or undefined when embedding is off. */
export function embeddingKeyOf(config: Config): EmbeddingKey | undefined {
  if (derivedKeys.has(config)) return derivedKeys.get(config);
  const configured = config.tokens.upstream_token_key;
  const key = configured === undefined ? undefined : embeddingKey(configured);
  derivedKeys.set(config, key);
  return key;
}

/** The key for a secret as configured (32 bytes, base64url). */
export function embeddingKey(configured: string): EmbeddingKey {
  const secret = Buffer.from(configured, 'base64url');
  const id = hkdfSync('sha256', secret, Buffer.alloc(0), KEY_ID_INFO, 8);
  return { secret, kid: Buffer.from(id).toString('base64url') };
}

function contentKey(key: EmbeddingKey, jti: string): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', key.secret, jti, CONTENT_KEY_INFO, 32));
}

export async function sealUpstreamToken(
  upstreamToken: string,
  jti: string,
  key: EmbeddingKey,
): Promise<string> {
  return new CompactEncrypt(new TextEncoder().encode(upstreamToken))
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: key.kid })
    .encrypt(contentKey(key, jti));
}

/**
 * The upstream token inside verified claims of scopegate's token, or undefined: no claim, sealed
 * under another secret or for another token, or altered.
 */
export async function openEmbeddedToken(
  claims: JWTPayload,
  key: EmbeddingKey,
): Promise<string | undefined> {
  const sealed = claims[EMBEDDED_CLAIM];
  if (typeof sealed !== 'string' || typeof claims.jti !== 'string') return undefined;
  try {
    if (decodeProtectedHeader(sealed).kid !== key.kid) return undefined;
    const { plaintext } = await compactDecrypt(sealed, contentKey(key, claims.jti), {
      keyManagementAlgorithms: ['dir'],
      contentEncryptionAlgorithms: ['A256GCM'],
    });
    const token = new TextDecoder('utf-8', { fatal: true }).decode(plaintext);
    return token === '' ? undefined : token;
  } catch {
    return undefined;
  }
}

export interface Embedding {
  /** The claims to issue from: the claim removed, or replaced by a fresh seal. */
  claims: JWTPayload;
  /** The jti the seal is bound to, which the issued token must carry. */
  jti?: string;
}

/**
 * What the issue step signs: claims never carry an embedded token they arrived with (a subject
 * token of token exchange, or an upstream claim of the same name), and carry a new one, bound to
 * a fresh jti, when the issued scopes include openid and a key is configured.
 */
export async function embeddingFor(
  claims: JWTPayload,
  scopes: readonly string[],
  upstreamToken: unknown,
  config: Config,
  newJti: () => string,
): Promise<Embedding> {
  let carried = claims;
  if (EMBEDDED_CLAIM in claims) {
    carried = { ...claims };
    delete carried[EMBEDDED_CLAIM];
  }
  if (typeof upstreamToken !== 'string' || upstreamToken === '') return { claims: carried };
  if (!scopes.includes(EMBEDDING_SCOPE)) return { claims: carried };
  const key = embeddingKeyOf(config);
  if (key === undefined) return { claims: carried };
  const jti = newJti();
  const sealed = await sealUpstreamToken(upstreamToken, jti, key);
  return { claims: { ...carried, [EMBEDDED_CLAIM]: sealed }, jti };
}
