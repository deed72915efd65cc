/**
 * Requests scopegate makes to the upstream's userinfo, introspection and revocation endpoints on
 * a caller's behalf: to exactly the endpoint's path on `upstream.url`, within the upstream
 * timeout, with the request id. An unreachable upstream is an OAuth error, like everywhere.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import { unavailable } from '../../http/oauth-error.js';
import { parseUntrustedObject } from '../../http/untrusted-json.js';
import type { Runtime } from '../../runtime/runtime.js';
import {
  UpstreamFailure,
  type UpstreamResponse,
  upstreamRequest,
} from '../../upstream/http-client.js';
import { decodedUpstreamBody } from '../../upstream/upstream-body.js';
import { upstreamUrl } from '../../upstream/upstream-url.js';

export interface UpstreamCall {
  path: string;
  method: 'GET' | 'POST';
  headers: OutgoingHttpHeaders;
  /** A form body (POST). */
  form?: URLSearchParams;
  requestId: string;
}

export async function callUpstream(
  call: UpstreamCall,
  runtime: Runtime,
): Promise<UpstreamResponse> {
  const { config } = runtime;
  const headers: OutgoingHttpHeaders = { ...call.headers, 'x-request-id': call.requestId };
  let body: string | undefined;
  if (call.form !== undefined) {
    body = call.form.toString();
    headers['content-type'] = 'application/x-www-form-urlencoded';
    headers['content-length'] = String(Buffer.byteLength(body));
  }
  try {
    return await upstreamRequest({
      url: upstreamUrl(config.upstream.url, call.path),
      method: call.method,
      headers,
      ...(body !== undefined ? { body } : {}),
      timeoutMs: config.upstream.timeout,
      route: 'proxy',
      agents: runtime.upstreamAgents,
    });
  } catch (error) {
    if (error instanceof UpstreamFailure) throw unavailable('the upstream is unreachable', 502);
    throw error;
  }
}

/** The caller's client authentication as received: only the Authorization header travels. */
export function callerAuthorization(authorization: string | undefined): OutgoingHttpHeaders {
  return authorization === undefined ? {} : { authorization };
}

/** The upstream's answer as a JSON object, or undefined when it is not one. */
export function upstreamJson(answer: UpstreamResponse): Record<string, unknown> | undefined {
  try {
    return parseUntrustedObject(decodedUpstreamBody(answer.headers, answer.body));
  } catch {
    return undefined;
  }
}

/**
 * The upstream says it cannot introspect or revoke this kind of token (RFC 7009 §2.2.1): what
 * oidc-provider answers for its own JWT access tokens.
 */
export function unsupportedTokenType(answer: UpstreamResponse): boolean {
  return answer.status === 400 && upstreamJson(answer)?.error === 'unsupported_token_type';
}
