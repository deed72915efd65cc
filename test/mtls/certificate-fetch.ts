/**
 * A `fetch` over node:https that trusts the test CA and presents a client certificate, for
 * clients that take a fetch of their own (openid-client's and oauth4webapi's `customFetch`), as
 * an application would with an undici Agent holding its certificate; node:https keeps the test
 * free of the gateway's own HTTP client and lets it choose the local address (a peer that is not
 * a trusted proxy). It never follows redirects: a browser hop is the caller's.
 */
import http from 'node:http';
import https from 'node:https';
import * as client from 'openid-client';
import type { KeyPair } from './mtls-pki.js';

export interface CertificateFetchOptions {
  /** The CA the server's certificate is checked against. */
  ca: string;
  /** The client certificate and key to present, if any. */
  client?: KeyPair | undefined;
  /** The local address to connect from (127.0.0.2: a peer that is not a trusted proxy). */
  localAddress?: string;
}

/** A fetch whose every request presents `options.client`. */
export function certificateFetch(options: CertificateFetchOptions) {
  return async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    const body = request.body === null ? undefined : Buffer.from(await request.arrayBuffer());
    const headers = Object.fromEntries(request.headers);
    return new Promise<Response>((resolve, reject) => {
      const settings = {
        method: request.method,
        headers: body === undefined ? headers : { ...headers, 'content-length': body.length },
        agent: false as const,
        ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
      };
      const onResponse = (res: http.IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const answer = new Headers();
          for (const [name, value] of Object.entries(res.headersDistinct)) {
            for (const item of value ?? []) answer.append(name, item);
          }
          const empty = status === 204 || status === 304;
          resolve(new Response(empty ? null : Buffer.concat(chunks), { status, headers: answer }));
        });
        res.on('error', reject);
      };
      const req =
        url.protocol === 'https:'
          ? https.request(
              url,
              {
                ...settings,
                ca: options.ca,
                ...(options.client === undefined
                  ? {}
                  : { cert: options.client.cert, key: options.client.key }),
              },
              onResponse,
            )
          : http.request(url, settings, onResponse);
      req.on('error', reject);
      req.end(body);
    });
  };
}

/**
 * openid-client configured from scopegate's discovery, presenting `options.client` on every
 * request it makes (discovery included) and authenticating with `auth`.
 */
export async function certificateClient(
  issuer: string,
  clientId: string,
  auth: client.ClientAuth,
  options: CertificateFetchOptions,
): Promise<client.Configuration> {
  const fetcher = certificateFetch(options) as client.CustomFetch;
  const config = await client.discovery(new URL(issuer), clientId, undefined, auth, {
    [client.customFetch]: fetcher,
  });
  config[client.customFetch] = fetcher;
  return config;
}
