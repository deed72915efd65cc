/**
 * Step "re-sign the ID token" of the token endpoint: when the upstream's answer carries an
 * `id_token`, the client gets scopegate's re-signed one or an error, never the upstream's; and
 * none at all when scopegate's decision removed `openid` (narrowing, `drop` or a policy: an ID
 * token is what `openid` grants).
 */
import type { JWTPayload } from 'jose';
import { internalError, OAuthError, unavailable } from '../../http/oauth-error.js';
import { reissueIdToken } from '../../issued/id-token.js';
import { STANDARD_SCOPE_CLAIMS } from '../../rules/identity-claims.js';
import type { Runtime } from '../../runtime/runtime.js';
import { tokenScopes } from '../../upstream/identity.js';

/** The scope whose grant an ID token is (OpenID Connect Core §3.1.2.1). */
const OPENID_SCOPE = 'openid';

/** The standard scopes of OpenID Connect Core §5.4, openid included. */
const STANDARD_IDENTITY_SCOPES = [OPENID_SCOPE, ...Object.keys(STANDARD_SCOPE_CLAIMS)];

/**
 * The scopes that release identity claims in the ID token. When the verified upstream access
 * token carries `openid`, the upstream puts its OIDC scopes in its access tokens and they went
 * through scopegate's decision: the issued scopes alone count. When it does not, the access token
 * is resource-bound (node-oidc-provider with resource indicators, answering `scope: api:read`
 * for a login with `openid email`): scopegate never saw the standard identity scopes, removed
 * none of them, and the upstream's ID token speaks for its own grant of them. Custom scopes count
 * only when issued, either way.
 */
export function identityScopes(issued: readonly string[], granted: readonly string[]): string[] {
  if (granted.includes(OPENID_SCOPE)) return [...issued];
  const inAccessToken = new Set(granted);
  const outside = STANDARD_IDENTITY_SCOPES.filter((scope) => !inAccessToken.has(scope));
  return [...new Set([...issued, ...outside])];
}

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
  const granted = tokenScopes(accessClaims);
  if (granted.includes(OPENID_SCOPE) && !issuedScopes.includes(OPENID_SCOPE)) {
    return Promise.resolve({ id_token: undefined });
  }
  return reissuedIdTokenMembers(
    upstreamBody,
    accessClaims,
    clientId,
    accessToken,
    identityScopes(issuedScopes, granted),
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
