/**
 * The public listener's HTTP(S) server: its timeouts, how often they are checked, OAuth JSON
 * for the errors Node's HTTP layer answers by itself, and TLS when server.tls is set.
 */

import type http from 'node:http';
import type { Server } from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import type { Config } from '../../config/schema.js';
import { answerClientError } from '../http/client-error.js';
import { nodeHttp } from '../http/node-http.js';
import type { ServerTlsMaterial } from './server-tls.js';

/**
 * How often Node checks headers_timeout and request_timeout (its default is 30 s, which would let
 * a slow client hold a connection up to 30 s past its timeout): timeouts are cut within this.
 */
export const TIMEOUT_CHECK_INTERVAL_MS = 250;

export function createPublicServer(server: Config['server'], material?: ServerTlsMaterial): Server {
  const options: http.ServerOptions = {
    requestTimeout: server.request_timeout,
    headersTimeout: server.headers_timeout,
    keepAliveTimeout: server.keep_alive_timeout,
    connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
  };
  const created =
    material === undefined
      ? nodeHttp.createServer(options)
      : https.createServer({
          ...options,
          ...material.context,
          requestCert: material.requestCert,
          rejectUnauthorized: material.rejectUnauthorized,
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

/**
 * A reloaded certificate, key, client CA bundle, version floor or cipher list: connections made
 * from now on use it, established ones keep theirs. Whether TLS is on, and how client certificates
 * are asked for, are fixed when the listener is created.
 */
export function applyServerTls(target: Server, material: ServerTlsMaterial | undefined): void {
  if (material !== undefined && target instanceof tls.Server) {
    target.setSecureContext(material.context);
  }
}
