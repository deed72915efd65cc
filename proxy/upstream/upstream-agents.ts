/**
 * The connection pools every request to the upstream goes through: the gateway's own calls
 * (token, discovery, JWKS, introspection, userinfo, revocation) through undici dispatchers, the
 * reverse proxy through node:http agents, so one egress proxy decision (one reading of
 * HTTPS_PROXY/NO_PROXY) and one set of TLS settings hold for all of them. One set per
 * configuration generation; the one a reload replaces is closed once its requests are done.
 *
 * Two kinds of pool because http-proxy-3's proxied path (with the proxyReq/proxyRes events the
 * hardening relies on) takes an http.Agent, while the gateway's own calls are cheaper through
 * undici (upstream-dispatchers.ts). Each is created on first use: a gateway that proxies nothing
 * opens no agent.
 */

import type http from 'node:http';
import https from 'node:https';
import { HttpProxyAgent } from 'http-proxy-agent';
import { getProxyForUrl } from 'proxy-from-env';
import type { Dispatcher } from 'undici';
import { isProxyUrl } from '../../config/schema.js';
import { nodeHttp } from '../http/node-http.js';
import { TunnelAgent } from './tunnel-agent.js';
import { createDispatcher } from './upstream-dispatchers.js';
import type { UpstreamTlsMaterial } from './upstream-tls.js';

/** The variables an upstream URL's proxy may come from (read in either case). */
const PROXY_VARIABLES = ['https_proxy', 'http_proxy', 'all_proxy'] as const;

/** A variable in either case, lower case first (as proxy-from-env and curl read them). */
function readVariable(lower: string): string | undefined {
  const value = process.env[lower] || process.env[lower.toUpperCase()];
  return value === '' ? undefined : value;
}

/** A proxy variable without a scheme names an HTTP proxy, as curl reads it. */
function withScheme(proxy: string): string {
  return proxy.includes('://') ? proxy : `http://${proxy}`;
}

/**
 * Proxy variables scopegate cannot use (a SOCKS proxy, a URL with a path): refused at (re)load
 * and by `check`, rather than silently reaching the upstream around the proxy.
 */
export function environmentProxyProblems(
  env: Readonly<Record<string, string | undefined>> = process.env,
): string[] {
  const problems: string[] = [];
  for (const lower of PROXY_VARIABLES) {
    for (const name of [lower, lower.toUpperCase()]) {
      const value = env[name];
      if (value !== undefined && value !== '' && !isProxyUrl(withScheme(value))) {
        problems.push(
          `environment variable ${name}: expected an http(s) proxy URL with a host and port only`,
        );
      }
    }
  }
  return problems;
}

export interface UpstreamAgentSettings {
  /** upstream.proxy: used for every URL, whatever the environment says. */
  proxy?: string | undefined;
  tls?: UpstreamTlsMaterial;
  /** Most sockets per upstream host (upstream.max_connections). */
  maxSockets: number;
  /** Longest wait for an egress proxy's answer to CONNECT (upstream.timeout). */
  connectTimeoutMs: number;
}

/** A proxy URL fit for a log line: the credentials it may carry are never shown. */
export function redactProxyUrl(proxy: string): string {
  try {
    const url = new URL(proxy);
    return `${url.protocol}//${url.host}`;
  } catch {
    return '(unparsable proxy URL)';
  }
}

/** Scheme and egress route: the URLs with the same key share their pools. */
function routeKeyOf(secure: boolean, proxy: string | undefined): string {
  return `${secure ? 'https' : 'http'} ${proxy ?? 'direct'}`;
}

/**
 * node:http agents keep their keepAlive option as a public field that the 'free' handler reads
 * (undeclared in @types/node): turning it off makes the pool let go of sockets as they free up.
 */
type PoolAgent = http.Agent & { keepAlive: boolean };

export class UpstreamAgents {
  private readonly agents = new Map<string, PoolAgent>();
  /**
   * The agent per origin, so that the proxy decision (environment, NO_PROXY) is taken once per
   * host, not per request. Bounded: dropped whole should a hostile discovery document name
   * endless hosts.
   */
  private readonly byOrigin = new Map<string, PoolAgent>();
  private readonly dispatchers = new Map<string, Dispatcher>();
  /** The dispatcher per origin, for the same reason as `byOrigin`. */
  private readonly dispatchersByOrigin = new Map<string, Dispatcher>();
  private closed = false;

  constructor(private readonly settings: UpstreamAgentSettings) {}

  /**
   * The egress proxy for a URL: upstream.proxy, else HTTPS_PROXY/HTTP_PROXY (either case) unless
   * NO_PROXY names the host; undefined means a direct connection.
   */
  proxyFor(url: URL): string | undefined {
    if (this.settings.proxy !== undefined) return this.settings.proxy;
    // proxy-from-env decides whether NO_PROXY exempts the URL; the variable is read here again
    // because proxy-from-env gives a scheme-less value the URL's scheme (TLS to the proxy).
    if (getProxyForUrl(url.href) === '') return undefined;
    const variable = url.protocol === 'https:' ? 'https_proxy' : 'http_proxy';
    const raw = readVariable(variable) ?? readVariable('all_proxy');
    return raw === undefined ? undefined : withScheme(raw);
  }

  /** The agent for requests to `url` (cached per protocol and route). */
  agentFor(url: URL): http.Agent {
    const origin = `${url.protocol}//${url.host}`;
    const known = this.byOrigin.get(origin);
    if (known !== undefined) return known;
    if (this.byOrigin.size >= 64) this.byOrigin.clear();
    const agent = this.routeFor(url);
    this.byOrigin.set(origin, agent);
    return agent;
  }

  /**
   * Sends one request of the gateway's own through the generation's undici dispatcher for `url`.
   * A generation already replaced still answers its last requests: each goes through a
   * dispatcher of its own, closed as soon as that request is done (a closed undici dispatcher
   * refuses new requests, and the replaced pools must not keep connections).
   */
  dispatch(url: URL, options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler) {
    if (this.closed) {
      const oneShot = this.createDispatcherFor(url);
      oneShot.dispatch(options, handler);
      oneShot.close().catch(() => {});
      return;
    }
    const origin = `${url.protocol}//${url.host}`;
    let dispatcher = this.dispatchersByOrigin.get(origin);
    if (dispatcher === undefined) {
      if (this.dispatchersByOrigin.size >= 64) this.dispatchersByOrigin.clear();
      const key = routeKeyOf(url.protocol === 'https:', this.proxyFor(url));
      dispatcher = this.dispatchers.get(key);
      if (dispatcher === undefined) {
        dispatcher = this.createDispatcherFor(url);
        this.dispatchers.set(key, dispatcher);
      }
      this.dispatchersByOrigin.set(origin, dispatcher);
    }
    dispatcher.dispatch(options, handler);
  }

  private createDispatcherFor(url: URL): Dispatcher {
    return createDispatcher(url.protocol === 'https:', this.proxyFor(url), this.settings);
  }

  private routeFor(url: URL): PoolAgent {
    const secure = url.protocol === 'https:';
    const proxy = this.proxyFor(url);
    const key = routeKeyOf(secure, proxy);
    let agent = this.agents.get(key);
    if (agent === undefined) {
      agent = this.create(secure, proxy) as PoolAgent;
      // A generation already replaced still answers its last requests; its new sockets are not
      // kept for reuse.
      if (this.closed) agent.keepAlive = false;
      this.agents.set(key, agent);
    }
    return agent;
  }

  private create(secure: boolean, proxy: string | undefined): http.Agent {
    const pool = { keepAlive: true, maxSockets: this.settings.maxSockets };
    // The TLS options reach the upstream's handshake (through a CONNECT tunnel, when proxied).
    const tls = secure ? (this.settings.tls ?? {}) : {};
    if (proxy === undefined) {
      return secure ? new https.Agent({ ...pool, ...tls }) : new nodeHttp.Agent(pool);
    }
    if (!secure) return new HttpProxyAgent(proxy, pool);
    // The private CA also vouches for an https:// proxy; the client certificate and server name
    // are for the upstream alone.
    return new TunnelAgent(proxy, {
      ...pool,
      ...tls,
      proxyCa: tls.ca,
      connectTimeoutMs: this.settings.connectTimeoutMs,
    });
  }

  /**
   * Ends the pools without cutting a request: idle connections close now, busy ones when their
   * response is done (an agent without keepAlive destroys a socket as it becomes free; an undici
   * dispatcher's close() lets the requests it holds finish).
   */
  close(): void {
    this.closed = true;
    for (const dispatcher of this.dispatchers.values()) dispatcher.close().catch(() => {});
    this.dispatchers.clear();
    this.dispatchersByOrigin.clear();
    for (const agent of this.agents.values()) {
      agent.keepAlive = false;
      for (const sockets of Object.values(agent.freeSockets)) {
        for (const socket of sockets ?? []) socket.destroy();
      }
    }
  }
}

/** Agents for code that has no configuration generation (tests, `check`): environment only. */
export const defaultUpstreamAgents = new UpstreamAgents({
  maxSockets: 256,
  connectTimeoutMs: 5000,
});
