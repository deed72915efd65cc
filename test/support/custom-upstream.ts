/**
 * A tiny programmable IdP for the cases the Auth0 emulator and oidc-provider cannot produce:
 * refresh_token grants, tokens for an audience other than the one asked for, upstream claims that
 * try to override reserved ones, foreign algorithms. Real HTTP (node:http, port 0) and real
 * signatures (jose); each test decides what the token endpoint answers.
 */
import { constants, KeyObject, randomBytes, sign as signBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type CryptoKey,
  exportJWK,
  generateKeyPair,
  type JWK,
  type JWSHeaderParameters,
  type JWTPayload,
  SignJWT,
} from 'jose';

export type CustomSigningAlg = 'RS256' | 'ES256' | 'PS256' | 'EdDSA';

export interface CustomTokenRequest {
  params: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** The query of a request to one of `routes` (an authorization endpoint reads it). */
  query?: Record<string, string>;
}

export interface CustomTokenAnswer {
  status?: number;
  /** A Buffer is sent as is (e.g. already content-encoded); a string as is; anything else as JSON. */
  body: unknown;
  headers?: Record<string, string>;
}

export type CustomTokenHandler = (
  request: CustomTokenRequest,
  upstream: CustomUpstream,
) => Promise<CustomTokenAnswer> | CustomTokenAnswer;

export interface CustomUpstreamOptions {
  /** Algorithm of the published signing key; default RS256. */
  alg?: CustomSigningAlg;
  handler?: CustomTokenHandler;
  /** Other endpoints (userinfo, introspection, ...) by path, any method; the query is in `query`. */
  routes?: Record<string, CustomTokenHandler>;
  /** Members added to the discovery document (e.g. the endpoints in `routes`), given its URL. */
  document?: (url: string) => Record<string, unknown>;
}

export interface SignOptions {
  /** Extra or overriding protected header members. */
  header?: Partial<JWSHeaderParameters>;
  /** Sign with this key instead of the published one (e.g. an HMAC secret). */
  key?: CryptoKey | Uint8Array;
}

export interface CustomUpstream {
  url: string;
  issuer: string;
  tokenPath: string;
  jwksUri: string;
  kid: string;
  alg: CustomSigningAlg;
  /** The published public key as a JWK (what an attacker can also read). */
  publicJwk: JWK;
  /** Signs claims with the published key; iss and iat are filled in unless given. */
  sign(claims: JWTPayload, options?: SignOptions): Promise<string>;
  /**
   * Signs the exact header and payload JSON texts given (e.g. with a repeated member, which no
   * JSON serialiser writes) with the published key: a correctly signed hostile token.
   */
  signRaw(headerJson: string, payloadJson: string): string;
  /** A token response body around a freshly signed access token. */
  tokenResponse(claims: JWTPayload, extra?: Record<string, unknown>): Promise<CustomTokenAnswer>;
  setHandler(handler: CustomTokenHandler): void;
  /** Every token request received, oldest first. */
  requests: CustomTokenRequest[];
  close(): Promise<void>;
}

const DEFAULT_HANDLER: CustomTokenHandler = (_request, upstream) =>
  upstream.tokenResponse({ sub: 'client@clients', client_id: 'client', scope: 'a b c' });

export async function startCustomUpstream(
  options: CustomUpstreamOptions = {},
): Promise<CustomUpstream> {
  const alg = options.alg ?? 'RS256';
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const kid = `custom-${randomBytes(6).toString('base64url')}`;
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  let handler = options.handler ?? DEFAULT_HANDLER;
  const requests: CustomTokenRequest[] = [];
  let issuer = '';
  let url = '';

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://custom.invalid').pathname;
      const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        const text =
          typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(text);
      };
      if (path === '/.well-known/openid-configuration') {
        send(200, {
          issuer,
          jwks_uri: `${url}/jwks`,
          token_endpoint: `${url}/oauth/token`,
          grant_types_supported: ['client_credentials', 'refresh_token'],
          ...options.document?.(url),
        });
        return;
      }
      const route = options.routes?.[path];
      if (route !== undefined) {
        const text = Buffer.concat(chunks).toString('utf8');
        const request = {
          params: Object.fromEntries(new URLSearchParams(text)),
          headers: req.headers,
          query: Object.fromEntries(new URL(req.url ?? '/', 'http://custom.invalid').searchParams),
        };
        Promise.resolve(route(request, upstream)).then(
          (answer) => send(answer.status ?? 200, answer.body, answer.headers),
          (error: unknown) =>
            send(500, { error: 'server_error', error_description: String(error) }),
        );
        return;
      }
      if (path === '/jwks') {
        send(200, { keys: [publicJwk] });
        return;
      }
      if (path === '/oauth/token' && req.method === 'POST') {
        const text = Buffer.concat(chunks).toString('utf8');
        const params = (req.headers['content-type'] ?? '').startsWith('application/json')
          ? (JSON.parse(text) as Record<string, string>)
          : Object.fromEntries(new URLSearchParams(text));
        const request = { params, headers: req.headers };
        requests.push(request);
        Promise.resolve(handler(request, upstream)).then(
          (answer) => send(answer.status ?? 200, answer.body, answer.headers),
          (error: unknown) =>
            send(500, { error: 'server_error', error_description: String(error) }),
        );
        return;
      }
      send(404, { error: 'not_found' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  issuer = `${url}/`;

  const upstream: CustomUpstream = {
    url,
    issuer,
    tokenPath: '/oauth/token',
    jwksUri: `${url}/jwks`,
    kid,
    alg,
    publicJwk,
    requests,
    async sign(claims, signOptions = {}) {
      const now = Math.floor(Date.now() / 1000);
      const header = { alg, kid, typ: 'at+jwt', ...signOptions.header } as JWSHeaderParameters;
      return new SignJWT({ iss: issuer, iat: now, exp: now + 3600, ...claims })
        .setProtectedHeader(header as JWSHeaderParameters & { alg: string })
        .sign(signOptions.key ?? privateKey);
    },
    signRaw(headerJson, payloadJson) {
      const input = `${Buffer.from(headerJson).toString('base64url')}.${Buffer.from(payloadJson).toString('base64url')}`;
      const key = KeyObject.from(privateKey as CryptoKey);
      const data = Buffer.from(input);
      const signature =
        alg === 'EdDSA'
          ? signBytes(null, data, key)
          : alg === 'ES256'
            ? signBytes('sha256', data, { key, dsaEncoding: 'ieee-p1363' })
            : alg === 'PS256'
              ? signBytes('sha256', data, {
                  key,
                  padding: constants.RSA_PKCS1_PSS_PADDING,
                  saltLength: 32,
                })
              : signBytes('sha256', data, key);
      return `${input}.${signature.toString('base64url')}`;
    },
    async tokenResponse(claims, extra = {}) {
      const token = await upstream.sign(claims);
      return {
        body: { access_token: token, token_type: 'Bearer', expires_in: 3600, ...extra },
        headers: { 'cache-control': 'no-store' },
      };
    },
    setHandler(next) {
      handler = next;
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
  return upstream;
}
