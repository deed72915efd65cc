/**
 * What an access token scopegate signs carries of the verified upstream token: the one
 * definition, an allowlist. Nothing the upstream wrote is carried unless a row below lets it in,
 * so a claim nobody listed (a vendor's, a namespaced custom claim, an identity claim of a scope
 * that was not issued) stays out by construction:
 *
 * | claim | carried |
 * |---|---|
 * | RESERVED_CLAIMS (iss, sub, aud, client_id, iat, exp, nbf, jti, scope, scp, permissions, sg_rev, cnf) and the profile's scope claims | never: issue-token.ts sets or rebuilds them (cnf from what the client proved to scopegate, issued/confirmation.ts) |
 * | ALWAYS_CARRIED_CLAIMS (act, the sealed upstream token) | always: they constrain the token |
 * | authorization claims `tokens.authorization_claims` marks `drop` | never (the config refuses carrying one) |
 * | the carry list: `clients[].token.carry`, else `tokens.carry_claims` (default: azp, gty, auth_time, acr, amr, sid) | when present; an identity claim only when the issued scopes release it |
 * | identity claims the ISSUED scopes release (identity-claims.ts: OIDC Core §5.4 + `tokens.identity_claims`) | without a profile carry list |
 * | authorization claims marked `keep` (an operator's explicit choice) | without a profile carry list |
 *
 * A profile's `carry` list is the client's whole allowlist of upstream claims (as it always
 * was): it replaces `tokens.carry_claims`, the scope-released identity claims and the kept
 * authorization claims, and still never widens (identity claims it names stay gated by scope).
 */
import type { JWTPayload } from 'jose';
import { DEFAULTS } from '../../config/defaults.js';
import { type AuthorizationClaimVerdicts, SCOPE_CARRYING_CLAIMS } from './authorization-claims.js';
import { ALWAYS_CARRIED_CLAIMS, RESERVED_CLAIMS } from './claim-names.js';
import {
  type ConfiguredIdentityClaims,
  isIdentityClaim,
  releasedIdentityClaims,
} from './identity-claims.js';

/** Never a claim name of anything scopegate signs (see untrusted-json.ts). */
const PROTOTYPE_MEMBER = '__proto__';

/** The configuration the allowlist is built from (config.tokens, as the schema validated it). */
/**
 * What of a token profile (issued/token-profile.ts) decides what is carried: its scope claims,
 * rebuilt from the issued scopes, and its carry list, if it has one.
 */
export interface CarryProfile {
  scopeClaims: readonly { name: string }[];
  carry: ReadonlySet<string> | undefined;
}

export interface CarryRules {
  /** tokens.carry_claims: the upstream claims every token without a profile carry list keeps. */
  carryClaims: readonly string[];
  /** tokens.identity_claims: scope → more identity claims (shared with the ID token, userinfo). */
  identityClaims: ConfiguredIdentityClaims;
  /** tokens.authorization_claims, merged over the defaults. */
  authorizationClaims: AuthorizationClaimVerdicts;
}

/** The rules of a loaded configuration's `tokens` section. */
export function carryRulesOf(tokens: {
  carry_claims: readonly string[];
  identity_claims: ConfiguredIdentityClaims;
  authorization_claims: AuthorizationClaimVerdicts;
}): CarryRules {
  return {
    carryClaims: tokens.carry_claims,
    identityClaims: tokens.identity_claims,
    authorizationClaims: tokens.authorization_claims,
  };
}

/**
 * The verdict on an authorization claim: the configured one, else the default one. A default
 * authorization claim missing from `configured` (a caller that did not merge) counts as dropped:
 * fail closed.
 */
function authorizationVerdict(
  name: string,
  configured: AuthorizationClaimVerdicts,
): 'keep' | 'drop' | undefined {
  if (SCOPE_CARRYING_CLAIMS.has(name)) return 'drop';
  if (Object.hasOwn(configured, name)) return configured[name];
  if (Object.hasOwn(DEFAULTS.tokens.authorization_claims, name)) return 'drop';
  return undefined;
}

/**
 * Why `name` cannot be in a carry list (tokens.carry_claims, clients[].token.carry), whatever the
 * rest of the configuration says, or undefined. One rule for both lists.
 */
export function carryNameRefusal(name: string): string | undefined {
  if (name === PROTOTYPE_MEMBER) return 'never a claim name';
  if (RESERVED_CLAIMS.has(name)) {
    return `scopegate sets this claim itself (${[...SCOPE_CARRYING_CLAIMS].join(', ')} from the issued scopes)`;
  }
  return undefined;
}

/** Why `name` cannot be carried given tokens.authorization_claims, or undefined. */
export function carryVerdictRefusal(
  name: string,
  authorizationClaims: AuthorizationClaimVerdicts,
): string | undefined {
  if (SCOPE_CARRYING_CLAIMS.has(name)) return undefined; // carryNameRefusal's
  return authorizationVerdict(name, authorizationClaims) === 'drop'
    ? 'tokens.authorization_claims drops this claim from every token'
    : undefined;
}

/** Never carried, whatever a list says: set by scopegate, or access the narrowing took away. */
function neverCarried(name: string, profile: CarryProfile, rules: CarryRules): boolean {
  return (
    name === PROTOTYPE_MEMBER ||
    RESERVED_CLAIMS.has(name) ||
    profile.scopeClaims.some((claim) => claim.name === name) ||
    authorizationVerdict(name, rules.authorizationClaims) === 'drop'
  );
}

/**
 * The upstream claims the access token carries, in a new object without a prototype. Only own
 * members of `upstream` are read.
 */
export function carriedClaims(
  upstream: Readonly<JWTPayload>,
  issuedScopes: readonly string[],
  profile: CarryProfile,
  rules: CarryRules,
): Record<string, unknown> {
  const carried: Record<string, unknown> = Object.create(null);
  const released = releasedIdentityClaims(upstream, issuedScopes, rules.identityClaims);
  const put = (name: string): void => {
    if (neverCarried(name, profile, rules)) return;
    if (isIdentityClaim(name, rules.identityClaims)) {
      // Gated by scope, whoever listed it: never an identity claim the issued scopes withhold.
      if (Object.hasOwn(released, name)) carried[name] = released[name];
      return;
    }
    if (Object.hasOwn(upstream, name)) carried[name] = upstream[name];
  };
  for (const name of profile.carry ?? rules.carryClaims) put(name);
  if (profile.carry === undefined) {
    for (const name of Object.keys(released)) put(name);
    for (const [name, verdict] of Object.entries(rules.authorizationClaims)) {
      if (verdict === 'keep') put(name);
    }
  }
  for (const name of ALWAYS_CARRIED_CLAIMS) {
    if (Object.hasOwn(upstream, name)) carried[name] = upstream[name];
  }
  return carried;
}
