/**
 * An ingress that terminates TLS in front of scopegate, as Envoy does: it asks every client for a
 * certificate (any, like an ingress with `verify_client optional_no_ca`; or, given a CA, only one
 * that CA issued, the handshake failing otherwise, like `require_client_certificate`), and
 * forwards each request over plain HTTP with the certificate in `X-Forwarded-Client-Cert`
 * (`Hash` and `Cert`, the PEM URL-encoded), replacing whatever XFCC the client sent (Envoy's
 * `SANITIZE_SET`). A real forward hop on port 0, so scopegate sees the ingress as its peer.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { KeyPair } from './mtls-pki.js';

export interface ForwardingProxy {
  /** https://127.0.0.1:port */
  url: string;
  close(): Promise<void>;
}

/** The XFCC element for a peer certificate, as Envoy writes it (`Hash`, then `Cert`). */
export function xfccElement(pem: string, der: Buffer): string {
  const hash = createHash('sha256').update(der).digest('hex');
  return `Hash=${hash};Cert="${encodeURIComponent(pem)}"`;
}

export async function startForwardingProxy(
  server: KeyPair,
  target: string,
  /** The CA client certificates must chain to; without one, any certificate is forwarded. */
  clientCa?: string,
): Promise<ForwardingProxy> {
  const backend = new URL(target);
  const proxy = https.createServer(
    {
      cert: server.cert,
      key: server.key,
      requestCert: true,
      rejectUnauthorized: clientCa !== undefined,
      ...(clientCa === undefined ? {} : { ca: clientCa }),
    },
    (req, res) => {
      const headers = { ...req.headers };
      delete headers['x-forwarded-client-cert'];
      const peer = (req.socket as TLSSocket).getPeerX509Certificate();
      if (peer !== undefined) {
        headers['x-forwarded-client-cert'] = xfccElement(peer.toString(), peer.raw);
      }
      const upstream = http.request(
        {
          host: backend.hostname,
          port: backend.port,
          method: req.method,
          path: req.url,
          headers,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => {
        res.writeHead(502).end();
      });
      req.pipe(upstream);
    },
  );
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const { port } = proxy.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        proxy.closeAllConnections();
        proxy.close(() => resolve());
      }),
  };
}
