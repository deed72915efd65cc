/**
 * Builds and signs scopegate's access token (RFC 9068). Two kinds of claims, kept apart:
 *
 * - PROTOCOL_CLAIMS are scopegate's: set from the decision and the verified upstream token
 *   (iss, sub, aud, client_id, iat, exp, jti, scope, permissions) or left out (nbf, scp), never
 *   copied as the upstream wrote them.
 * - Every other upstream claim is carried, except the authorization claims marked `drop`
 *   (authorization-claims.ts, the one list shared with the ID token and userinfo), which would
 *   give back what narrowing took away.
 *
 * The claims object has no prototype and is filled by assignment only from own members of the
 * verified token, which has none either (untrusted-json.ts): a `__proto__` member can neither
 * arrive nor be written.
 */
import { randomUUID } from 'node:crypto';
import type { JWTPayload } from 'jose';
import type { SigningKey } from '../keys/signing-keys.js';
import { GrantedScopes } from '../scope/coverage.js';
import { issuedAudience } from './audience-claim.js';
import { SCOPE_CARRYING_CLAIMS } from './authorization-claims.js';
import { tokenScopes } from './identity.js';

/** Claims scopegate sets itself in the issued token, or leaves out because they would widen it. */
const PROTOCOL_CLAIMS: ReadonlySet<string> = new Set([
  'iss',
  'sub',
  'aud',
  'client_id',
  'iat',
  'exp',
  'nbf',
  'jti',
  ...SCOPE_CARRYING_CLAIMS,
]);

/** Never a claim name of anything scopegate signs (see untrusted-json.ts). */
const PROTOTYPE_MEMBER = '__proto__';

export interface IssueInput {
  upstreamClaims: JWTPayload;
  issuer: string;
  clientId: string | undefined;
  scopes: readonly string[];
  scopeFormat: 'string' | 'array';
  maxLifetimeSec: number;
  nowSec: number;
  key: SigningKey;
  /**
   * Claims that grant access other than scope (roles, groups, Keycloak realm_access, ...), left
   * out of the issued token: they would give back what narrowing took away.
   */
  droppedClaims: ReadonlySet<string>;
  /** The jti to use when something in the claims is bound to it (default: a new one). */
  jti?: string | undefined;
}

export interface IssuedToken {
  token: string;
  expiresIn: number;
  claims: JWTPayload;
}

export function buildClaims(input: IssueInput): JWTPayload {
  const upstream = input.upstreamClaims;
  const claims: JWTPayload = Object.create(null);
  for (const [name, value] of Object.entries(upstream)) {
    if (PROTOCOL_CLAIMS.has(name) || input.droppedClaims.has(name)) continue;
    if (name === PROTOTYPE_MEMBER) continue;
    claims[name] = value;
  }
  // Auth0 RBAC puts every granted permission in `permissions`. The issued token lists the issued
  // scopes that an upstream permission covers (exactly, or as a template: a permission
  // `accounts.*` lists an issued `accounts.read.1234`), and nothing else.
  if (Array.isArray(upstream.permissions)) {
    const permitted = new GrantedScopes(
      upstream.permissions.filter(
        (permission): permission is string => typeof permission === 'string',
      ),
    );
    claims.permissions = input.scopes.filter((scope) => permitted.cover(scope) !== undefined);
  }
  // Whole seconds (RFC 7519 NumericDate may be fractional): expires_in is always an integer.
  const upstreamExp = typeof upstream.exp === 'number' ? Math.floor(upstream.exp) : input.nowSec;
  const exp = Math.min(upstreamExp, input.nowSec + input.maxLifetimeSec);
  claims.iss = input.issuer;
  const sub = typeof upstream.sub === 'string' ? upstream.sub : input.clientId;
  if (sub !== undefined) claims.sub = sub;
  const aud = issuedAudience(upstream.aud, tokenScopes(upstream), input.scopes);
  if (aud !== undefined) claims.aud = aud;
  if (input.clientId !== undefined) claims.client_id = input.clientId;
  claims.iat = input.nowSec;
  claims.exp = exp;
  claims.jti = input.jti ?? randomUUID();
  if (input.scopes.length > 0) {
    claims.scope = input.scopeFormat === 'array' ? [...input.scopes] : input.scopes.join(' ');
  }
  return claims;
}

/**
 * Signs with the key's node:crypto signer (prepared per generation): on one core it re-issues
 * more tokens per second than jose's SignJWT (see test/bench/crypto-bench.ts for both figures).
 */
export async function issueToken(input: IssueInput): Promise<IssuedToken> {
  const claims = buildClaims(input);
  const token = input.key.signer.sign(claims);
  return { token, expiresIn: Math.max(0, (claims.exp as number) - input.nowSec), claims };
}
