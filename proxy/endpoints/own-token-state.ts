/**
 * A presented token read as one of scopegate's own access tokens, for introspection and
 * revocation: its verified claims and the upstream token sealed inside, when there is one. A
 * token that is not scopegate's, or fails a check (revoked included), is simply not one (those
 * endpoints answer such tokens without saying why).
 */
import { decodeJwt, type JWTPayload } from 'jose';
import { OAuthError } from '../http/oauth-error.js';
import { embeddingKeyOf, openEmbeddedToken } from '../issued/embedded-upstream-token.js';
import { verifyOwnToken } from '../issued/own-token.js';
import type { Runtime } from '../runtime/runtime.js';
import { isCompactJws } from './upstream-calls/upstream-access-token.js';

export interface OwnToken {
  claims: JWTPayload;
  /** The upstream's access token sealed inside (tokens issued with openid and the key). */
  upstreamToken: string | undefined;
}

/** Whether the token names scopegate as its issuer, before anything is verified. */
export function claimsOwnIssuer(token: string, runtime: Runtime): boolean {
  if (!isCompactJws(token)) return false;
  try {
    return decodeJwt(token).iss === runtime.config.issuer;
  } catch {
    return false;
  }
}

export async function readOwnToken(
  token: string,
  runtime: Runtime,
  options: { acceptExpired?: boolean; acceptRevoked?: boolean } = {},
): Promise<OwnToken | undefined> {
  if (!claimsOwnIssuer(token, runtime)) return undefined;
  let claims: JWTPayload;
  try {
    claims = await verifyOwnToken(token, runtime, options);
  } catch (error) {
    // The revocation state could not be read (503): not the same as a token that is not good.
    if (error instanceof OAuthError) throw error;
    return undefined;
  }
  const key = embeddingKeyOf(runtime.config);
  const upstreamToken = key === undefined ? undefined : await openEmbeddedToken(claims, key);
  return { claims, upstreamToken };
}
