/**
 * An https.Agent whose connections are CONNECT tunnels through an egress proxy (the reverse
 * proxy's pool; the gateway's own calls use the undici dispatcher of upstream-dispatchers.ts over
 * the same tunnel). Being a plain https.Agent, it keeps node's own keep-alive pooling and TLS
 * handling: the TLS session to the upstream is made over the tunnel with the agent's options
 * (upstream.tls) and checked against the upstream's name. https-proxy-agent was measured first:
 * it opened a new tunnel (and TLS handshake) for every request, and checked the certificate of an
 * IP-addressed upstream against "localhost".
 */
import https from 'node:https';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { openProxyTunnel, type ProxyTunnelSettings } from './proxy-tunnel.js';

export interface TunnelAgentOptions extends https.AgentOptions {
  /** The proxy's own TLS trust, for an https:// proxy (upstream.tls.ca_file). */
  proxyCa?: string[] | undefined;
  /** Longest wait for the proxy's answer to CONNECT. */
  connectTimeoutMs: number;
}

type Callback = (error: Error | null, socket?: Duplex) => void;

export class TunnelAgent extends https.Agent {
  private readonly tunnel: ProxyTunnelSettings;

  constructor(proxy: string, options: TunnelAgentOptions) {
    const { proxyCa, connectTimeoutMs, ...agentOptions } = options;
    super(agentOptions);
    this.tunnel = { proxy: new URL(proxy), proxyCa, connectTimeoutMs };
  }

  /** Node calls this for each new pooled connection; answering through the callback is allowed. */
  override createConnection(options: tls.ConnectionOptions, callback: Callback): undefined {
    openProxyTunnel(
      this.tunnel,
      options.host ?? 'localhost',
      options.port ?? 443,
      (error, socket) => {
        if (error !== null || socket === undefined) {
          callback(error ?? new Error('no tunnel'));
          return;
        }
        // The agent's TLS options (ca, cert, key, servername) apply to the upstream; `host`
        // stays, so the certificate is checked against the upstream's name, also for an IP.
        callback(null, tls.connect({ ...options, socket }));
      },
    );
    return undefined;
  }
}
