/**
 * Builds and signs scopegate's access token (RFC 9068) in the shape of a token profile:
 *
 * - RESERVED_CLAIMS are scopegate's: set from the decision and the verified upstream token
 *   (iss, sub, aud, client_id, iat, exp, jti, the scope claims, permissions) or left out (nbf,
 *   scp), never copied as the upstream wrote them.
 * - Of the upstream's other claims, only those the allowlist of carried-claims.ts names are
 *   carried (the carry list, the identity claims the issued scopes release, kept authorization
 *   claims, act); then the profile's fixed claims; the reserved and scope claims are set last so
 *   nothing upstream or configured can override them. `cnf` is reserved: set only from what the
 *   client proved to scopegate (confirmation.ts), never the upstream's.
 *
 * The claims object has no prototype and is filled by assignment only from own members of the
 * verified token, which has none either (untrusted-json.ts): a `__proto__` member can neither
 * arrive nor be written.
 */
import { randomUUID } from 'node:crypto';
import type { JWTPayload } from 'jose';
import type { SigningKey } from '../keys/signing-keys.js';
import { type CarryRules, carriedClaims } from '../rules/carried-claims.js';
import { GrantedScopes } from '../scope/coverage.js';
import { tokenScopes } from '../upstream/identity.js';
import { issuedAudience } from './audience-claim.js';
import { type Confirmation, confirmationClaim } from './confirmation.js';
import { REVOCATION_CLAIM } from './revocation-refs.js';
import type { TokenProfile } from './token-profile.js';

export interface IssueInput {
  upstreamClaims: JWTPayload;
  issuer: string;
  clientId: string | undefined;
  scopes: readonly string[];
  /** Lifetime bound, typ, scope claims, fixed and carried claims (proxy/issued/token-profile.ts). */
  profile: TokenProfile;
  nowSec: number;
  /** The active key of the profile's algorithm. */
  key: SigningKey;
  /**
   * What of the upstream token is carried besides what the profile says (carried-claims.ts):
   * tokens.carry_claims, tokens.identity_claims, tokens.authorization_claims.
   */
  carryRules: CarryRules;
  /** The jti to use when something in the claims is bound to it (default: a new one). */
  jti?: string | undefined;
  /** Token exchange: the references that revoke the subject, which revoke this token too. */
  revocationRefs?: readonly string[] | undefined;
  /** The key the client proved it holds (DPoP, mutual TLS): the token's `cnf`. */
  confirmation?: Confirmation | undefined;
}

export interface IssuedToken {
  token: string;
  expiresIn: number;
  claims: JWTPayload;
}

export function buildClaims(input: IssueInput): JWTPayload {
  const upstream = input.upstreamClaims;
  const { profile } = input;
  const claims: JWTPayload = carriedClaims(upstream, input.scopes, profile, input.carryRules);
  // Auth0 RBAC puts every granted permission in `permissions`. The issued token lists the issued
  // scopes that an upstream permission covers (exactly, or as a template: a permission
  // `accounts.*` lists an issued `accounts.read.1234`), and nothing else. A profile with a
  // `carry` allowlist leaves it out, like every upstream claim it does not list (and it cannot
  // list this one).
  if (profile.carry === undefined && Array.isArray(upstream.permissions)) {
    const permitted = new GrantedScopes(
      upstream.permissions.filter(
        (permission): permission is string => typeof permission === 'string',
      ),
    );
    claims.permissions = input.scopes.filter((scope) => permitted.cover(scope) !== undefined);
  }
  // Whole seconds (RFC 7519 NumericDate may be fractional): expires_in is always an integer.
  const upstreamExp = typeof upstream.exp === 'number' ? Math.floor(upstream.exp) : input.nowSec;
  const exp = Math.min(upstreamExp, input.nowSec + profile.lifetimeSec);
  // Fixed claims before the reserved ones: the schema refuses reserved names, and should one get
  // through, scopegate's value still wins.
  for (const [name, value] of Object.entries(profile.claims)) claims[name] = value;
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
  const cnf = confirmationClaim(input.confirmation);
  if (cnf !== undefined) claims.cnf = cnf;
  if (input.scopes.length > 0) {
    for (const claim of profile.scopeClaims) {
      claims[claim.name] = claim.format === 'array' ? [...input.scopes] : input.scopes.join(' ');
    }
  }
  return claims;
}

/**
 * Signs with the key's node:crypto signer (prepared per generation): on one core it re-issues
 * more tokens per second than jose's SignJWT (see test/bench/crypto-bench.ts for both figures).
 */
export async function issueToken(input: IssueInput): Promise<IssuedToken> {
  const claims = buildClaims(input);
  const token = input.key.signers[input.profile.typ].sign(claims);
  return { token, expiresIn: Math.max(0, (claims.exp as number) - input.nowSec), claims };
}
