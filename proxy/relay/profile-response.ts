/**
 * The authorization response of a flow held to a profile, as it passes back through scopegate
 * (a redirect to the client's redirect_uri, whichever upstream path sends it): recognised by the
 * `state` scopegate sent the upstream (endpoints/par/pushed-authorization.ts), it is matched
 * with the authorization under way, once, and then
 * - its authorization code is bound to the client, the redirect_uri, the PKCE challenge and the
 *   DPoP key of the pushed request, for `pushed_authorization.code_lifetime` (the token endpoint
 *   checks the binding: endpoints/token/profile-step.ts);
 * - the client's own `state` is given back (or none, when it sent none);
 * - `iss` (RFC 9207) is scopegate's issuer, added when the upstream sent none; one naming
 *   another issuer refuses the response.
 * A response scopegate cannot match (unknown, already answered, expired) is refused with a plain
 * 400: its code is bound to nothing and would be refused at the token endpoint anyway. A redirect
 * that carries scopegate's state elsewhere than to the pushed redirect_uri (a login step) is
 * passed on unchanged.
 */
import { badUpstream, invalidRequest, type OAuthError } from '../http/oauth-error.js';
import { AUTHORIZATION_STATE_PREFIX } from '../rules/security-profile.js';
import type { Runtime } from '../runtime/runtime.js';

/** Where the response's parameters are: the redirect's query or its fragment. */
type Carrier = 'query' | 'fragment';

function paramsIn(url: URL, carrier: Carrier): URLSearchParams {
  return carrier === 'query' ? url.searchParams : new URLSearchParams(url.hash.slice(1));
}

/** The carrier of a scopegate state in this Location, or undefined when it names none. */
export function heldResponseCarrier(location: string): Carrier | undefined {
  if (!location.includes(AUTHORIZATION_STATE_PREFIX) || !URL.canParse(location)) return undefined;
  const url = new URL(location);
  for (const carrier of ['query', 'fragment'] as const) {
    if (paramsIn(url, carrier).get('state')?.startsWith(AUTHORIZATION_STATE_PREFIX)) return carrier;
  }
  return undefined;
}

/** The redirect_uri a redirect goes to: the Location without the response's parameters. */
function sameTarget(url: URL, redirectUri: string): boolean {
  const target = new URL(redirectUri);
  return url.origin === target.origin && url.pathname === target.pathname;
}

/** The Location the client receives for a held authorization response, or the refusal. */
export async function completeHeldResponse(
  location: string,
  runtime: Pick<Runtime, 'config' | 'authorizationStore'>,
): Promise<string | OAuthError> {
  const carrier = heldResponseCarrier(location);
  const url = new URL(location);
  if (carrier === undefined) return invalidRequest('the authorization response is not held');
  const params = paramsIn(url, carrier);
  const handle = params.get('state') as string;
  if (params.getAll('state').length !== 1 || params.getAll('code').length > 1) {
    return badUpstream('the authorization response repeats state or code');
  }
  const store = runtime.authorizationStore;
  const underWay = await store.peek('pending', handle);
  // A redirect elsewhere than the pushed redirect_uri is a step of the login (a login page that
  // carries the state along), not the response: passed on as it is. A code in it is bound to
  // nothing, so the token endpoint refuses it.
  if (underWay !== undefined && !sameTarget(url, underWay.redirectUri)) return location;
  const pending = underWay === undefined ? undefined : await store.take('pending', handle);
  if (pending === undefined) {
    return invalidRequest(
      'the authorization response matches no authorization under way (answered already, or expired)',
    );
  }
  const { issuer } = runtime.config;
  const iss = params.getAll('iss');
  if (iss.length > 1 || (iss[0] !== undefined && iss[0] !== issuer)) {
    return badUpstream('the authorization response names another issuer');
  }
  const code = params.get('code');
  if (code !== null && code !== '') {
    const seenAt = Date.now();
    const { clientState: _state, upstreamParams: _sent, ...binding } = pending;
    await runtime.authorizationStore.put(
      'code',
      code,
      { ...binding, seenAt },
      seenAt + runtime.config.pushed_authorization.code_lifetime,
    );
  }
  if (pending.clientState === undefined) params.delete('state');
  else params.set('state', pending.clientState);
  params.set('iss', issuer);
  if (carrier === 'fragment') url.hash = params.toString();
  return url.href;
}
