/**
 * Who the token is for and what it grants, read from the verified upstream token. What the
 * request names (client_id, Basic auth) is a hint for logs, never an identity: a token that names
 * no client leaves the client unknown, and policies restricted to clients then refuse.
 */
import type { JWTPayload } from 'jose';
import { isScopeToken } from '../scope/grammar.js';

/** Auth0's `gty` values and the RFC grant types they stand for. */
const GTY_TO_GRANT: Record<string, string> = {
  'client-credentials': 'client_credentials',
  'authorization-code': 'authorization_code',
  'refresh-token': 'refresh_token',
  password: 'password',
};

/** The client the token names: the first of `claimNames` (tokens.client_id_claims) it carries. */
export function tokenClientId(
  claims: JWTPayload,
  claimNames: readonly string[],
): string | undefined {
  for (const name of claimNames) {
    if (!Object.hasOwn(claims, name)) continue;
    const value = claims[name];
    if (typeof value === 'string' && value !== '') return value;
  }
  return undefined;
}

export function tokenGrantType(claims: JWTPayload, requested: string | undefined): string {
  const gty = claims.gty;
  if (typeof gty === 'string' && gty !== '') return GTY_TO_GRANT[gty] ?? gty.replace(/-/g, '_');
  return requested ?? 'unknown';
}

/**
 * The granted scopes: `scope` (string or array), else Okta-style `scp`. Only values that are
 * scope tokens (RFC 6749 §3.3) count: an array element such as "read admin" would otherwise be
 * issued as one array entry but read as two scopes once joined into a string.
 */
export function tokenScopes(claims: JWTPayload): string[] {
  const raw = claims.scope ?? claims.scp;
  let values: unknown[] = [];
  if (typeof raw === 'string') values = raw.split(' ');
  else if (Array.isArray(raw)) values = raw;
  return values.filter(
    (scope): scope is string => typeof scope === 'string' && isScopeToken(scope),
  );
}

export function tokenAudiences(claims: JWTPayload): string[] {
  if (typeof claims.aud === 'string') return [claims.aud];
  if (!Array.isArray(claims.aud)) return [];
  return claims.aud.filter((aud): aud is string => typeof aud === 'string');
}
