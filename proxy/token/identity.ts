/**
 * Who the token is for and what it grants, read from the verified upstream token. The request's
 * own claims are used only where the token is silent and the upstream has authenticated them.
 */
import type { JWTPayload } from 'jose';

/** Auth0's `gty` values and the RFC grant types they stand for. */
const GTY_TO_GRANT: Record<string, string> = {
  'client-credentials': 'client_credentials',
  'authorization-code': 'authorization_code',
  'refresh-token': 'refresh_token',
  password: 'password',
};

export function tokenClientId(claims: JWTPayload, hint: string | undefined): string | undefined {
  for (const name of ['client_id', 'azp', 'cid']) {
    const value = claims[name];
    if (typeof value === 'string' && value !== '') return value;
  }
  return hint;
}

export function tokenGrantType(claims: JWTPayload, requested: string | undefined): string {
  const gty = claims.gty;
  if (typeof gty === 'string' && gty !== '') return GTY_TO_GRANT[gty] ?? gty.replace(/-/g, '_');
  return requested ?? 'unknown';
}

/** The granted scopes: `scope` (string or array), else Okta-style `scp`. */
export function tokenScopes(claims: JWTPayload): string[] {
  const raw = claims.scope ?? claims.scp;
  if (typeof raw === 'string') return raw.split(' ').filter((scope) => scope !== '');
  if (Array.isArray(raw)) return raw.filter((scope): scope is string => typeof scope === 'string');
  return [];
}

export function tokenAudiences(claims: JWTPayload): string[] {
  if (typeof claims.aud === 'string') return [claims.aud];
  return Array.isArray(claims.aud) ? claims.aud : [];
}
