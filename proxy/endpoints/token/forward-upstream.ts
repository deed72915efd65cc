/**
 * Sends the (scope-rewritten) token request to the upstream token endpoint, always as
 * application/x-www-form-urlencoded (RFC 6749 §3.2): a client may send scopegate JSON, but
 * form-only IdPs must still read the request. Client authentication is forwarded as received
 * (the Authorization header, or client_id/client_secret members become form parameters), except
 * for a client scopegate authenticated itself: the upstream then gets the allowlisted token
 * parameters and scopegate's credentials for the client (client-auth/upstream-credentials.ts).
 */
import type { IncomingMessage } from 'node:http';
import { serializeTokenRequestBody } from '../../http/body.js';
import {
  endToEndHeaders,
  FORWARDED_HEADER_NAMES,
  forwardedHeaders,
  publicHostOf,
} from '../../http/headers.js';
import { OAuthError, unavailable } from '../../http/oauth-error.js';
import { clientRuleFor } from '../../issued/client-rule.js';
import type { Metrics } from '../../observability/metrics.js';
import { FORWARDED_TOKEN_PARAMETERS } from '../../rules/client-auth-methods.js';
import type { Runtime } from '../../runtime/runtime.js';
import { upstreamScope } from '../../scope/upstream-scope.js';
import {
  UpstreamFailure,
  type UpstreamResponse,
  upstreamRequest,
} from '../../upstream/http-client.js';
import { observeRateLimitHeaders } from '../../upstream/token-quota/rate-limit-headers.js';
import { upstreamUrl } from '../../upstream/upstream-url.js';
import {
  hasUpstreamCredentials,
  upstreamCredentials,
  upstreamForm,
} from './client-auth/upstream-credentials.js';
import type { TokenRequest } from './token-request.js';

/**
 * The scope parameter for the upstream: from the request and `upstream.scope_request`; when that
 * asks for nothing (no scope requested, or `omit`), the client's `upstream_scope` or
 * `upstream.default_scope`, for IdPs that refuse a request without one. The client is the one the
 * request names: this only shapes what is asked for, never what is issued, which is decided from
 * the verified upstream token.
 */
export function scopeForUpstream(request: TokenRequest, runtime: Runtime): string | undefined {
  const { config } = runtime;
  const scope = upstreamScope(
    config.upstream.scope_request,
    request.requestedScopes,
    runtime.scopeTemplates,
  );
  if (scope !== undefined) return scope;
  const rule = clientRuleFor(config, request.clientIdHint, request.audiences);
  return rule?.upstream_scope ?? config.upstream.default_scope;
}

/**
 * The parameters the upstream is asked with, before any credentials of scopegate's: the
 * request's (only the allowlisted ones for a client scopegate authenticated, whose credentials
 * stay here) with the scope for the upstream. Also what the upstream token cache keys on.
 */
export function upstreamParams(request: TokenRequest, runtime: Runtime): Map<string, string> {
  const params = hasUpstreamCredentials(request.client)
    ? upstreamForm(request.body.params, FORWARDED_TOKEN_PARAMETERS, { headers: {}, params: [] })
    : new Map(request.body.params);
  const scope = scopeForUpstream(request, runtime);
  if (scope === undefined) params.delete('scope');
  else params.set('scope', scope);
  return params;
}

/** Request headers the upstream token request never carries as the client sent them. */
const NOT_FORWARDED: ReadonlySet<string> = new Set([
  'host',
  'content-length',
  'accept-encoding',
  // The body is re-serialised here, uncompressed and already read: these no longer apply.
  'content-encoding',
  'expect',
  'x-request-id',
  // DPoP is scopegate's (sender-binding-step.ts): a proof names scopegate's URL and is single-use,
  // and an upstream that knows DPoP would bind its own token to the client's key or refuse it.
  'dpop',
  ...FORWARDED_HEADER_NAMES,
]);

/** The upstream token endpoint's URL, built once per configuration generation. */
const tokenEndpoints = new WeakMap<Runtime, URL>();

function tokenEndpointOf(runtime: Runtime): URL {
  let url = tokenEndpoints.get(runtime);
  if (url === undefined) {
    url = upstreamUrl(runtime.config.upstream.url, runtime.tokenPath);
    tokenEndpoints.set(runtime, url);
  }
  return url;
}

export async function forwardTokenRequest(
  req: IncomingMessage,
  request: TokenRequest,
  runtime: Runtime,
  requestId: string,
  metrics?: Metrics,
): Promise<UpstreamResponse> {
  const { upstream } = runtime.config;
  const credentials = upstreamCredentials(request.client, runtime);
  const params = upstreamParams(request, runtime);
  for (const [name, value] of credentials?.params ?? []) params.set(name, value);
  const payload = serializeTokenRequestBody({ ...request.body, kind: 'form', params });
  const headers = endToEndHeaders(req.headers, NOT_FORWARDED);
  if (credentials !== undefined) {
    // The client's own Authorization (its Basic credentials) stays here; scopegate's replace it.
    delete headers.authorization;
    Object.assign(headers, credentials.headers);
  }
  Object.assign(
    headers,
    forwardedHeaders(req, runtime.trustedProxies, publicHostOf(runtime.config.issuer)),
  );
  headers['content-type'] = 'application/x-www-form-urlencoded';
  headers['content-length'] = String(Buffer.byteLength(payload));
  headers.accept = 'application/json';
  headers['x-request-id'] = requestId;
  // Here, not before the token cache: only a call that really goes upstream costs quota.
  const quota = runtime.tokenQuota;
  const rule = clientRuleFor(runtime.config, request.clientIdHint, request.audiences);
  const permit = await quota?.acquire(
    rule === undefined ? undefined : runtime.config.clients.indexOf(rule),
    request.clientIdHint,
  );
  try {
    const answer = await upstreamRequest(
      {
        url: tokenEndpointOf(runtime),
        method: 'POST',
        headers,
        body: payload,
        timeoutMs: upstream.timeout,
        route: 'token',
        agents: runtime.upstreamAgents,
      },
      metrics,
    );
    // A 5xx is the upstream failing, for the breaker; a 4xx is an answer (a 429 pauses instead).
    permit?.release(answer.status >= 500);
    observeRateLimitHeaders(answer.headers, metrics);
    await quota?.observe(answer.status, answer.headers['retry-after'], request.clientIdHint);
    return answer;
  } catch (error) {
    if (!(error instanceof UpstreamFailure)) throw error;
    permit?.release(error.kind !== 'too_large');
    if (error.kind === 'timeout') throw unavailable('the upstream token endpoint timed out', 504);
    if (error.kind === 'too_large') {
      throw new OAuthError('server_error', 'the upstream token response is too large', 502);
    }
    // The client learns the endpoint is unreachable; the log (the access record's reason) why.
    const failure = unavailable('the upstream token endpoint is unreachable', 502);
    failure.cause = error;
    throw failure;
  } finally {
    permit?.release();
  }
}
