/**
 * An https.Agent whose connections are CONNECT tunnels through an egress proxy. Being a plain
 * https.Agent, it keeps node's own keep-alive pooling and TLS handling: the TLS session to the
 * upstream is made over the tunnel with the agent's options (upstream.tls) and checked against
 * the upstream's name. https-proxy-agent was measured first: it opened a new tunnel (and TLS
 * handshake) for every request, and checked the certificate of an IP-addressed upstream against
 * "localhost".
 */
import https from 'node:https';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';

/** The longest CONNECT answer read: a proxy sending more is not one scopegate can use. */
const MAX_CONNECT_ANSWER = 16 * 1024;

export interface TunnelAgentOptions extends https.AgentOptions {
  /** The proxy's own TLS trust, for an https:// proxy (upstream.tls.ca_file). */
  proxyCa?: string[] | undefined;
  /** Longest wait for the proxy's answer to CONNECT. */
  connectTimeoutMs: number;
}

type Callback = (error: Error | null, socket?: Duplex) => void;

function failure(message: string, code: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(message);
  error.code = code;
  return error;
}

export class TunnelAgent extends https.Agent {
  private readonly proxy: URL;
  private readonly proxyCa: string[] | undefined;
  private readonly connectTimeoutMs: number;

  constructor(proxy: string, options: TunnelAgentOptions) {
    const { proxyCa, connectTimeoutMs, ...agentOptions } = options;
    super(agentOptions);
    this.proxy = new URL(proxy);
    this.proxyCa = proxyCa;
    this.connectTimeoutMs = connectTimeoutMs;
  }

  /** Node calls this for each new pooled connection; answering through the callback is allowed. */
  override createConnection(options: tls.ConnectionOptions, callback: Callback): undefined {
    const host = options.host ?? 'localhost';
    const port = options.port ?? 443;
    const proxyPort = Number(this.proxy.port) || (this.proxy.protocol === 'https:' ? 443 : 80);
    const proxyHost = this.proxy.hostname.replace(/^\[|\]$/g, '');
    const socket: net.Socket =
      this.proxy.protocol === 'https:'
        ? tls.connect({
            host: proxyHost,
            port: proxyPort,
            ...(net.isIP(proxyHost) ? {} : { servername: proxyHost }),
            ...(this.proxyCa ? { ca: this.proxyCa } : {}),
          })
        : net.connect(proxyPort, proxyHost);
    let done = false;
    const finish = (error: Error | null, tunnelled?: Duplex) => {
      if (done) return;
      done = true;
      socket.setTimeout(0);
      if (error) socket.destroy();
      callback(error, tunnelled);
    };
    socket.setTimeout(this.connectTimeoutMs, () =>
      finish(failure('the egress proxy did not answer CONNECT in time', 'ETIMEDOUT')),
    );
    socket.once('error', (error) => finish(error));
    socket.once('close', () =>
      finish(failure('the egress proxy closed the connection', 'ECONNRESET')),
    );

    const authority = net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
    const lines = [`CONNECT ${authority} HTTP/1.1`, `Host: ${authority}`];
    if (this.proxy.username !== '' || this.proxy.password !== '') {
      const credentials = `${decodeURIComponent(this.proxy.username)}:${decodeURIComponent(this.proxy.password)}`;
      lines.push(`Proxy-Authorization: Basic ${Buffer.from(credentials).toString('base64')}`);
    }
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);

    let answer = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      answer = Buffer.concat([answer, chunk]);
      const end = answer.indexOf('\r\n\r\n');
      if (end < 0) {
        if (answer.length > MAX_CONNECT_ANSWER) {
          socket.off('data', onData);
          finish(failure('the egress proxy sent an oversized CONNECT answer', 'EPROTO'));
        }
        return;
      }
      socket.off('data', onData);
      socket.pause();
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(answer.subarray(0, end).toString('latin1'));
      if (status?.[1] !== '200') {
        // The proxy's page is not relayed: it is not the upstream's answer.
        const code = status ? `PROXY_CONNECT_${status[1]}` : 'EPROTO';
        finish(failure('the egress proxy refused the tunnel', code));
        return;
      }
      const rest = answer.subarray(end + 4);
      if (rest.length > 0) socket.unshift(rest);
      socket.removeAllListeners('close');
      socket.removeAllListeners('error');
      // Errors surface on the TLS socket; one on the raw socket must not go unhandled.
      socket.on('error', () => {});
      // The agent's TLS options (ca, cert, key, servername) apply to the upstream; `host` stays,
      // so the certificate is checked against the upstream's name, also for an IP address.
      const upstream = tls.connect({ ...options, socket });
      finish(null, upstream);
    };
    socket.on('data', onData);
    return undefined;
  }
}
