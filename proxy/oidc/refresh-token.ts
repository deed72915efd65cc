/**
 * The refresh token a client holds is scopegate's: the upstream's refresh token, the client it
 * was issued to and the scopes first issued, encrypted together (compact JWE, `dir` + A256GCM,
 * with `tokens.refresh_token_key`). Nothing in it is readable or changeable by the client, and
 * any replica with the same key can open it, so no state is shared and no session is sticky.
 *
 * On a refresh, scopegate opens it, checks the client and the scope asked for against what it
 * binds (RFC 6749 §6: at most the scopes first issued), and sends the upstream its own token.
 */
import { createHash } from 'node:crypto';
import { CompactEncrypt, compactDecrypt } from 'jose';
import { parseUntrustedObject } from '../http/untrusted-json.js';

export interface RefreshBinding {
  /** The upstream's refresh token. */
  upstreamToken: string;
  /** The client it was issued to (from the verified upstream access token). */
  clientId: string;
  /** The scopes first issued: a refresh never gets more. */
  scopes: string[];
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
  });
  return new CompactEncrypt(new TextEncoder().encode(payload))
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: refreshKeyId(key) })
    .encrypt(key);
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
    const { v, rt, cid, scp } = data;
    if (v !== FORMAT || typeof rt !== 'string' || typeof cid !== 'string') return undefined;
    if (!Array.isArray(scp) || !scp.every((scope) => typeof scope === 'string')) return undefined;
    return { upstreamToken: rt, clientId: cid, scopes: scp };
  } catch {
    return undefined;
  }
}
