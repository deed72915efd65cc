/**
 * `id_token_hint` (end-session, and the authorization endpoint) names an ID token the client got
 * from scopegate, which the upstream cannot verify: scopegate signed it. scopegate verifies it
 * against its own keys and issuer (an expired one is still a valid hint, OpenID Connect
 * RP-Initiated Logout §2), then drops it and passes its audience on as `client_id`, which
 * upstreams accept in its place. A hint scopegate did not issue is refused: it is never passed on.
 *
 * The hint is found by its canonical name (canonical-param.ts: `id%5Ftoken%5Fhint`,
 * `ID_TOKEN_HINT`, ` id_token_hint`) in every carrier the request has: the query (`;` separating
 * too) and a body of any readable kind. A form or JSON body is rewritten like the query; a hint in
 * a body scopegate cannot rewrite (multipart, text, untyped) is refused rather than passed on.
 */
import { compactVerify, createLocalJWKSet, decodeProtectedHeader } from 'jose';
import { canonicalParamName } from '../http/canonical-param.js';
import { queryParams } from '../http/front-channel.js';
import type { BodyCarrier, BodyParams } from '../http/inspected-body.js';
import { invalidRequest } from '../http/oauth-error.js';
import { parseUntrustedObject } from '../http/untrusted-json.js';
import type { Runtime } from '../runtime/runtime.js';

const HINT = 'id_token_hint';
const CLIENT_ID = 'client_id';

/** A body the gateway read, with its parameters. */
export interface ReadRequestBody {
  carrier: BodyCarrier;
  bytes: Buffer;
  params: BodyParams;
}

/** The request after translation: its target, and its body when that was rewritten. */
export interface TranslatedRequest {
  url: string;
  body: Buffer | undefined;
}

const isHint = (name: string) => canonicalParamName(name) === HINT;
const isClientId = (name: string) => canonicalParamName(name) === CLIENT_ID;

/** Whether any of these parameters is the hint, in any spelling. */
export function namesIdTokenHint(params: Iterable<readonly [string, unknown]>): boolean {
  for (const [name] of params) if (isHint(name)) return true;
  return false;
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

/** The query without any spelling of the hint, naming `clientId` unless it already does. */
function translatedQuery(query: string, clientId: string): string {
  const kept = queryParams(query).filter(([name]) => !isHint(name));
  const params = new URLSearchParams(kept);
  if (!kept.some(([name]) => isClientId(name))) params.set(CLIENT_ID, clientId);
  return params.toString();
}

function translatedBody(body: ReadRequestBody, clientId: string): Buffer {
  const kept = body.params.filter(([name]) => !isHint(name));
  const names = !kept.some(([name]) => isClientId(name));
  if (body.carrier === 'form') {
    const params = new URLSearchParams(
      kept.map(([name, value]): [string, string] => [name, String(value)]),
    );
    if (names) params.set(CLIENT_ID, clientId);
    return Buffer.from(params.toString());
  }
  if (body.carrier === 'json') {
    const object: Record<string, unknown> = Object.fromEntries(kept);
    if (names) object[CLIENT_ID] = clientId;
    return Buffer.from(JSON.stringify(object));
  }
  throw invalidRequest('id_token_hint is accepted in the query, a form body or a JSON body');
}

/**
 * The request with a verified hint replaced by `client_id` (kept if the request names one; a
 * different one is refused), or unchanged when no carrier has a hint.
 */
export async function translateIdTokenHint(
  rawUrl: string,
  body: ReadRequestBody | undefined,
  runtime: Runtime,
): Promise<TranslatedRequest> {
  const start = rawUrl.indexOf('?');
  const query = start < 0 ? '' : rawUrl.slice(start + 1);
  const fromQuery = queryParams(query);
  const all: BodyParams = [...fromQuery, ...(body?.params ?? [])];
  const hints = all.filter(([name]) => isHint(name));
  if (hints.length === 0) return { url: rawUrl, body: undefined };
  if (hints.length > 1) throw invalidRequest('id_token_hint is repeated');
  const hint = hints[0]?.[1];
  if (typeof hint !== 'string') throw invalidRequest('id_token_hint is not a string');
  const clientId = await hintAudience(hint, runtime);
  const named = all.filter(([name]) => isClientId(name));
  if (named.length > 1 || (named.length === 1 && named[0]?.[1] !== clientId)) {
    throw invalidRequest('client_id does not match the id_token_hint');
  }
  if (fromQuery.some(([name]) => isHint(name))) {
    const path = start < 0 ? rawUrl : rawUrl.slice(0, start);
    return { url: `${path}?${translatedQuery(query, clientId)}`, body: undefined };
  }
  // The hint is in the body (all carriers were searched, and the query has none).
  return { url: rawUrl, body: translatedBody(body as ReadRequestBody, clientId) };
}
