/**
 * The public listener's HTTP server: its timeouts, how often they are checked, and OAuth JSON
 * for the errors Node's HTTP layer answers by itself.
 */
import http, { type Server } from 'node:http';
import type { Config } from '../../config/schema.js';
import { answerClientError } from '../http/client-error.js';

/**
 * How often Node checks headers_timeout and request_timeout (its default is 30 s, which would let
 * a slow client hold a connection up to 30 s past its timeout): timeouts are cut within this.
 */
export const TIMEOUT_CHECK_INTERVAL_MS = 250;

export function createPublicServer(server: Config['server']): Server {
  const created = http.createServer({
    requestTimeout: server.request_timeout,
    headersTimeout: server.headers_timeout,
    keepAliveTimeout: server.keep_alive_timeout,
    connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
  });
  created.on('clientError', answerClientError);
  return created;
}

/** The settings a reload can change on a running server. */
export function applyServerTimeouts(target: Server, server: Config['server']): void {
  target.requestTimeout = server.request_timeout;
  target.headersTimeout = server.headers_timeout;
  target.keepAliveTimeout = server.keep_alive_timeout;
}
