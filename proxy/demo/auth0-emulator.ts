/**
 * A small emulator of Auth0's client-credentials token endpoint, for the demo (`npm start`) and
 * the gateway's integration tests. It reproduces the behaviour scopegate exists to fix: Auth0
 * answers a client-credentials request with EVERY scope granted to the client for the audience,
 * whatever subset was asked for (design.md, seeds/000_*). It also lets tests break the issued
 * tokens in the ways an attacker or a misconfigured IdP would (setFault), slow the endpoint down,
 * take the JWKS offline and rotate the signing key.
 *
 * Runtime code: node:http and jose only, no test-only packages.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK } from 'jose';
import {
  type DiagnosticLifecycle,
  handleEcho,
  handleSlow,
  handleStatus,
  handleStream,
} from './diagnostic-routes.js';
import {
  BodyTooLarge,
  extractCredentials,
  firstHeader,
  MAX_BODY_BYTES,
  parseTokenParams,
  readBody,
  secretsEqual,
  sendJson,
  splitScope,
} from './emulator-request.js';
import { encodeToken, faultClaims } from './token-faults.js';

export interface EmulatorClient {
  clientId: string;
  clientSecret: string;
  /** audience -> scopes granted to this client for that API */
  grants: Record<string, string[]>;
}

export type TokenFault =
  | 'none'
  | 'unknown_key'
  | 'wrong_issuer'
  | 'expired'
  | 'alg_none'
  | 'opaque'
  | 'embedded_jwk'
  | 'jku'
  | 'missing_exp'
  | 'bad_signature';

export interface Auth0EmulatorOptions {
  clients: EmulatorClient[];
  /** default 127.0.0.1 */
  host?: string;
  /** default 0: the OS picks a free port, read it back from `url` */
  port?: number;
  /** default 86400, Auth0's default for APIs */
  tokenLifetimeSeconds?: number;
  /** used when a request carries no `audience` (Auth0's tenant "Default Audience") */
  defaultAudience?: string;
}

export interface RecordedTokenRequest {
  contentType: string | undefined;
  params: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
}

export interface RunningAuth0Emulator {
  /** e.g. http://127.0.0.1:54321 (no trailing slash) */
  url: string;
  /** url + '/' (Auth0 issuers end with a slash) */
  issuer: string;
  /** url + '/.well-known/jwks.json' */
  jwksUri: string;
  /** url + '/oauth/token' */
  tokenEndpoint: string;
  /** where the `jku` fault points: an attacker-controlled JWKS that this emulator also serves */
  attackerJwksUri: string;
  /** test hook: how the next tokens are broken (sticky until changed) */
  setFault(fault: TokenFault): void;
  /** delay before answering /oauth/token (timeout tests) */
  setDelay(ms: number): void;
  /** false -> /.well-known/jwks.json answers 503 */
  setJwksAvailable(up: boolean): void;
  /** new signing key with a new kid; JWKS then publishes only the new key */
  rotateKey(): Promise<void>;
  /** kid of the key currently signing (and published) */
  currentKid(): string;
  /** how many requests reached /.well-known/jwks.json (including those answered 503) */
  jwksRequests(): number;
  /** how many requests reached the attacker JWKS (a gateway that follows `jku` fetches it) */
  attackerJwksRequests(): number;
  /** what reached /oauth/token, oldest first (for asserting what the gateway forwarded) */
  tokenRequests(): RecordedTokenRequest[];
  close(): Promise<void>;
}

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function newSigningKey(kidPrefix = ''): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  // Auth0 kids are opaque random strings; a fresh one per key makes rotation observable.
  const kid = `${kidPrefix}${randomBytes(16).toString('base64url')}`;
  const exported = await exportJWK(publicKey);
  return { kid, privateKey, publicJwk: publicMembers(exported, kid) };
}

/**
 * Copies only the public RSA members, so a private member can never leak into a published JWKS
 * even if the exported key were a private one.
 */
function publicMembers(jwk: JWK, kid: string): JWK {
  if (jwk.kty !== 'RSA' || typeof jwk.n !== 'string' || typeof jwk.e !== 'string') {
    throw new Error('expected an RSA public key');
  }
  return { kty: 'RSA', use: 'sig', alg: 'RS256', kid, n: jwk.n, e: jwk.e };
}

function sendOAuthError(
  res: ServerResponse,
  status: number,
  error: string,
  description: string,
): void {
  // Error responses from a token endpoint must not be cached either (RFC 6749 §5.2 by analogy).
  sendJson(
    res,
    status,
    { error, error_description: description },
    { 'cache-control': 'no-store', pragma: 'no-cache' },
  );
}

function formatUrlHost(address: AddressInfo): string {
  // A wildcard bind is reachable on loopback; a URL with 0.0.0.0 is not portable.
  if (address.address === '0.0.0.0') return '127.0.0.1';
  if (address.address === '::') return '[::1]';
  return address.family === 'IPv6' ? `[${address.address}]` : address.address;
}

export async function startAuth0Emulator(
  options: Auth0EmulatorOptions,
): Promise<RunningAuth0Emulator> {
  const host = options.host ?? '127.0.0.1';
  const lifetime = options.tokenLifetimeSeconds ?? 86_400;
  const clients = new Map(options.clients.map((c) => [c.clientId, c]));

  let signingKey = await newSigningKey();
  // One foreign key stands in for every attacker: never published in the real JWKS.
  const attackerKey = await newSigningKey('attacker-');
  let fault: TokenFault = 'none';
  let delayMs = 0;
  let jwksUp = true;
  let jwksCount = 0;
  let attackerJwksCount = 0;
  const recorded: RecordedTokenRequest[] = [];
  // Pending waits, so close() can cut them short instead of leaving handlers parked forever.
  const timers = new Map<NodeJS.Timeout, () => void>();
  let closed = false;

  // Filled in once the server is listening and the real port is known.
  let url = '';
  let issuer = '';

  const wait = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.set(timer, resolve);
    });
  // What the diagnostic routes need so that close() cuts their waits short and stops their writes.
  const lifecycle: DiagnosticLifecycle = { wait, closed: () => closed };

  async function issueAccessToken(
    clientId: string,
    audience: string,
    scopes: string[],
  ): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const claims: Record<string, unknown> = {
      iss: issuer,
      sub: `${clientId}@clients`,
      aud: audience,
      iat: now,
      exp: now + lifetime,
      azp: clientId,
      ...(scopes.length > 0 ? { scope: scopes.join(' ') } : {}),
      gty: 'client-credentials',
      // Auth0 adds this when RBAC "Add Permissions in the Access Token" is on.
      permissions: scopes,
    };
    return encodeToken(fault, faultClaims(fault, claims, now, lifetime), {
      signing: signingKey,
      attacker: attackerKey,
      attackerJwksUri: `${url}/attacker/jwks.json`,
    });
  }

  async function handleToken(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      sendOAuthError(res, 405, 'invalid_request', 'Method not allowed');
      return;
    }
    const contentType = firstHeader(req.headers['content-type']);
    const body = await readBody(req);
    const parsed = parseTokenParams(contentType, body);
    recorded.push({
      contentType,
      params: parsed.ok ? { ...parsed.params } : {},
      headers: { ...req.headers },
    });
    if (delayMs > 0) await wait(delayMs);
    if (closed || res.destroyed) return;

    if (!parsed.ok) {
      sendOAuthError(res, 400, 'invalid_request', parsed.reason);
      return;
    }
    const params = parsed.params;
    const grantType = params.grant_type;
    if (!grantType) {
      sendOAuthError(res, 400, 'invalid_request', 'Missing required parameter: grant_type');
      return;
    }
    if (grantType !== 'client_credentials') {
      sendOAuthError(res, 400, 'unsupported_grant_type', `Unsupported grant type: ${grantType}`);
      return;
    }

    const credentials = extractCredentials(req, params);
    if (!credentials.ok) {
      sendOAuthError(res, credentials.status, credentials.error, credentials.description);
      return;
    }
    const client = clients.get(credentials.clientId);
    if (!client || !secretsEqual(client.clientSecret, credentials.clientSecret)) {
      sendOAuthError(res, 401, 'access_denied', 'Unauthorized');
      return;
    }

    const audience = params.audience || options.defaultAudience;
    if (!audience) {
      sendOAuthError(
        res,
        403,
        'access_denied',
        'No audience parameter was provided, and no default audience has been configured',
      );
      return;
    }
    const granted = Object.hasOwn(client.grants, audience) ? client.grants[audience] : undefined;
    if (!granted) {
      sendOAuthError(
        res,
        403,
        'access_denied',
        `Client is not authorized to access "${audience}". You need to create a "client-grant" associated to this API. See: https://auth0.com/docs/api/v2#!/Client_Grants/post_client_grants`,
      );
      return;
    }

    const grantedSet = new Set(granted);
    const notGranted = splitScope(params.scope).filter((s) => !grantedSet.has(s));
    if (notGranted.length > 0) {
      sendOAuthError(
        res,
        403,
        'access_denied',
        `Client has not been granted scopes: ${[...new Set(notGranted)].join(' ')}`,
      );
      return;
    }

    // The seed's point: whatever subset was requested, the token carries everything granted.
    const scopes = [...grantedSet];
    const accessToken = await issueAccessToken(client.clientId, audience, scopes);
    sendJson(
      res,
      200,
      {
        access_token: accessToken,
        ...(scopes.length > 0 ? { scope: scopes.join(' ') } : {}),
        expires_in: lifetime,
        token_type: 'Bearer',
      },
      { 'cache-control': 'no-store', pragma: 'no-cache' },
    );
  }

  function discovery(): Record<string, unknown> {
    return {
      issuer,
      authorization_endpoint: `${url}/authorize`,
      token_endpoint: `${url}/oauth/token`,
      device_authorization_endpoint: `${url}/oauth/device/code`,
      userinfo_endpoint: `${url}/userinfo`,
      jwks_uri: `${url}/.well-known/jwks.json`,
      revocation_endpoint: `${url}/oauth/revoke`,
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
      response_types_supported: ['code', 'token', 'id_token', 'code token', 'code id_token'],
      // Only what this emulator actually implements, so nobody is misled into trying more.
      grant_types_supported: ['client_credentials'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['HS256', 'RS256', 'PS256'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      code_challenge_methods_supported: ['S256', 'plain'],
    };
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const parsedUrl = new URL(req.url ?? '/', 'http://emulator.invalid');
    const path = parsedUrl.pathname;

    if (path === '/oauth/token') return handleToken(req, res);
    if (path === '/.well-known/jwks.json') {
      jwksCount++;
      if (!jwksUp) {
        sendJson(res, 503, { error: 'temporarily_unavailable' }, { 'retry-after': '1' });
        return;
      }
      // Same caching policy Auth0 sends with its JWKS.
      sendJson(
        res,
        200,
        { keys: [signingKey.publicJwk] },
        { 'cache-control': 'public, max-age=15, stale-while-revalidate=15, stale-if-error=86400' },
      );
      return;
    }
    if (path === '/attacker/jwks.json') {
      attackerJwksCount++;
      sendJson(res, 200, { keys: [attackerKey.publicJwk] });
      return;
    }
    if (path === '/.well-known/openid-configuration') {
      sendJson(res, 200, discovery());
      return;
    }
    if (path.startsWith('/api/echo')) return handleEcho(req, res);
    if (path === '/api/slow') return handleSlow(lifecycle, res, parsedUrl.searchParams);
    if (path === '/api/stream') return handleStream(lifecycle, res, parsedUrl.searchParams);
    const status = /^\/api\/status\/([^/]+)$/.exec(path);
    if (status?.[1]) return handleStatus(req, res, status[1]);

    // Drain any body so a keep-alive connection stays usable after the 404.
    req.resume();
    sendJson(res, 404, { error: 'not_found', error_description: `No route for ${path}` });
  }

  const server = createServer((req, res) => {
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
    server.listen(options.port ?? 0, host, () => {
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
    attackerJwksUri: `${url}/attacker/jwks.json`,
    setFault(next) {
      fault = next;
    },
    setDelay(ms) {
      delayMs = Math.max(0, ms);
    },
    setJwksAvailable(up) {
      jwksUp = up;
    },
    async rotateKey() {
      signingKey = await newSigningKey();
    },
    currentKid: () => signingKey.kid,
    jwksRequests: () => jwksCount,
    attackerJwksRequests: () => attackerJwksCount,
    tokenRequests: () => recorded.map((r) => ({ ...r, params: { ...r.params } })),
    close() {
      if (closed) return Promise.resolve();
      closed = true;
      for (const [timer, release] of timers) {
        clearTimeout(timer);
        release();
      }
      timers.clear();
      return new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // Keep-alive sockets would otherwise hold close() open until they time out.
        server.closeAllConnections();
      });
    },
  };
}
