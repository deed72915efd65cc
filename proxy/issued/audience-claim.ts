/**
 * The issued token's `aud`. Audiences are carried from the upstream token, except values that
 * name a scope the upstream granted and scopegate did not issue: some IdPs put the granted scopes
 * in `aud` (glewlwyd sends `"aud": "api.read api.write"`), and a resource server that authorizes
 * on `aud` would get back from it what narrowing took away. Such values are removed, the rest
 * keep their form (one space-separated string stays one string, an array stays an array).
 *
 * Real audiences (an API identifier, a URL) are not scope names and pass unchanged. When every
 * value is removed the claim is left out; a resource server that requires an audience then
 * refuses the token, which is the safe side.
 */
import type { JWTPayload } from 'jose';

export function issuedAudience(
  aud: JWTPayload['aud'],
  granted: readonly string[],
  issued: readonly string[],
): JWTPayload['aud'] {
  if (aud === undefined || granted.length === 0) return aud;
  const withheld = new Set(granted);
  for (const scope of issued) withheld.delete(scope);
  if (withheld.size === 0) return aud;
  if (typeof aud === 'string') {
    const values = aud.split(' ');
    const kept = values.filter((value) => !withheld.has(value));
    if (kept.length === values.length) return aud;
    return kept.length === 0 ? undefined : kept.join(' ');
  }
  const kept = aud.filter((value) => !withheld.has(value));
  if (kept.length === aud.length) return aud;
  return kept.length === 0 ? undefined : kept;
}
