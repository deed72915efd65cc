/**
 * Requests the gateway itself makes to the upstream (token endpoint, JWKS, discovery,
 * introspection, userinfo, revocation): explicit timeout, response size cap, and a duration
 * sample per route and status class. Sent through the configuration generation's undici
 * dispatchers (upstream-dispatchers.ts, where the measurement that chose undici is); the answer
 * keeps node:http's shapes (IncomingHttpHeaders), so callers are the same as with http.request.
 */
import type http from 'node:http';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import { parseUntrustedJson, refusedJsonPhrase } from '../http/untrusted-json.js';
import type { Metrics, UpstreamRoute } from '../observability/metrics.js';
import { statusClass } from '../observability/metrics.js';
import { startUpstreamCallSpan } from '../observability/tracing.js';
import { describeConnectionError } from './connection-error.js';
import { nodeHeaders } from './node-headers.js';
import { defaultUpstreamAgents, type UpstreamAgents } from './upstream-agents.js';

export interface UpstreamResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export class UpstreamFailure extends Error {
  constructor(
    readonly kind: 'timeout' | 'unreachable' | 'too_large',
    message: string,
  ) {
    super(message);
    this.name = 'UpstreamFailure';
  }
}

export interface UpstreamRequest {
  url: URL;
  method?: string;
  headers?: OutgoingHttpHeaders;
  body?: string | Buffer;
  timeoutMs: number;
  maxResponseBytes?: number;
  route: UpstreamRoute;
  /** The configuration generation's connection pools (default: environment only). */
  agents?: UpstreamAgents;
}

const DEFAULT_MAX_RESPONSE = 1024 * 1024;

/**
 * The keep-alive agent the reverse proxy uses for an upstream URL: the generation's pools (egress
 * proxy, upstream.tls), or the environment-only defaults.
 */
export function upstreamAgent(
  url: URL,
  agents: UpstreamAgents = defaultUpstreamAgents,
): http.Agent {
  return agents.agentFor(url);
}

/** The origin and the request target of a URL, split once: the same few URLs are asked again. */
interface RequestTarget {
  origin: string;
  path: string;
}

const requestTargets = new Map<string, RequestTarget>();

/** Bounded: the map is dropped whole should a hostile discovery document name endless URLs. */
function requestTargetOf(url: URL): RequestTarget {
  const href = url.href;
  let target = requestTargets.get(href);
  if (target === undefined) {
    if (requestTargets.size >= 64) requestTargets.clear();
    target = { origin: url.origin, path: `${url.pathname}${url.search}` };
    requestTargets.set(href, target);
  }
  return target;
}

/** undici's codes for a request it refuses to send, before any connection is involved. */
const REFUSED_REQUEST: ReadonlySet<string> = new Set([
  'UND_ERR_INVALID_ARG',
  'UND_ERR_NOT_SUPPORTED',
]);

/** The declared length of a response, when it states one. */
function declaredLength(headers: IncomingHttpHeaders): number | undefined {
  const value = headers['content-length'];
  if (typeof value !== 'string' || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

export function upstreamRequest(
  request: UpstreamRequest,
  metrics?: Metrics,
): Promise<UpstreamResponse> {
  const started = process.hrtime.bigint();
  const method = request.method ?? 'GET';
  // A client span when tracing is on; the upstream receives its context as `traceparent`.
  const span = startUpstreamCallSpan(request.route, method, request.url);
  const headers = span === undefined ? request.headers : span.headers(request.headers);
  const observe = (status: number | undefined) => {
    span?.end(status);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    metrics?.upstreamDuration.observe(
      { route: request.route, status_class: statusClass(status) },
      seconds,
    );
    if (status === 429) metrics?.upstreamRateLimited.inc({ route: request.route });
  };
  const limit = request.maxResponseBytes ?? DEFAULT_MAX_RESPONSE;
  const { origin, path } = requestTargetOf(request.url);
  const agents = request.agents ?? defaultUpstreamAgents;

  return new Promise((resolve, reject) => {
    let settled = false;
    let deadline: NodeJS.Timeout | undefined;
    /** Set once the request may be aborted (undici hands the controller over at connect). */
    let controller: Dispatcher.DispatchController | undefined;
    /** Why the exchange ended early: a request still queued is aborted when it gets a socket. */
    let abortReason: UpstreamFailure | undefined;
    /** Ends the exchange without an answer; false when it had already ended. */
    const settle = () => {
      if (settled) return false;
      settled = true;
      clearTimeout(deadline);
      observe(undefined);
      return true;
    };
    const fail = (error: UpstreamFailure) => {
      if (settle()) reject(error);
    };
    const stop = (error: UpstreamFailure) => {
      fail(error);
      abortReason = error;
      if (controller !== undefined && !controller.aborted) controller.abort(error);
    };
    let status = 502;
    let responded = false;
    let responseHeaders: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    let size = 0;
    const tooLarge = () =>
      new UpstreamFailure('too_large', `upstream response larger than ${limit} bytes`);
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(started) {
        controller = started;
        if (abortReason !== undefined) started.abort(abortReason);
      },
      onResponseStart(_controller, statusCode, parsed) {
        status = statusCode;
        responded = true;
        responseHeaders = nodeHeaders(parsed);
        // A declared size over the cap is refused before a byte of the body is read.
        const length = declaredLength(responseHeaders);
        if (length !== undefined && length > limit) stop(tooLarge());
      },
      onResponseData(_controller, chunk) {
        size += chunk.length;
        if (size > limit) {
          stop(tooLarge());
          return;
        }
        chunks.push(chunk);
      },
      onResponseEnd() {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        observe(status);
        resolve({ status, headers: responseHeaders, body: Buffer.concat(chunks, size) });
      },
      onResponseError(_controller, error) {
        if (!responded && REFUSED_REQUEST.has((error as NodeJS.ErrnoException).code ?? '')) {
          // A request undici would not send (a header value it refuses) is the caller's error,
          // not the upstream's: rejected as is, as node:http threw it.
          settle();
          reject(error);
          return;
        }
        // A connection cut mid-body is an error here, never a truncated body taken as whole.
        fail(
          new UpstreamFailure(
            'unreachable',
            responded
              ? 'upstream response broke'
              : describeConnectionError(error as NodeJS.ErrnoException),
          ),
        );
      },
    };
    // One deadline for the whole exchange, connection included. A socket idle timeout alone lets
    // an upstream that trickles a byte now and then hold the request (and the client) for ever.
    deadline = setTimeout(
      () =>
        stop(
          new UpstreamFailure('timeout', `upstream did not answer within ${request.timeoutMs} ms`),
        ),
      request.timeoutMs,
    );
    try {
      agents.dispatch(
        request.url,
        {
          origin,
          path,
          method,
          headers: headers as Record<string, string | string[]>,
          body: request.body ?? null,
          // The deadline above governs; undici's own timers must not end the exchange first.
          headersTimeout: 0,
          bodyTimeout: 0,
        },
        handler,
      );
    } catch (error) {
      // Anything undici throws rather than reporting to the handler: the caller's error.
      settle();
      reject(error);
    }
  });
}

/** GETs a JSON document from the upstream; throws UpstreamFailure or Error on a bad answer. */
export async function fetchUpstreamJson(
  url: URL,
  timeoutMs: number,
  route: UpstreamRoute,
  metrics?: Metrics,
  agents?: UpstreamAgents,
): Promise<unknown> {
  const response = await upstreamRequest(
    {
      url,
      timeoutMs,
      route,
      headers: { accept: 'application/json' },
      ...(agents === undefined ? {} : { agents }),
    },
    metrics,
  );
  if (response.status !== 200) {
    throw new Error(`upstream ${route} answered ${response.status}`);
  }
  try {
    return parseUntrustedJson(response.body.toString('utf8'));
  } catch (error) {
    throw new Error(`upstream ${route} answer ${refusedJsonPhrase(error)}`);
  }
}
