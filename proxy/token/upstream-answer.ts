/**
 * Step "check the upstream answer": a 200 must be a JSON object with an access token; anything
 * else is the upstream's error, which passes only when it really is an error.
 */
import type { ServerResponse } from 'node:http';
import { endToEndHeaders } from '../http/headers.js';
import { badUpstream } from '../http/oauth-error.js';
import type { UpstreamResponse } from '../upstream/http-client.js';

/**
 * Only the upstream's errors pass through. Any other non-200 answer could carry or lead to the
 * upstream's own token: a 201 with a token body, or a 307/308 that makes the client re-POST its
 * credentials to the upstream itself. Those fail closed.
 */
export function assertPassableError(upstream: UpstreamResponse): void {
  if (upstream.status < 400 || upstream.status > 599) {
    throw badUpstream(`the upstream token endpoint answered ${upstream.status}`);
  }
  let body: unknown;
  try {
    body = JSON.parse(upstream.body.toString('utf8'));
  } catch {
    return;
  }
  if (typeof body === 'object' && body !== null && 'access_token' in body) {
    throw badUpstream('the upstream error response carries an access token');
  }
}

export function sendUpstreamError(res: ServerResponse, upstream: UpstreamResponse): void {
  const headers = endToEndHeaders(upstream.headers, ['content-length']);
  headers['content-length'] = String(upstream.body.length);
  res.writeHead(upstream.status, headers);
  res.end(upstream.body);
}

/** The upstream's successful token response, as a JSON object with a string access token. */
export function parseTokenResponse(upstream: UpstreamResponse): Record<string, unknown> {
  let body: unknown;
  try {
    body = JSON.parse(upstream.body.toString('utf8'));
  } catch {
    throw badUpstream('the upstream token response is not JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badUpstream('the upstream token response is not a JSON object');
  }
  if (typeof (body as { access_token?: unknown }).access_token !== 'string') {
    throw badUpstream('the upstream token response has no access_token');
  }
  return body as Record<string, unknown>;
}
