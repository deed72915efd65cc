/**
 * A small Auth0-like upstream for the demo (`npm start`, `scopegate demo`): the client-credentials
 * token endpoint (see demo-token-endpoint.ts), its JWKS and its discovery document, and nothing
 * else. Test fixtures extend it through DemoUpstreamHooks (test/fixtures/auth0-emulator/); the
 * product itself ships no fault injection.
 *
 * Runtime code: node:http and jose only.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT } from 'jose';
import { nodeHttp } from '../http/node-http.js';
import { type DemoSigningKey, newDemoSigningKey } from './demo-keys.js';
import { BodyTooLarge, MAX_BODY_BYTES, sendJson } from './demo-request.js';
import { type DemoClient, handleDemoToken, type SeenTokenRequest } from './demo-token-endpoint.js';

export interface DemoUpstreamOptions {
  clients: DemoClient[];
  /** default 127.0.0.1 */
  host?: string;
  /** default 0: the OS picks a free port, read it back from `url` */
  port?: number;
  /** default 86400, Auth0's default for APIs */
  tokenLifetimeSeconds?: number;
  /** used when a request carries no `audience` (Auth0's tenant "Default Audience") */
  defaultAudience?: string;
}

/** Where a wrapper (a test fixture) takes part; every hook is optional. */
export interface DemoUpstreamHooks {
  /** Answers a request before the demo's own routes do; returns true when it did. */
  intercept?(req: IncomingMessage, res: ServerResponse, url: URL): boolean | Promise<boolean>;
  /** Sees each token request once read; the answer waits for it. */
  onTokenRequest?(seen: SeenTokenRequest): void | Promise<void>;
  /** The key that signs and is published (default: one generated at start). */
  currentKey?(): DemoSigningKey;
  /** Encodes the access token (default: RS256 with the current key). */
  encodeAccessToken?(claims: Record<string, unknown>, key: DemoSigningKey): Promise<string>;
}

export interface RunningDemoUpstream {
  /** e.g. http://127.0.0.1:54321 (no trailing slash) */
  url: string;
  /** url + '/' (Auth0 issuers end with a slash) */
  issuer: string;
  /** url + '/.well-known/jwks.json' */
  jwksUri: string;
  /** url + '/oauth/token' */
  tokenEndpoint: string;
  close(): Promise<void>;
}

function signWith(claims: Record<string, unknown>, key: DemoSigningKey): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: key.kid })
    .sign(key.privateKey);
}

function formatUrlHost(address: AddressInfo): string {
  // A wildcard bind is reachable on loopback; a URL with 0.0.0.0 is not portable.
  if (address.address === '0.0.0.0') return '127.0.0.1';
  if (address.address === '::') return '[::1]';
  return address.family === 'IPv6' ? `[${address.address}]` : address.address;
}

function discovery(url: string, issuer: string): Record<string, unknown> {
  return {
    issuer,
    // Only the endpoints this upstream serves: Auth0 also lists authorize, device, userinfo and
    // revoke, which here (and so through scopegate's document) would answer 404.
    token_endpoint: `${url}/oauth/token`,
    jwks_uri: `${url}/.well-known/jwks.json`,
    scopes_supported: [
      'openid',
      'profile',
      'offline_access',
      'name',
      'given_name',
      'family_name',
      'nickname',
      'email',
      'email_verified',
      'picture',
      'created_at',
      'identities',
      'phone',
      'address',
    ],
    // Required by the metadata specifications; there is no authorization endpoint to answer any.
    response_types_supported: [],
    // Only what this upstream actually implements, so nobody is misled into trying more.
    grant_types_supported: ['client_credentials'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['HS256', 'RS256', 'PS256'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
  };
}

export async function startDemoUpstream(
  options: DemoUpstreamOptions,
  hooks: DemoUpstreamHooks = {},
): Promise<RunningDemoUpstream> {
  const ownKey = await newDemoSigningKey();
  const currentKey = hooks.currentKey ?? (() => ownKey);
  const encode = hooks.encodeAccessToken ?? signWith;
  let closing = false;
  // Filled in once the server is listening and the real port is known.
  let url = '';
  let issuer = '';

  const tokenEndpoint = {
    clients: new Map(options.clients.map((c) => [c.clientId, c])),
    defaultAudience: options.defaultAudience,
    lifetimeSeconds: options.tokenLifetimeSeconds ?? 86_400,
    ...(hooks.onTokenRequest ? { onTokenRequest: hooks.onTokenRequest } : {}),
    issue: (claims: Record<string, unknown>) => encode(claims, currentKey()),
    issuer: () => issuer,
    closing: () => closing,
  };

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const parsedUrl = new URL(req.url ?? '/', 'http://demo-upstream.invalid');
    if (hooks.intercept && (await hooks.intercept(req, res, parsedUrl))) return;
    const path = parsedUrl.pathname;
    if (path === '/oauth/token') return handleDemoToken(tokenEndpoint, req, res);
    if (path === '/.well-known/jwks.json') {
      // Same caching policy Auth0 sends with its JWKS.
      sendJson(
        res,
        200,
        { keys: [currentKey().publicJwk] },
        { 'cache-control': 'public, max-age=15, stale-while-revalidate=15, stale-if-error=86400' },
      );
      return;
    }
    if (path === '/.well-known/openid-configuration') {
      sendJson(res, 200, discovery(url, issuer));
      return;
    }
    // Drain any body so a keep-alive connection stays usable after the 404.
    req.resume();
    sendJson(res, 404, { error: 'not_found', error_description: `No route for ${path}` });
  }

  const server = nodeHttp.createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      if (res.headersSent || res.destroyed) {
        res.destroy();
        return;
      }
      if (err instanceof BodyTooLarge) {
        sendJson(res, 413, {
          error: 'invalid_request',
          error_description: `Request body exceeds ${MAX_BODY_BYTES} bytes`,
        });
        return;
      }
      sendJson(res, 500, { error: 'server_error', error_description: String(err) });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  url = `http://${formatUrlHost(address)}:${address.port}`;
  issuer = `${url}/`;

  return {
    url,
    issuer,
    jwksUri: `${url}/.well-known/jwks.json`,
    tokenEndpoint: `${url}/oauth/token`,
    close() {
      if (closing) return Promise.resolve();
      closing = true;
      return new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // Keep-alive sockets would otherwise hold close() open until they time out.
        server.closeAllConnections();
      });
    },
  };
}
