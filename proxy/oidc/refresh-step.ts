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
import type { Config } from '../../config/schema.js';
import { invalidRequest, OAuthError, scopeRefused } from '../http/oauth-error.js';
import type { TokenRequest } from '../token/token-request.js';
import { type RefreshBinding, unwrapRefreshToken, wrapRefreshToken } from './refresh-token.js';

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
  const bound = new Set(binding.scopes);
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
 */
export function applyRefreshBinding(
  request: TokenRequest,
  binding: RefreshBinding | undefined,
  clientId: string | undefined,
): void {
  if (binding === undefined) return;
  if (clientId !== binding.clientId) {
    throw invalidGrant('the refresh token was issued to another client');
  }
  request.requestedScopes ??= [...binding.scopes];
}

/**
 * The `refresh_token` member of the answer: scopegate's wrapped token (with a key configured).
 * Undefined when the upstream's answer has no `refresh_token`.
 */
export function refreshTokenMembers(
  upstreamBody: Record<string, unknown>,
  binding: RefreshBinding | undefined,
  clientId: string | undefined,
  issuedScopes: readonly string[],
  config: Config,
): Promise<{ refresh_token?: string | undefined }> | undefined {
  if (!('refresh_token' in upstreamBody)) return undefined;
  return wrappedRefreshTokenMembers(upstreamBody, binding, clientId, issuedScopes, config);
}

async function wrappedRefreshTokenMembers(
  upstreamBody: Record<string, unknown>,
  binding: RefreshBinding | undefined,
  clientId: string | undefined,
  issuedScopes: readonly string[],
  config: Config,
): Promise<{ refresh_token?: string | undefined }> {
  const key = refreshKeyOf(config);
  const upstreamToken = upstreamBody.refresh_token;
  // A token that cannot be bound (no tokens.refresh_token_key, no client, not a string) is
  // withheld: the client must never hold the upstream's own, unnarrowed refresh token.
  if (key === undefined || typeof upstreamToken !== 'string' || clientId === undefined) {
    return { refresh_token: undefined };
  }
  const refreshToken = await wrapRefreshToken(
    { upstreamToken, clientId, scopes: binding ? binding.scopes : [...issuedScopes] },
    key,
  );
  return { refresh_token: refreshToken };
}
