/**
 * Everything the gateway does not intercept goes to the upstream untouched through http-proxy-3:
 * method, path, query, streamed bodies, status and headers. Hop-by-hop headers are stripped both
 * ways, X-Forwarded-* come from the real connection, and a dead or slow upstream gives a JSON
 * 502/504 instead of a hang.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createProxyServer } from 'http-proxy-3';
import { forwardedHeaders, hopByHopNames, isForwardedHeader } from './http/headers.js';
import { sendOAuthError, unavailable } from './http/oauth-error.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import { statusClass } from './metrics.js';

export interface ReverseProxy {
  forward(
    req: IncomingMessage,
    res: ServerResponse,
    target: string,
    timeoutMs: number,
    requestId: string,
  ): void;
  close(): void;
}

export function createReverseProxy(metrics: Metrics, logger: Logger): ReverseProxy {
  const proxy = createProxyServer({ xfwd: false, changeOrigin: true, ws: false });
  const timedOut = new WeakSet<IncomingMessage>();
  const timeouts = new WeakMap<IncomingMessage, { ms: number; requestId: string }>();

  proxy.on('proxyReq', (proxyReq, req) => {
    const settings = timeouts.get(req);
    if (settings) {
      proxyReq.setTimeout(settings.ms, () => {
        timedOut.add(req);
        proxyReq.destroy(new Error('upstream timeout'));
      });
    }
  });

  proxy.on('proxyRes', (proxyRes) => {
    for (const name of hopByHopNames(proxyRes.headers)) {
      if (name !== 'transfer-encoding') delete proxyRes.headers[name];
    }
  });

  return {
    forward(req, res, target, timeoutMs, requestId) {
      const started = process.hrtime.bigint();
      timeouts.set(req, { ms: timeoutMs, requestId });
      // Headers are rewritten on the incoming message, before http-proxy-3 copies them: the
      // outgoing request may already be writing by the time its proxyReq event fires.
      const forwarded = forwardedHeaders(req);
      for (const name of hopByHopNames(req.headers)) {
        if (name !== 'connection') delete req.headers[name];
      }
      for (const name of Object.keys(req.headers)) {
        if (isForwardedHeader(name)) delete req.headers[name];
      }
      Object.assign(req.headers, forwarded, { 'x-request-id': requestId });
      res.on('finish', () => {
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        metrics.upstreamDuration.observe(
          { route: 'proxy', status_class: statusClass(res.statusCode) },
          seconds,
        );
      });
      proxy.web(req, res, { target }, (error) => {
        const wasTimeout = timedOut.has(req);
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
      });
    },
    close() {
      proxy.close();
    },
  };
}
