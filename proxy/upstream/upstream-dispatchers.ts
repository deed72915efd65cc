/**
 * The undici dispatchers the gateway's own upstream calls go through (http-client.ts): one per
 * route (scheme, egress proxy or direct) and configuration generation, with the same settings as
 * the reverse proxy's node:http agents: upstream.tls, upstream.max_connections per host, the
 * egress proxy chosen by UpstreamAgents.proxyFor (upstream.proxy, HTTPS_PROXY/NO_PROXY).
 *
 * Why undici here: one upstream leg cost 42 µs of CPU through an undici pool's dispatch against
 * 65 µs through http.request (medians of three runs); in the gateway that is some 20 µs of an
 * uncached token's 450-550 µs, at or under a busy machine's noise (the table and method are in
 * README.md#upstream-client). These calls sit on every uncached token.
 */
import net from 'node:net';
import tls from 'node:tls';
import { Agent, type Dispatcher, ProxyAgent } from 'undici';
import { openProxyTunnel } from './proxy-tunnel.js';
import type { UpstreamTlsMaterial } from './upstream-tls.js';

export interface DispatcherSettings {
  tls?: UpstreamTlsMaterial | undefined;
  /** Most connections per upstream origin (upstream.max_connections). */
  maxSockets: number;
  /** Longest wait for a connection, and for an egress proxy's answer to CONNECT. */
  connectTimeoutMs: number;
}

/**
 * How long an idle pooled connection is kept when the upstream names no Keep-Alive timeout of
 * its own (one that does is believed): calls seconds apart should not each pay a TLS handshake.
 */
const IDLE_CONNECTION_MS = 60_000;

/** Connector for `undici.Agent({ connect })`: the socket, TLS done, or the error. */
type Connector = (
  options: { hostname: string; port: string; protocol: string; servername?: string },
  callback: (...args: [null, net.Socket] | [Error, null]) => void,
) => void;

/** The TLS session to the upstream, over a CONNECT tunnel through the egress proxy. */
function tunnelConnector(
  proxy: string,
  material: UpstreamTlsMaterial,
  connectTimeoutMs: number,
): Connector {
  const settings = { proxy: new URL(proxy), proxyCa: material.ca, connectTimeoutMs };
  return ({ hostname, port }, callback) => {
    const host = hostname.replace(/^\[|\]$/g, '');
    openProxyTunnel(settings, host, Number(port) || 443, (error, socket) => {
      if (error !== null || socket === undefined) {
        callback(error ?? new Error('no tunnel'), null);
        return;
      }
      // As node's https.Agent does: the server name is the host's unless upstream.tls names one,
      // none for an IP address; the certificate is checked against `host` either way.
      const servername = material.servername ?? (net.isIP(host) === 0 ? host : undefined);
      const secure = tls.connect({
        ...material,
        ...(servername === undefined ? {} : { servername }),
        host,
        socket,
        ALPNProtocols: ['http/1.1'],
      });
      let answered = false;
      secure.once('secureConnect', () => {
        answered = true;
        callback(null, secure);
      });
      secure.once('error', (tlsError) => {
        if (answered) return;
        answered = true;
        socket.destroy();
        callback(tlsError, null);
      });
    });
  };
}

/**
 * A dispatcher for one route. HTTP/1.1 only, as the node:http agents: ALPN would otherwise offer
 * h2 to the upstream, a protocol change no reload asked for.
 */
export function createDispatcher(
  secure: boolean,
  proxy: string | undefined,
  settings: DispatcherSettings,
): Dispatcher {
  const pool = {
    connections: settings.maxSockets,
    keepAliveTimeout: IDLE_CONNECTION_MS,
    allowH2: false,
  };
  const material = secure ? (settings.tls ?? {}) : {};
  if (proxy === undefined) {
    return new Agent({
      ...pool,
      connect: { ...material, timeout: settings.connectTimeoutMs, allowH2: false },
    });
  }
  if (!secure) {
    // A plain-HTTP upstream through the proxy: absolute-form requests to the proxy, no CONNECT
    // (proxies commonly allow CONNECT to port 443 only). The private CA also vouches for an
    // https:// proxy.
    return new ProxyAgent({
      ...pool,
      uri: proxy,
      proxyTunnel: false,
      ...(settings.tls?.ca === undefined ? {} : { proxyTls: { ca: settings.tls.ca } }),
    });
  }
  return new Agent({
    ...pool,
    connect: tunnelConnector(proxy, material, settings.connectTimeoutMs),
  });
}
