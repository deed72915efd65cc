/**
 * Step "check upstream answer": what the upstream token endpoint said, read without trusting it.
 * A 200 must be a JSON object with a string access token; a 4xx/5xx is rebuilt as scopegate's
 * own OAuth error (upstream-error.ts); anything else fails closed.
 */

import { duplicateJsonKey } from '../../http/json-duplicates.js';
import { badUpstream, type OAuthError } from '../../http/oauth-error.js';
import { parseUntrustedJson, refusedJsonPhrase } from '../../http/untrusted-json.js';
import { rebuiltUpstreamError } from '../../issued/upstream-error.js';
import type { UpstreamResponse } from '../../upstream/http-client.js';
import { decodedUpstreamBody, UnreadableUpstreamBody } from '../../upstream/upstream-body.js';

/** Members that only a token answer carries: an error answer with one is not trusted at all. */
const TOKEN_MEMBERS = ['access_token', 'refresh_token', 'id_token'];

/**
 * The error the client gets for a non-200 answer. Any other 1xx-3xx could carry or lead to
 * the upstream's own token: a 201 with a token body, or a 307/308 that makes the client re-POST
 * its credentials to the upstream itself. Those, and error bodies carrying tokens, fail closed.
 * `sent`: the upstream token scopegate sent in the client's stead (a refresh grant's), which the
 * rebuilt error never quotes.
 */
export function upstreamErrorAnswer(upstream: UpstreamResponse, sent?: string): OAuthError {
  if (upstream.status < 400 || upstream.status > 599) {
    return badUpstream(`the upstream token endpoint answered ${upstream.status}`);
  }
  let body: unknown;
  try {
    body = parseUntrustedJson(decodedUpstreamBody(upstream.headers, upstream.body));
  } catch {
    body = undefined;
  }
  if (typeof body === 'object' && body !== null) {
    for (const member of TOKEN_MEMBERS) {
      if (member in body) return badUpstream('the upstream error response carries a token');
    }
  }
  return rebuiltUpstreamError(upstream, sent);
}

/** The upstream's successful token response, as a JSON object with a string access token. */
export function parseTokenResponse(upstream: UpstreamResponse): Record<string, unknown> {
  let text: string;
  try {
    text = decodedUpstreamBody(upstream.headers, upstream.body);
  } catch (error) {
    const why = error instanceof UnreadableUpstreamBody ? `: ${error.message}` : '';
    throw badUpstream(`the upstream token response cannot be read${why}`);
  }
  let body: unknown;
  try {
    body = parseUntrustedJson(text);
  } catch (error) {
    throw badUpstream(`the upstream token response ${refusedJsonPhrase(error)}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badUpstream('the upstream token response is not a JSON object');
  }
  // JSON.parse keeps the last of repeated members: which one a client library reads differs.
  const repeated = duplicateJsonKey(text);
  if (repeated !== undefined) {
    throw badUpstream('the upstream token response repeats a member');
  }
  if (typeof (body as { access_token?: unknown }).access_token !== 'string') {
    throw badUpstream('the upstream token response has no access_token');
  }
  return body as Record<string, unknown>;
}
