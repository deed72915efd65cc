/**
 * Step "re-sign the ID token" of the token endpoint: when the upstream's answer carries an
 * `id_token`, the client gets scopegate's re-signed one or an error, never the upstream's; and
 * none at all when `openid` is not among the issued scopes (narrowing, `drop` or a policy took
 * it away: an ID token is what `openid` grants).
 */
import type { JWTPayload } from 'jose';
import { internalError, OAuthError, unavailable } from '../http/oauth-error.js';
import type { Runtime } from '../runtime.js';
import { reissueIdToken } from './id-token.js';

/** The scope whose grant an ID token is (OpenID Connect Core §3.1.2.1). */
const OPENID_SCOPE = 'openid';

/** What replaces the upstream's `id_token`: scopegate's, or undefined to leave it out. */
export type IdTokenMember = { id_token: string | undefined };

/** Undefined when the upstream's answer has no `id_token` (the common, machine-to-machine case). */
export function idTokenMembers(
  upstreamBody: Record<string, unknown>,
  accessClaims: JWTPayload,
  clientId: string | undefined,
  accessToken: string,
  issuedScopes: readonly string[],
  runtime: Runtime,
): Promise<IdTokenMember> | undefined {
  if (upstreamBody.id_token === undefined) return undefined;
  if (!issuedScopes.includes(OPENID_SCOPE)) return Promise.resolve({ id_token: undefined });
  return reissuedIdTokenMembers(
    upstreamBody,
    accessClaims,
    clientId,
    accessToken,
    issuedScopes,
    runtime,
  );
}

async function reissuedIdTokenMembers(
  upstreamBody: Record<string, unknown>,
  accessClaims: JWTPayload,
  clientId: string | undefined,
  accessToken: string,
  issuedScopes: readonly string[],
  runtime: Runtime,
): Promise<IdTokenMember> {
  const { config } = runtime;
  let upstreamIssuer: string;
  try {
    upstreamIssuer = await runtime.discovery.issuer();
  } catch {
    throw unavailable('the upstream issuer could not be resolved');
  }
  try {
    const idToken = await reissueIdToken({
      idToken: upstreamBody.id_token,
      keys: runtime.upstreamKeys,
      upstreamIssuer,
      algorithms: config.upstream.algorithms,
      clockToleranceSec: Math.ceil(config.tokens.clock_tolerance / 1000),
      clientId,
      subject: typeof accessClaims.sub === 'string' ? accessClaims.sub : undefined,
      accessToken,
      issuer: config.issuer,
      key: runtime.signingKeys.active,
      nowSec: Math.floor(Date.now() / 1000),
      maxLifetimeSec: Math.floor(config.tokens.max_lifetime / 1000),
      issuedScopes,
      identityClaims: config.tokens.identity_claims,
    });
    return { id_token: idToken };
  } catch (error) {
    if (error instanceof OAuthError) throw error;
    throw internalError('the ID token could not be signed');
  }
}
