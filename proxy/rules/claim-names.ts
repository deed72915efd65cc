/**
 * The claim names every issued access token treats specially, in one place: the issuer builds
 * tokens from them, and the configuration refuses token profiles that would fix, carry or rename
 * them (config/schema.ts).
 */
import { SCOPE_CARRYING_CLAIMS } from './authorization-claims.js';

/** scopegate's private claim holding the upstream's sealed access token (issued/embedded-upstream-token.ts); short: every byte is sent with every API call. */
export const EMBEDDED_CLAIM = 'sg_ut';

/** scopegate's private claim listing the revocation references a token derives from (issued/revocation-refs.ts). */
export const REVOCATION_CLAIM = 'sg_rev';

/** Claims scopegate sets itself from what it verified (RFC 9068 §2.2): never carried or fixed. */
export const ISSUER_SET_CLAIMS = [
  'iss',
  'sub',
  'aud',
  'client_id',
  'iat',
  'exp',
  'nbf',
  'jti',
] as const;

/** Never copied from the upstream's claims: scopegate sets them or rebuilds them. */
export const RESERVED_CLAIMS: ReadonlySet<string> = new Set<string>([
  ...ISSUER_SET_CLAIMS,
  // Rebuilt from the issued scopes only, never carried or fixed (authorization-claims.ts).
  ...SCOPE_CARRYING_CLAIMS,
  // scopegate's revocation references: only ever the ones it derived itself (revocation-refs.ts).
  REVOCATION_CLAIM,
  // The key the token is bound to: only what the client proved to scopegate (issued/confirmation.ts).
  // The upstream never sees the client's DPoP proof or certificate, so its `cnf` names no key the
  // client showed; carrying it would bind scopegate's token to a key scopegate never checked.
  'cnf',
]);

/**
 * Claims that constrain a token or belong to scopegate: a token profile's `carry` list cannot
 * drop them (dropping `act` would hide a delegation), and its fixed claims cannot set them.
 * `cnf` is not one: scopegate sets it itself (RESERVED_CLAIMS).
 */
export const ALWAYS_CARRIED_CLAIMS: ReadonlySet<string> = new Set(['act', EMBEDDED_CLAIM]);

/**
 * Names a token profile may not give a fixed value, besides tokens.authorization_claims: the
 * reserved and always-carried claims, `may_act` (who may act for the subject), and the claims
 * that tell an ID token apart from an access token.
 */
export const UNFIXABLE_CLAIMS: ReadonlySet<string> = new Set([
  ...RESERVED_CLAIMS,
  ...ALWAYS_CARRIED_CLAIMS,
  'may_act',
  'nonce',
  'at_hash',
  'c_hash',
  's_hash',
  'auth_time',
  'acr',
  'amr',
]);
