/**
 * Sends the (scope-rewritten) token request to the upstream token endpoint.
 */
import type { IncomingMessage } from 'node:http';
import { serializeTokenRequestBody } from '../http/body.js';
import { endToEndHeaders, FORWARDED_HEADER_NAMES, forwardedHeaders } from '../http/headers.js';
import { OAuthError, unavailable } from '../http/oauth-error.js';
import type { Metrics } from '../metrics.js';
import type { Runtime } from '../runtime.js';
import { upstreamScope } from '../scope/upstream-scope.js';
import {
  UpstreamFailure,
  type UpstreamResponse,
  upstreamRequest,
} from '../upstream/http-client.js';
import type { TokenRequest } from './token-request.js';

export async function forwardTokenRequest(
  req: IncomingMessage,
  request: TokenRequest,
  runtime: Runtime,
  requestId: string,
  metrics?: Metrics,
): Promise<UpstreamResponse> {
  const { upstream } = runtime.config;
  const params = new Map(request.body.params);
  const scope = upstreamScope(
    upstream.scope_request,
    request.requestedScopes,
    runtime.scopeTemplates,
  );
  if (scope === undefined) params.delete('scope');
  else params.set('scope', scope);
  const payload = serializeTokenRequestBody({ ...request.body, params });
  const headers = {
    ...endToEndHeaders(req.headers, [
      'host',
      'content-length',
      'accept-encoding',
      // The body is re-serialised here, uncompressed and already read: these no longer apply.
      'content-encoding',
      'expect',
      'x-request-id',
      ...FORWARDED_HEADER_NAMES,
    ]),
    ...forwardedHeaders(req),
    'content-type':
      request.body.kind === 'json' ? 'application/json' : 'application/x-www-form-urlencoded',
    'content-length': String(Buffer.byteLength(payload)),
    accept: 'application/json',
    'x-request-id': requestId,
  };
  try {
    return await upstreamRequest(
      {
        url: new URL(runtime.tokenPath, upstream.url),
        method: 'POST',
        headers,
        body: payload,
        timeoutMs: upstream.timeout,
        route: 'token',
      },
      metrics,
    );
  } catch (error) {
    if (!(error instanceof UpstreamFailure)) throw error;
    if (error.kind === 'timeout') throw unavailable('the upstream token endpoint timed out', 504);
    if (error.kind === 'too_large') {
      throw new OAuthError('server_error', 'the upstream token response is too large', 502);
    }
    throw unavailable('the upstream token endpoint is unreachable', 502);
  }
}
