/**
 * `id_token_hint` (end-session, and the authorization endpoint) names an ID token the client got
 * from scopegate, which the upstream cannot verify: scopegate signed it. scopegate verifies it
 * against its own keys and issuer (an expired one is still a valid hint, OpenID Connect
 * RP-Initiated Logout §2), then drops it and passes its audience on as `client_id`, which
 * upstreams accept in its place. A hint scopegate did not issue is refused: it is never passed on.
 */
import { compactVerify, createLocalJWKSet, decodeProtectedHeader } from 'jose';
import { invalidRequest } from '../http/oauth-error.js';
import { parseUntrustedObject } from '../http/untrusted-json.js';
import type { Runtime } from '../runtime.js';

const HINT = 'id_token_hint';

/** Whether a request target carries the parameter (a cheap test before parsing). */
export function carriesIdTokenHint(rawUrl: string | undefined): boolean {
  return rawUrl?.includes(HINT) === true;
}

async function hintAudience(hint: string, runtime: Runtime): Promise<string> {
  const refuse = () => invalidRequest('id_token_hint is not an ID token issued by this server');
  let payload: Record<string, unknown> | undefined;
  try {
    if (decodeProtectedHeader(hint).typ === 'at+jwt') throw refuse();
    const verified = await compactVerify(hint, createLocalJWKSet(runtime.signingKeys.jwks()));
    payload = parseUntrustedObject(new TextDecoder().decode(verified.payload));
  } catch {
    throw refuse();
  }
  if (payload === undefined) throw refuse();
  if (payload.iss !== runtime.config.issuer) throw refuse();
  const aud = Array.isArray(payload.aud) ? payload.azp : payload.aud;
  if (typeof aud !== 'string' || aud === '') throw refuse();
  return aud;
}

/**
 * The request target with a verified hint replaced by `client_id` (kept if the request names
 * one; a different one is refused), or the target unchanged when it has no hint.
 */
export async function translateIdTokenHint(rawUrl: string, runtime: Runtime): Promise<string> {
  const start = rawUrl.indexOf('?');
  if (start < 0) return rawUrl;
  const params = new URLSearchParams(rawUrl.slice(start + 1));
  const hints = params.getAll(HINT);
  if (hints.length === 0) return rawUrl;
  if (hints.length > 1) throw invalidRequest('id_token_hint is repeated');
  const clientId = await hintAudience(hints[0] as string, runtime);
  const named = params.getAll('client_id');
  if (named.length > 1 || (named.length === 1 && named[0] !== clientId)) {
    throw invalidRequest('client_id does not match the id_token_hint');
  }
  params.delete(HINT);
  params.set('client_id', clientId);
  return `${rawUrl.slice(0, start)}?${params.toString()}`;
}
