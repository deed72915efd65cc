/**
 * The refresh token a client holds is scopegate's: the upstream's refresh token, the client it
 * was issued to and every scope first issued in the grant, encrypted together (compact JWE, `dir` + A256GCM,
 * with `tokens.refresh_token_key`). Nothing in it is readable or changeable by the client, and
 * any replica with the same key can open it, so no state is shared and no session is sticky.
 *
 * On a refresh, scopegate opens it, checks the client and the scope asked for against what it
 * binds (RFC 6749 §6: at most the scopes originally granted), and sends the upstream its own token.
 */
import { createHash } from 'node:crypto';
import { CompactEncrypt, compactDecrypt } from 'jose';
import { parseUntrustedObject } from '../http/untrusted-json.js';

export interface RefreshBinding {
  /** The upstream's refresh token. */
  upstreamToken: string;
  /** The client it was issued to (from the verified upstream access token). */
  clientId: string;
  /** The scopes first issued in the access token: a refresh never gets more. */
  scopes: string[];
  /**
   * Scopes the grant holds beyond its access token (RFC 6749 §6 "originally granted"): `openid`
   * and `offline_access` when the upstream's access token is bound to a resource server and
   * carries only that server's scopes, while the grant also issued an ID token and a refresh
   * token. A refresh may ask for them again; they never enter an access token the upstream's
   * does not cover.
   */
  grantScopes: string[];
  /**
   * RFC 9449 §5: for a public client, the thumbprint of the DPoP key the grant was issued to: a
   * refresh must be proved with the same key. A confidential client's refresh is bound by its
   * authentication instead, so its tokens record none.
   */
  jkt?: string | undefined;
  /**
   * RFC 8705 §4: for a public client, the `x5t#S256` of the certificate its tokens were bound to:
   * a refresh must come over a connection presenting it.
   */
  x5t?: string | undefined;
}

const FORMAT = 1;

/** A short, stable id for a key, so a token says which key opens it (rotation). */
export function refreshKeyId(key: Uint8Array): string {
  return createHash('sha256').update(key).digest().subarray(0, 8).toString('base64url');
}

export async function wrapRefreshToken(binding: RefreshBinding, key: Uint8Array): Promise<string> {
  const payload = JSON.stringify({
    v: FORMAT,
    rt: binding.upstreamToken,
    cid: binding.clientId,
    scp: binding.scopes,
    ...(binding.grantScopes.length > 0 ? { gs: binding.grantScopes } : {}),
    ...(binding.jkt !== undefined ? { jkt: binding.jkt } : {}),
    ...(binding.x5t !== undefined ? { x5t: binding.x5t } : {}),
  });
  return new CompactEncrypt(new TextEncoder().encode(payload))
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: refreshKeyId(key) })
    .encrypt(key);
}

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

/** The binding, or undefined when the token is not one of scopegate's (or was altered). */
export async function unwrapRefreshToken(
  token: string,
  key: Uint8Array,
): Promise<RefreshBinding | undefined> {
  try {
    const { plaintext } = await compactDecrypt(token, key, {
      keyManagementAlgorithms: ['dir'],
      contentEncryptionAlgorithms: ['A256GCM'],
    });
    const data = parseUntrustedObject(new TextDecoder().decode(plaintext));
    if (data === undefined) return undefined;
    const { v, rt, cid, scp, gs, jkt, x5t } = data;
    if (v !== FORMAT || typeof rt !== 'string' || typeof cid !== 'string') return undefined;
    if (!isStringList(scp)) return undefined;
    // Tokens wrapped before grant scopes were recorded have none: they bind the access token's.
    if (gs !== undefined && !isStringList(gs)) return undefined;
    if (jkt !== undefined && typeof jkt !== 'string') return undefined;
    if (x5t !== undefined && typeof x5t !== 'string') return undefined;
    return {
      upstreamToken: rt,
      clientId: cid,
      scopes: scp,
      grantScopes: gs ?? [],
      ...(jkt !== undefined ? { jkt } : {}),
      ...(x5t !== undefined ? { x5t } : {}),
    };
  } catch {
    return undefined;
  }
}
