/**
 * A CONNECT tunnel through an egress proxy to the upstream's host and port: the raw stream the
 * upstream's TLS session is then made over. One implementation for both kinds of pool (the
 * node:http TunnelAgent of the reverse proxy, the undici dispatcher of the gateway's own calls),
 * so both read the proxy's answer, time out and name its refusal (PROXY_CONNECT_<status>) alike.
 */
import net from 'node:net';
import tls from 'node:tls';

/** The longest CONNECT answer read: a proxy sending more is not one scopegate can use. */
const MAX_CONNECT_ANSWER = 16 * 1024;

export interface ProxyTunnelSettings {
  proxy: URL;
  /** The proxy's own TLS trust, for an https:// proxy (upstream.tls.ca_file). */
  proxyCa?: string[] | undefined;
  /** Longest wait for the proxy's answer to CONNECT. */
  connectTimeoutMs: number;
}

export type TunnelCallback = (error: Error | null, socket?: net.Socket) => void;

function failure(message: string, code: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(message);
  error.code = code;
  return error;
}

/**
 * Opens a tunnel to host:port; `callback` gets the socket once the proxy answered 200, or the
 * error (the socket destroyed). Called at most once.
 */
export function openProxyTunnel(
  settings: ProxyTunnelSettings,
  host: string,
  port: number,
  callback: TunnelCallback,
): void {
  const { proxy, proxyCa, connectTimeoutMs } = settings;
  const proxyPort = Number(proxy.port) || (proxy.protocol === 'https:' ? 443 : 80);
  const proxyHost = proxy.hostname.replace(/^\[|\]$/g, '');
  const socket: net.Socket =
    proxy.protocol === 'https:'
      ? tls.connect({
          host: proxyHost,
          port: proxyPort,
          ...(net.isIP(proxyHost) ? {} : { servername: proxyHost }),
          ...(proxyCa ? { ca: proxyCa } : {}),
        })
      : net.connect(proxyPort, proxyHost);
  let done = false;
  const finish = (error: Error | null, tunnelled?: net.Socket) => {
    if (done) return;
    done = true;
    socket.setTimeout(0);
    if (error) socket.destroy();
    callback(error, tunnelled);
  };
  socket.setTimeout(connectTimeoutMs, () =>
    finish(failure('the egress proxy did not answer CONNECT in time', 'ETIMEDOUT')),
  );
  socket.once('error', (error) => finish(error));
  socket.once('close', () =>
    finish(failure('the egress proxy closed the connection', 'ECONNRESET')),
  );

  const authority = net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
  const lines = [`CONNECT ${authority} HTTP/1.1`, `Host: ${authority}`];
  if (proxy.username !== '' || proxy.password !== '') {
    const credentials = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
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
    // Errors surface on the TLS socket made over the tunnel; one on the raw socket must not go
    // unhandled.
    socket.on('error', () => {});
    finish(null, socket);
  };
  socket.on('data', onData);
}
