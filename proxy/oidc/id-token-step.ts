/**
 * Step "re-sign the ID token" of the token endpoint: when the upstream's answer carries an
 * `id_token`, the client gets scopegate's re-signed one or an error, never the upstream's.
 */
import type { JWTPayload } from 'jose';
import { internalError, OAuthError, unavailable } from '../http/oauth-error.js';
import type { Runtime } from '../runtime.js';
import { reissueIdToken } from './id-token.js';

/** Undefined when the upstream's answer has no `id_token` (the common, machine-to-machine case). */
export function idTokenMembers(
  upstreamBody: Record<string, unknown>,
  accessClaims: JWTPayload,
  clientId: string | undefined,
  accessToken: string,
  runtime: Runtime,
): Promise<{ id_token?: string }> | undefined {
  if (upstreamBody.id_token === undefined) return undefined;
  return reissuedIdTokenMembers(upstreamBody, accessClaims, clientId, accessToken, runtime);
}

async function reissuedIdTokenMembers(
  upstreamBody: Record<string, unknown>,
  accessClaims: JWTPayload,
  clientId: string | undefined,
  accessToken: string,
  runtime: Runtime,
): Promise<{ id_token?: string }> {
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
    });
    return { id_token: idToken };
  } catch (error) {
    if (error instanceof OAuthError) throw error;
    throw internalError('the ID token could not be signed');
  }
}
