/**
 * Builds and signs scopegate's access token (RFC 9068): the upstream's claims carried over, then
 * the reserved claims set last so nothing upstream can override them.
 */
import { randomUUID } from 'node:crypto';
import type { JWTPayload } from 'jose';
import type { SigningKey } from '../keys/signing-keys.js';
import { REVOCATION_CLAIM } from '../oidc/revocation-refs.js';
import { GrantedScopes } from '../scope/coverage.js';
import { issuedAudience } from './audience-claim.js';
import { tokenScopes } from './identity.js';

/** Claims scopegate owns in the issued token, or drops because they would widen it. */
const RESERVED = new Set([
  'iss',
  'sub',
  'aud',
  'client_id',
  'iat',
  'exp',
  'nbf',
  'jti',
  'scope',
  'scp',
  'permissions',
  // scopegate's revocation references: only ever the ones it derived itself (revocation-refs.ts).
  REVOCATION_CLAIM,
]);

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
  /** Token exchange: the references that revoke the subject, which revoke this token too. */
  revocationRefs?: readonly string[] | undefined;
}

/** Per configuration: the claim map of a loaded config never changes. */
const droppedByConfig = new WeakMap<object, ReadonlySet<string>>();

/** The claims tokens.authorization_claims marks `drop` (the defaults merged with the config). */
export function droppedAuthorizationClaims(
  authorizationClaims: Readonly<Record<string, 'keep' | 'drop'>>,
): ReadonlySet<string> {
  let dropped = droppedByConfig.get(authorizationClaims);
  if (dropped === undefined) {
    dropped = new Set(
      Object.entries(authorizationClaims)
        .filter(([, verdict]) => verdict === 'drop')
        .map(([name]) => name),
    );
    droppedByConfig.set(authorizationClaims, dropped);
  }
  return dropped;
}

export interface IssuedToken {
  token: string;
  expiresIn: number;
  claims: JWTPayload;
}

export function buildClaims(input: IssueInput): JWTPayload {
  const upstream = input.upstreamClaims;
  const claims: JWTPayload = {};
  for (const [name, value] of Object.entries(upstream)) {
    if (!RESERVED.has(name) && !input.droppedClaims.has(name)) claims[name] = value;
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
  if (input.revocationRefs !== undefined && input.revocationRefs.length > 0) {
    claims[REVOCATION_CLAIM] = [...input.revocationRefs];
  }
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
