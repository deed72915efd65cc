/**
 * What an ID token scopegate signs may carry: the one definition, as a table. Nothing of the
 * upstream's ID token is carried unless a row below or the identity-claims map lets it in.
 *
 * - Protocol claims (PROTOCOL_CLAIMS): scopegate sets `iss`, `sub` (the verified subject),
 *   `aud` (the client alone), `exp` (never later than the upstream's, nor than
 *   tokens.max_lifetime from now), `iat`, `azp` (only when the upstream's names the client) and
 *   `at_hash` (over the access token the client receives). `auth_time`, `nonce`, `acr`, `amr`
 *   and `sid` are carried when they have their OpenID Connect Core §2 type. `c_hash` and
 *   `s_hash` are dropped: scopegate hands out neither the code nor the state at the token
 *   endpoint, so it cannot vouch for hashes of them.
 * - Identity claims: those the ISSUED scopes release (identity-claims.ts, shared with userinfo).
 * - Nothing else: no authorization claim (authorization-claims.ts), no `scope`, whatever the
 *   upstream wrote; the configuration cannot list one (configuredClaimRefusal).
 */
import type { JWTPayload } from 'jose';
import { type AuthorizationClaimVerdicts, isAuthorizationClaim } from './authorization-claims.js';
import { EMBEDDED_CLAIM } from './claim-names.js';
import { type ConfiguredIdentityClaims, releasedIdentityClaims } from './identity-claims.js';

/**
 * How each protocol claim gets into the ID token: set by scopegate, carried from the verified
 * upstream ID token when it has the type given, or dropped.
 */
type ProtocolRule = 'set' | 'number' | 'string' | 'strings' | 'dropped';

export const PROTOCOL_CLAIMS: Readonly<Record<string, ProtocolRule>> = {
  iss: 'set',
  sub: 'set',
  aud: 'set',
  exp: 'set',
  iat: 'set',
  azp: 'set',
  at_hash: 'set',
  auth_time: 'number',
  nonce: 'string',
  acr: 'string',
  amr: 'strings',
  sid: 'string',
  c_hash: 'dropped',
  s_hash: 'dropped',
};

/**
 * Names no configured identity claim may take besides the protocol claims: the access token's
 * own protocol claims and scopegate's private one, and the member untrusted JSON never has.
 */
const NEVER_CONFIGURED = new Set(['jti', 'nbf', 'client_id', 'cnf', EMBEDDED_CLAIM, '__proto__']);

/** Why `name` cannot be a configured identity claim, or undefined when it can. */
export function configuredClaimRefusal(
  name: string,
  authorizationClaims: AuthorizationClaimVerdicts,
): string | undefined {
  if (isAuthorizationClaim(name, authorizationClaims)) {
    return `"${name}" is an authorization claim: ID tokens and userinfo never carry one`;
  }
  if (Object.hasOwn(PROTOCOL_CLAIMS, name) || NEVER_CONFIGURED.has(name)) {
    return `"${name}" is a protocol claim scopegate sets or drops itself`;
  }
  return undefined;
}

export interface IdTokenContext {
  issuer: string;
  /** The client the upstream ID token was verified to be for. */
  clientId: string;
  /** The verified subject. */
  sub: string;
  nowSec: number;
  maxLifetimeSec: number;
  /** at_hash over scopegate's access token, as the client receives it. */
  atHash: string;
  issuedScopes: readonly string[];
  identityClaims: ConfiguredIdentityClaims;
}

function carriedProtocolValue(rule: ProtocolRule, value: unknown): unknown {
  switch (rule) {
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
    case 'string':
      return typeof value === 'string' ? value : undefined;
    case 'strings':
      return Array.isArray(value) && value.every((item) => typeof item === 'string')
        ? [...value]
        : undefined;
    default:
      return undefined;
  }
}

/**
 * The payload of scopegate's ID token from the verified upstream one, built from the table and
 * the identity-claims map only. Has no prototype.
 */
export function idTokenClaims(upstream: Readonly<JWTPayload>, context: IdTokenContext): JWTPayload {
  const claims: JWTPayload = Object.create(null);
  const upstreamExp = typeof upstream.exp === 'number' ? Math.floor(upstream.exp) : context.nowSec;
  claims.iss = context.issuer;
  claims.sub = context.sub;
  claims.aud = context.clientId;
  claims.exp = Math.min(upstreamExp, context.nowSec + context.maxLifetimeSec);
  claims.iat = context.nowSec;
  if (upstream.azp === context.clientId) claims.azp = context.clientId;
  for (const [name, rule] of Object.entries(PROTOCOL_CLAIMS)) {
    if (!Object.hasOwn(upstream, name)) continue;
    const value = carriedProtocolValue(rule, upstream[name]);
    if (value !== undefined) claims[name] = value;
  }
  claims.at_hash = context.atHash;
  const identity = releasedIdentityClaims(upstream, context.issuedScopes, context.identityClaims);
  for (const [name, value] of Object.entries(identity)) {
    // The schema already refuses these names; an identity claim still never overrides one.
    if (!Object.hasOwn(PROTOCOL_CLAIMS, name)) claims[name] = value;
  }
  return claims;
}
