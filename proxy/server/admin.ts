/**
 * The admin listener: Prometheus metrics, liveness (the process answers) and readiness (config
 * loaded, an active signing key, upstream keys fetched once, not shutting down). Readiness does
 * not follow momentary upstream health: that would take every replica out at once.
 *
 * With several workers the primary serves it for the whole (cluster-primary.ts): readiness asks
 * every worker, and /metrics adds every worker's registry to the primary's.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from '../http/oauth-error.js';
import type { Metrics } from '../observability/metrics.js';

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, boolean>;
}

export interface AdminDeps {
  metrics: Metrics;
  readiness: () => ReadinessReport | Promise<ReadinessReport>;
  /** The exposition text, when it is not this process's registry alone (the primary's). */
  exposition?: () => Promise<string>;
}

export function createAdminHandler(deps: AdminDeps) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const pathname = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendJson(res, 405, { error: 'method not allowed' }, { allow: 'GET, HEAD' });
      return;
    }
    switch (pathname) {
      case '/metrics': {
        // scopegate_ready is read from the readiness probe while the registry collects.
        const body = await (deps.exposition ?? (() => deps.metrics.registry.metrics()))();
        res.writeHead(200, {
          'content-type': deps.metrics.registry.contentType,
          'cache-control': 'no-store',
        });
        res.end(body);
        return;
      }
      case '/healthz':
        sendJson(res, 200, { status: 'ok' }, { 'cache-control': 'no-store' });
        return;
      case '/readyz': {
        const report = await deps.readiness();
        sendJson(res, report.ready ? 200 : 503, report, { 'cache-control': 'no-store' });
        return;
      }
      default:
        sendJson(res, 404, { error: 'not found' });
    }
  };
}
