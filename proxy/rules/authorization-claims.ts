/**
 * The one list of authorization claims for the whole product: claims that say what the holder
 * may do. scopegate narrows access to scopes, so every other carrier of access would give back
 * what narrowing took away.
 *
 * - The scope carriers (`scope`, `scp`, `permissions`) are scopegate's own in an access token:
 *   rewritten from the issued scopes or dropped, never carried as the upstream wrote them.
 * - The others (roles, groups, Keycloak's realm_access, ...) are DEFAULTS.tokens.authorization_claims
 *   merged with `tokens.authorization_claims`; each says `drop` or `keep` for access tokens.
 *
 * An ID token or a userinfo answer never carries any of them, whatever the verdict: they are
 * identity artefacts, and a configured identity claim that is one of them is a config error.
 */
import { DEFAULTS } from '../../config/defaults.js';

/** Claims that carry scopes themselves. */
export const SCOPE_CARRYING_CLAIMS: ReadonlySet<string> = new Set(['scope', 'scp', 'permissions']);

/** The configured map (already merged over the defaults by the schema), or the defaults alone. */
export type AuthorizationClaimVerdicts = Readonly<Record<string, 'keep' | 'drop'>>;

/** Whether `name` grants access: a scope carrier, a default authorization claim, or a configured one. */
export function isAuthorizationClaim(
  name: string,
  configured: AuthorizationClaimVerdicts,
): boolean {
  return (
    SCOPE_CARRYING_CLAIMS.has(name) ||
    Object.hasOwn(DEFAULTS.tokens.authorization_claims, name) ||
    Object.hasOwn(configured, name)
  );
}

/** Per configuration: the claim map of a loaded config never changes. */
const droppedByConfig = new WeakMap<object, ReadonlySet<string>>();

/** The claims tokens.authorization_claims marks `drop` (the defaults merged with the config). */
export function droppedAuthorizationClaims(
  configured: AuthorizationClaimVerdicts,
): ReadonlySet<string> {
  let dropped = droppedByConfig.get(configured);
  if (dropped === undefined) {
    dropped = new Set(
      Object.entries(configured)
        .filter(([, verdict]) => verdict === 'drop')
        .map(([name]) => name),
    );
    droppedByConfig.set(configured, dropped);
  }
  return dropped;
}
