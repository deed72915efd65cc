/**
 * The token endpoint's refresh-token steps (RFC 6749 §6, with scopegate's wrapped tokens from
 * refresh-token.ts):
 * - before forwarding a refresh grant: open the client's token (or refuse it), check the client
 *   it names and the scope asked for, and put the upstream's token in the request;
 * - after verifying: the upstream must have refreshed for the same client;
 * - in the answer: the upstream's (rotated) refresh token is wrapped again, bound to the same
 *   scopes.
 * Without `tokens.refresh_token_key` none of this happens: refresh tokens are the upstream's, as
 * before the key existed, and a refresh is narrowed only by the scope it asks for (the README
 * says so).
 */
import type { JWTPayload } from 'jose';
import type { Config } from '../../../config/schema.js';
import { invalidRequest, OAuthError, scopeRefused } from '../../http/oauth-error.js';
import type { Confirmation } from '../../issued/confirmation.js';
import {
  type RefreshBinding,
  unwrapRefreshToken,
  wrapRefreshToken,
} from '../../issued/refresh-token.js';
import { GrantedScopes } from '../../scope/coverage.js';
import { isScopeToken } from '../../scope/grammar.js';
import { tokenScopes } from '../../upstream/identity.js';
import type { TokenRequest } from './token-request.js';

const invalidGrant = (description: string) => new OAuthError('invalid_grant', description, 400);

export function refreshKeyOf(config: Config): Uint8Array | undefined {
  const key = config.tokens.refresh_token_key;
  return key === undefined ? undefined : Buffer.from(key, 'base64url');
}

/** Opens the refresh grant's token and rewrites the request for the upstream. */
export async function openRefreshGrant(
  request: TokenRequest,
  config: Config,
): Promise<RefreshBinding | undefined> {
  if (request.grantType !== 'refresh_token') return undefined;
  const key = refreshKeyOf(config);
  if (key === undefined) return undefined;
  const token = request.body.params.get('refresh_token');
  if (token === undefined) throw invalidRequest('refresh_token is missing');
  const binding = await unwrapRefreshToken(token, key);
  if (binding === undefined) throw invalidGrant('the refresh token is invalid');
  if (request.clientIdHint !== undefined && request.clientIdHint !== binding.clientId) {
    throw invalidGrant('the refresh token was issued to another client');
  }
  const bound = new Set([...binding.scopes, ...binding.grantScopes]);
  const beyond = (request.requestedScopes ?? []).filter((scope) => !bound.has(scope));
  if (beyond.length > 0) {
    throw scopeRefused(`the requested scope exceeds the refresh token's: ${beyond.join(' ')}`);
  }
  request.body.params.set('refresh_token', binding.upstreamToken);
  return binding;
}

/**
 * After the upstream answered: its token must be for the client the refresh token was issued
 * to, and a refresh without scope is decided as a request for the scopes first issued (RFC 6749
 * §6), never everything the upstream grants. The upstream itself was asked without a scope, so
 * it answers with its original grant (an ID token included when that had `openid`).
 *
 * A grant scope asked for again (mod_auth_openidc repeats `openid offline_access ...` on every
 * refresh) that the upstream's new access token does not carry is the grant's, not the access
 * token's: it is left out of the decision, as it was when the grant was first issued, instead of
 * being refused. It is never issued on the strength of the binding alone.
 */
export function applyRefreshBinding(
  request: TokenRequest,
  binding: RefreshBinding | undefined,
  clientId: string | undefined,
  accessClaims: JWTPayload,
): void {
  if (binding === undefined) return;
  if (clientId !== binding.clientId) {
    throw invalidGrant('the refresh token was issued to another client');
  }
  request.requestedScopes ??= [...binding.scopes];
  if (binding.grantScopes.length === 0) return;
  const inAccessToken = new Set(binding.scopes);
  const granted = new GrantedScopes(tokenScopes(accessClaims));
  request.requestedScopes = request.requestedScopes.filter(
    (scope) =>
      inAccessToken.has(scope) ||
      !binding.grantScopes.includes(scope) ||
      granted.cover(scope) !== undefined,
  );
}

/** The OpenID Connect scopes an answer proves granted by what it carries. */
const OPENID = 'openid';
const OFFLINE_ACCESS = 'offline_access';

export interface GrantAnswer {
  /** The upstream's token response. */
  upstreamBody: Readonly<Record<string, unknown>>;
  /** The verified upstream access token's claims. */
  accessClaims: JWTPayload;
  /** The scopes the client asked for at the token endpoint (undefined: none). */
  requested: readonly string[] | undefined;
}

/**
 * The scopes a new grant holds beyond its access token: what the upstream's answer says it
 * granted (its `scope` member), `openid` when it carried an ID token (which scopegate re-signs or
 * refuses) and `offline_access` when it carried both an ID token and a refresh token. Only those
 * the client asked for when it asked for any, and never one the upstream's access token covers:
 * those are the access token's, decided (narrowed, refused by a policy) like every other scope.
 */
export function grantScopesOf(answer: GrantAnswer): string[] {
  const { upstreamBody, accessClaims, requested } = answer;
  const candidates = new Set<string>();
  const said = upstreamBody.scope;
  const listed = typeof said === 'string' ? said.split(' ') : Array.isArray(said) ? said : [];
  for (const scope of listed) {
    if (typeof scope === 'string' && isScopeToken(scope)) candidates.add(scope);
  }
  const idToken = typeof upstreamBody.id_token === 'string';
  if (idToken) candidates.add(OPENID);
  if (idToken && typeof upstreamBody.refresh_token === 'string') candidates.add(OFFLINE_ACCESS);
  const asked = requested === undefined ? undefined : new Set(requested);
  const granted = new GrantedScopes(tokenScopes(accessClaims));
  return [...candidates].filter(
    (scope) => (asked === undefined || asked.has(scope)) && granted.cover(scope) === undefined,
  );
}

/**
 * The `refresh_token` member of the answer: scopegate's wrapped token (with a key configured).
 * Undefined when the upstream's answer has no `refresh_token`.
 */
export function refreshTokenMembers(
  answer: GrantAnswer,
  binding: RefreshBinding | undefined,
  clientId: string | undefined,
  issuedScopes: readonly string[],
  config: Config,
  /** A new grant of a public client: the key or certificate it is bound to (sender-binding-step.ts). */
  sender?: Confirmation,
): Promise<{ refresh_token?: string | undefined }> | undefined {
  if (!('refresh_token' in answer.upstreamBody)) return undefined;
  return wrappedRefreshTokenMembers(answer, binding, clientId, issuedScopes, config, sender);
}

async function wrappedRefreshTokenMembers(
  answer: GrantAnswer,
  binding: RefreshBinding | undefined,
  clientId: string | undefined,
  issuedScopes: readonly string[],
  config: Config,
  sender: Confirmation | undefined,
): Promise<{ refresh_token?: string | undefined }> {
  const { upstreamBody } = answer;
  const key = refreshKeyOf(config);
  const upstreamToken = upstreamBody.refresh_token;
  // A token that cannot be bound (no tokens.refresh_token_key, no client, not a string) is
  // withheld: the client must never hold the upstream's own, unnarrowed refresh token.
  if (key === undefined || typeof upstreamToken !== 'string' || clientId === undefined) {
    return { refresh_token: undefined };
  }
  // A rotated token keeps the original binding (scopes, DPoP key, certificate): a refresh never
  // widens what the grant holds, nor unbinds it.
  const bound = binding ?? {
    scopes: [...issuedScopes],
    grantScopes: grantScopesOf(answer).filter((scope) => !issuedScopes.includes(scope)),
    jkt: sender?.jkt,
    x5t: sender?.['x5t#S256'],
  };
  const refreshToken = await wrapRefreshToken(
    {
      upstreamToken,
      clientId,
      scopes: bound.scopes,
      grantScopes: bound.grantScopes,
      jkt: bound.jkt,
      x5t: bound.x5t,
    },
    key,
  );
  return { refresh_token: refreshToken };
}
