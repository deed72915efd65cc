/**
 * Requests the gateway itself makes to the upstream (token endpoint, JWKS, discovery): explicit
 * timeout, response size cap, and a duration sample per route and status class.
 */
import http, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import { urlToHttpOptions } from 'node:url';
import { parseUntrustedJson, refusedJsonPhrase } from '../http/untrusted-json.js';
import type { Metrics, UpstreamRoute } from '../observability/metrics.js';
import { statusClass } from '../observability/metrics.js';
import { startUpstreamCallSpan } from '../observability/tracing.js';
import { describeConnectionError } from './connection-error.js';
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
 * The keep-alive agent for an upstream URL: the generation's pools (egress proxy, upstream.tls),
 * or the environment-only defaults. Connections are reused: a token request should not pay a
 * TLS handshake.
 */
export function upstreamAgent(
  url: URL,
  agents: UpstreamAgents = defaultUpstreamAgents,
): http.Agent {
  return agents.agentFor(url);
}

type RequestTarget = ReturnType<typeof urlToHttpOptions>;

/**
 * Request options for a URL, converted once: the gateway asks the same few upstream URLs over
 * and over, and converting each time showed in the token path's profile. Bounded: the map is
 * dropped whole should a hostile discovery document name endless URLs.
 */
const requestTargets = new Map<string, RequestTarget>();

function requestTargetOf(url: URL): RequestTarget {
  const href = url.href;
  let target = requestTargets.get(href);
  if (target === undefined) {
    if (requestTargets.size >= 64) requestTargets.clear();
    target = urlToHttpOptions(url);
    requestTargets.set(href, target);
  }
  return target;
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
  const secure = request.url.protocol === 'https:';
  const transport = secure ? https : http;

  return new Promise((resolve, reject) => {
    let settled = false;
    let deadline: NodeJS.Timeout | undefined;
    const fail = (error: UpstreamFailure) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      observe(undefined);
      reject(error);
    };
    const req = transport.request(
      {
        ...requestTargetOf(request.url),
        method,
        headers,
        agent: upstreamAgent(request.url, request.agents),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > limit) {
            fail(new UpstreamFailure('too_large', `upstream response larger than ${limit} bytes`));
            req.destroy();
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(deadline);
          const status = res.statusCode ?? 502;
          observe(status);
          resolve({ status, headers: res.headers, body: Buffer.concat(chunks, size) });
        });
        res.on('error', () => fail(new UpstreamFailure('unreachable', 'upstream response broke')));
        // A connection cut mid-body may end the stream without 'error': never resolve a
        // truncated body as if it were the whole answer.
        res.on('close', () => {
          if (!res.complete) fail(new UpstreamFailure('unreachable', 'upstream response broke'));
        });
      },
    );
    // One deadline for the whole exchange. A socket idle timeout alone lets an upstream that
    // trickles a byte now and then hold the request (and the client) for ever.
    deadline = setTimeout(() => {
      fail(
        new UpstreamFailure('timeout', `upstream did not answer within ${request.timeoutMs} ms`),
      );
      req.destroy();
    }, request.timeoutMs);
    req.on('error', (error: NodeJS.ErrnoException) =>
      fail(new UpstreamFailure('unreachable', describeConnectionError(error))),
    );
    req.end(request.body);
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
