/**
 * A recording upstream: every request it receives is kept as it arrived on the wire (method,
 * target, headers, body). It serves a discovery document naming its token endpoint and answers
 * the token endpoint with a marker token, so tests can assert both that a request never reached
 * it and that its token never reached a client.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The upstream's own, unnarrowed token: it must never appear in anything a client receives. */
export const RAW_UPSTREAM_TOKEN = 'UPSTREAM-RAW-TOKEN-4f1c';

export interface RecordedRequest {
  method: string;
  /** The request target exactly as the upstream received it. */
  target: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface RecordingUpstream {
  url: string;
  requests: RecordedRequest[];
  /** The requests carrying `x-request-id: id`. */
  byRequestId(id: string): RecordedRequest[];
  close(): Promise<void>;
}

export interface RecordingUpstreamOptions {
  /** The token endpoint path its discovery document names (default /oauth/token). */
  tokenPath?: string;
  /** Where it serves its discovery document (default /.well-known/openid-configuration). */
  discoveryPath?: string;
  /** Extra members of its discovery document (given its URL). */
  discovery?: Record<string, unknown> | ((url: string) => Record<string, unknown>);
}

export async function startRecordingUpstream(
  options: RecordingUpstreamOptions = {},
): Promise<RecordingUpstream> {
  const tokenPath = options.tokenPath ?? '/oauth/token';
  const discoveryPath = options.discoveryPath ?? '/.well-known/openid-configuration';
  const requests: RecordedRequest[] = [];
  let url = '';
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const target = req.url ?? '';
      requests.push({
        method: req.method ?? '',
        target,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (target === discoveryPath) {
        send(200, {
          issuer: url,
          jwks_uri: `${url}/jwks`,
          token_endpoint: `${url}${tokenPath}`,
          ...(typeof options.discovery === 'function' ? options.discovery(url) : options.discovery),
        });
      } else if (target.split('?')[0] === tokenPath) {
        send(200, { access_token: RAW_UPSTREAM_TOKEN, token_type: 'Bearer', expires_in: 60 });
      } else {
        send(200, { received: target });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests,
    byRequestId: (id) => requests.filter((request) => request.headers['x-request-id'] === id),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
