/**
 * What a revocation of one of scopegate's access tokens names: the token's own `jti`, and the
 * `jti`s of the tokens it was derived from by token exchange, which it carries in the private
 * claim `sg_rev`. Revoking a token revokes every token exchanged from it, however many steps
 * away, without anything kept per issued token: a derived token is as revocable as its subject.
 * Its `exp` never passes its subject's, so a revocation remembered until the revoked token's
 * `exp` covers them all.
 */
import type { JWTPayload } from 'jose';
import { invalidRequest } from '../http/oauth-error.js';

import { REVOCATION_CLAIM } from '../rules/claim-names.js';

export { REVOCATION_CLAIM };

/** Exchanges of exchanged tokens, at most: each step adds one reference to every later token. */
export const MAX_DERIVATION_DEPTH = 8;

/** The references that revoke a verified scopegate token: its jti, then its ancestors'. */
export function revocationRefsOf(claims: JWTPayload): string[] {
  const refs: string[] = [];
  if (typeof claims.jti === 'string' && claims.jti !== '') refs.push(claims.jti);
  const ancestors = claims[REVOCATION_CLAIM];
  if (Array.isArray(ancestors)) {
    for (const ref of ancestors) if (typeof ref === 'string' && ref !== '') refs.push(ref);
  }
  return refs;
}

/**
 * The `sg_rev` of a token exchanged from `subject` (one of scopegate's own tokens): every
 * reference that revokes the subject. A chain longer than MAX_DERIVATION_DEPTH is refused.
 */
export function derivedRevocationRefs(subject: JWTPayload): string[] {
  const refs = revocationRefsOf(subject);
  if (refs.length > MAX_DERIVATION_DEPTH) {
    throw invalidRequest('the subject_token was derived by exchange too many times');
  }
  return refs;
}
