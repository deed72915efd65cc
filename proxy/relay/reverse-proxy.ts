/**
 * Everything the gateway does not intercept goes to the upstream untouched through http-proxy-3:
 * method, path, query, streamed bodies, status and headers. Hop-by-hop headers are stripped both
 * ways, forwarding headers come from the real connection (or a trusted proxy), and a dead or slow upstream gives a JSON
 * 502/504 instead of a hang.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { createProxyServer, type ServerOptions } from 'http-proxy-3';
import { forwardedHeaders, hopByHopNames, isForwardedHeader } from '../http/headers.js';
import { badUpstream, sendOAuthError, unavailable } from '../http/oauth-error.js';
import type { TrustedProxies } from '../http/trusted-proxies.js';
import { accessOf } from '../observability/access-log.js';
import type { Logger } from '../observability/log.js';
import type { Metrics } from '../observability/metrics.js';
import { statusClass } from '../observability/metrics.js';
import { replaceTraceContext } from '../observability/tracing.js';
import { upstreamAgent } from '../upstream/http-client.js';
import type { UpstreamAgents } from '../upstream/upstream-agents.js';
import type { AuthorizationResponseRewrite } from './authorization-response.js';
import { prefixCookiePaths } from './cookie-path.js';
import {
  acceptedCodings,
  hasResponseBody,
  mayBePage,
  relayScreenedResponse,
} from './form-post-relay.js';
import type { ResponseScreen } from './front-channel-screen.js';

/** How one request is proxied: where to, and what its answer goes through on the way back. */
export interface ProxyRoute {
  target: string;
  timeoutMs: number;
  requestId: string;
  trusted: TrustedProxies;
  /** The host clients reach scopegate at (the issuer's): X-Forwarded-Host unless a trusted proxy says. */
  publicHost: string;
  /**
   * Rewrites the upstream's authorization responses: its `Location` header (redirects that must
   * stay on scopegate) and form_post pages.
   */
  rewrite: AuthorizationResponseRewrite;
  /** Screens every answer for upstream tokens (front-channel-screen.ts). */
  screen: ResponseScreen;
  /** An authorization, PAR or logout request: every body of its answer is held and screened. */
  screenedRequest: boolean;
}

export interface ReverseProxy {
  forward(
    req: IncomingMessage,
    res: ServerResponse,
    route: ProxyRoute,
    /** The body, when the gateway already read it to check it; otherwise it streams through. */
    body?: Buffer,
    /** The configuration generation's upstream pools (egress proxy, upstream.tls). */
    agents?: UpstreamAgents,
  ): void;
  close(): void;
}

/** What the proxy keeps about one request while it is in flight. */
interface ProxiedRequest {
  ms: number;
  requestId: string;
  /** http-proxy-3's options for this request, to take over a response that is screened. */
  options: ServerOptions | undefined;
  /** The body was chunked by the client: it is re-framed as chunked upstream. */
  chunked: boolean;
  /** The client asked to close its connection after this response. */
  closeAfter: boolean;
  timedOut: boolean;
  route: ProxyRoute;
}

/**
 * The state rides on the request itself rather than in weak collections keyed by requests: no
 * per-request entries in long-lived tables for the garbage collector to trace (see the in-flight
 * list in drain.ts for what such a table cost).
 */
const PROXIED = Symbol('scopegate.proxied');
type Proxied = IncomingMessage & { [PROXIED]?: ProxiedRequest };

const stateOf = (req: IncomingMessage): ProxiedRequest | undefined => (req as Proxied)[PROXIED];

export function createReverseProxy(metrics: Metrics, logger: Logger): ReverseProxy {
  const proxy = createProxyServer({ xfwd: false, changeOrigin: true, ws: false });

  // http-proxy-3's deleteLength pass gives a DELETE/OPTIONS without content-length a
  // `content-length: 0` and drops its transfer-encoding. With a chunked body that writes the
  // body unframed after a zero-length request: the upstream reads it as a second request
  // (request smuggling). This pass runs after it and puts chunked framing back.
  proxy.before('web', 'stream', (req) => {
    if (stateOf(req)?.chunked === true) {
      delete req.headers['content-length'];
      req.headers['transfer-encoding'] = 'chunked';
    }
  });

  proxy.on('proxyReq', (proxyReq, req, res, options) => {
    const settings = stateOf(req);
    if (!settings) return;
    settings.options = options;
    const expire = () => {
      settings.timedOut = true;
      proxyReq.destroy(new Error('upstream timeout'));
    };
    // Until the request has a connection its idle timeout is not armed: one waiting for an egress
    // proxy's CONNECT answer (or for a free pooled socket) is cut when the timeout has passed.
    if (proxyReq.socket === null) {
      const connecting = setTimeout(expire, settings.ms);
      proxyReq.once('socket', () => clearTimeout(connecting));
      res.once('close', () => clearTimeout(connecting));
    }
    // An upstream that goes quiet for the timeout is cut at once...
    proxyReq.setTimeout(settings.ms, expire);
    // ...and one that trickles a byte now and then is cut when the timeout has passed since the
    // request was handed over in full (the client's upload is bounded by request_timeout).
    let deadline: NodeJS.Timeout | undefined;
    proxyReq.once('finish', () => {
      deadline = setTimeout(expire, settings.ms);
    });
    res.once('close', () => clearTimeout(deadline));
  });

  proxy.on('proxyRes', (proxyRes, req, res) => {
    const access = accessOf(res);
    if (access !== undefined) access.upstreamStatus = proxyRes.statusCode;
    if (proxyRes.statusCode === 429) metrics.upstreamRateLimited.inc({ route: 'proxy' });
    // An upstream that dies mid-response: http-proxy-3 pipes what arrived and would leave the
    // client waiting for the rest. Closing the client's connection at once tells it the response
    // is incomplete (a truncated body never looks complete).
    proxyRes.once('close', () => {
      if (!proxyRes.complete && !res.writableEnded) res.destroy();
    });
    for (const name of hopByHopNames(proxyRes.headers)) {
      if (name !== 'transfer-encoding') delete proxyRes.headers[name];
    }
    // The status line is rebuilt, never relayed: the client gets the standard reason phrase of
    // the status (Node.js writes it when none is set), not text the upstream chose.
    proxyRes.statusMessage = '';
    // While draining, the gateway marks responses `Connection: close`; http-proxy-3 would
    // otherwise copy keep-alive over it and the client would reuse a closing connection.
    const settings = stateOf(req);
    if (res.getHeader('connection') === 'close' || settings?.closeAfter === true) {
      proxyRes.headers.connection = 'close';
    }
    if (settings === undefined) return;
    const { rewrite, screen } = settings.route;
    const location = proxyRes.headers.location;
    if (typeof location === 'string') proxyRes.headers.location = rewrite.location(location);
    const cookies = proxyRes.headers['set-cookie'];
    if (cookies !== undefined && rewrite.issuerPath !== '') {
      proxyRes.headers['set-cookie'] = prefixCookiePaths(cookies, rewrite.issuerPath);
    }
    // Screened after the rewrite: what is checked is exactly what the client would get.
    const refusal = screen.headers(proxyRes.headers);
    if (refusal !== undefined) {
      takeOver(proxyRes, req, res, settings, (relayed) => relayed.refuse(refusal));
      return;
    }
    if (!hasResponseBody(req, proxyRes)) return;
    const type = proxyRes.headers['content-type'];
    if (!settings.route.screenedRequest && !screen.holdsType(type)) return;
    takeOver(proxyRes, req, res, settings, () =>
      relayScreenedResponse(req, res, proxyRes, {
        rewrite: mayBePage(type) ? rewrite.formPost : undefined,
        screen: screen.body,
        refused: (reason) => refusedAnswer(settings, reason),
      }),
    );
  });

  const refusedAnswer = (settings: ProxiedRequest, reason: string) =>
    logger.warn(
      { requestId: settings.requestId, route: 'proxy', reason },
      "the upstream's answer was refused",
    );

  // A response that is screened is held (or refused) instead of piped. http-proxy-3 reads
  // selfHandleResponse from this request's options after this event, so setting it here is what
  // keeps it from piping the response. Without the options (never seen: they come with proxyReq)
  // the response cannot be held, and the client gets a closed connection rather than the answer.
  const takeOver = (
    proxyRes: IncomingMessage,
    _req: IncomingMessage,
    res: ServerResponse,
    settings: ProxiedRequest,
    handle: (relayed: { refuse(reason: string): void }) => void,
  ) => {
    if (settings.options === undefined) {
      logger.error({ route: 'proxy' }, 'a response could not be held for screening');
      res.destroy();
      return;
    }
    settings.options.selfHandleResponse = true;
    handle({
      refuse: (reason) => {
        refusedAnswer(settings, reason);
        sendOAuthError(res, badUpstream("the upstream's answer cannot be passed on"));
        proxyRes.destroy();
      },
    });
  };

  // The target is the configured upstream URL: parsed once, not per request (http-proxy-3
  // parses a string target on every call).
  const targets = new Map<string, URL>();
  const targetFor = (target: string) => {
    let parsed = targets.get(target);
    if (parsed === undefined) {
      if (targets.size > 16) targets.clear();
      parsed = new URL(target);
      targets.set(target, parsed);
    }
    return parsed;
  };

  return {
    forward(req, res, route, body, agents) {
      const { target, timeoutMs, requestId } = route;
      const started = process.hrtime.bigint();
      const state: ProxiedRequest = {
        ms: timeoutMs,
        requestId,
        options: undefined,
        // Node has already de-chunked the body; the outgoing request must be re-framed as
        // chunked or, for GET/DELETE, Node writes the body bare and the upstream parses it as a
        // request.
        chunked: req.headers['transfer-encoding'] !== undefined && body === undefined,
        closeAfter: /(?:^|,)\s*close\s*(?:,|$)/i.test(String(req.headers.connection ?? '')),
        timedOut: false,
        route,
      };
      (req as Proxied)[PROXIED] = state;
      // Headers are rewritten on the incoming message, before http-proxy-3 copies them: the
      // outgoing request may already be writing by the time its proxyReq event fires.
      const forwarded = forwardedHeaders(req, route.trusted, route.publicHost);
      // The client may name content-length in Connection; the body it frames is still there. A
      // body already read is sent with its exact length, whatever framing the client used.
      const contentLength =
        body === undefined ? req.headers['content-length'] : String(body.length);
      for (const name of hopByHopNames(req.headers)) delete req.headers[name];
      // Connection is per hop: the client's never reaches the upstream, whose connections are
      // pooled (a forwarded "close" would have the upstream close a socket the pool reuses). A
      // client that asked to close gets `Connection: close` on its response instead
      // (state.closeAfter).
      // The gateway already answered any 100-continue; forwarding `expect` would also make
      // http-proxy-3 skip its proxyReq event, and with it the upstream timeout below.
      delete req.headers.expect;
      // Only codings scopegate can decode are offered upstream: HTML may have to be inspected.
      const codings = acceptedCodings(req.headers['accept-encoding']);
      if (codings !== undefined) req.headers['accept-encoding'] = codings;
      if (state.chunked) {
        delete req.headers['content-length'];
        req.headers['transfer-encoding'] = 'chunked';
      } else if (contentLength !== undefined) {
        req.headers['content-length'] = contentLength;
      }
      for (const name of Object.keys(req.headers)) {
        if (isForwardedHeader(name)) delete req.headers[name];
      }
      Object.assign(req.headers, forwarded, { 'x-request-id': requestId });
      // Tracing on: the upstream gets scopegate's span context, not the client's trace context.
      replaceTraceContext(req.headers);
      res.on('finish', () => {
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        metrics.upstreamDuration.observe(
          { route: 'proxy', status_class: statusClass(res.statusCode) },
          seconds,
        );
      });
      const failed = (error: unknown) => {
        const wasTimeout = state.timedOut;
        logger.warn(
          { requestId, route: 'proxy', error: (error as Error).message, timeout: wasTimeout },
          'upstream request failed',
        );
        if (res.headersSent) {
          res.destroy();
          return;
        }
        sendOAuthError(
          res as ServerResponse,
          wasTimeout
            ? unavailable('the upstream did not answer in time', 504)
            : unavailable('the upstream is unreachable', 502),
        );
      };
      try {
        // Without an agent http-proxy-3 opens a connection per request and sends
        // `connection: close`; the shared keep-alive agent reuses upstream connections.
        //
        // http-proxy-3's classic path, not its fetch path with an undici dispatcher
        // (`fetchOptions`). Measured (proxy pinned to one core, 32 connections, medians of three
        // runs), the fetch path cost more CPU per proxied request: 787 µs against 136 µs for a
        // small answer, 4,980 against 2,100 µs for 1 MiB. And it would drop guarantees: no
        // proxyReq/proxyRes events (the timeouts, header hygiene, rewrites and screening above
        // hang on them), a response object that is not a stream (takeOver cannot hold it), fetch
        // decoding Content-Encoding while the header is relayed, repeated Set-Cookie headers
        // collapsed to the last (Object.fromEntries of the Headers), `connection: close` on
        // every answer to the client.
        const upstream = targetFor(target);
        proxy.web(
          req,
          res,
          {
            target: upstream,
            agent: upstreamAgent(upstream, agents),
            ...(body === undefined ? {} : { buffer: Readable.from([body]) }),
          },
          failed,
        );
      } catch (error) {
        // http-proxy-3 throws synchronously on what it cannot turn into an outgoing request;
        // thrown out of the request handler, that would take the whole process down.
        failed(error);
      }
    },
    close() {
      proxy.close();
    },
  };
}
