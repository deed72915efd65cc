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
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, SignJWT, UnsecuredJWT } from 'jose';

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

const MAX_BODY_BYTES = 64 * 1024;
// Past this we stop draining and drop the connection: a test emulator needn't absorb floods.
const MAX_DRAIN_BYTES = 16 * 1024 * 1024;
const MAX_WAIT_MS = 60_000;
const MAX_STREAM_CHUNKS = 1000;
const STREAM_CHUNK_DELAY_MS = 10;
const EVIL_ISSUER = 'https://evil.example/';

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

class BodyTooLarge extends Error {}

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

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string | string[]> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
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

/**
 * Reads the whole body. Beyond the cap it keeps draining (so the client gets to read our 413
 * instead of a reset connection while still uploading) and rejects at the end.
 */
function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_DRAIN_BYTES) {
        req.destroy();
        reject(new BodyTooLarge());
        return;
      }
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) reject(new BodyTooLarge());
      else resolve(Buffer.concat(chunks));
    });
    req.on('error', reject);
  });
}

type ParsedParams = { ok: true; params: Record<string, string> } | { ok: false; reason: string };

function parseTokenParams(contentType: string | undefined, body: Buffer): ParsedParams {
  const mediaType = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  const text = body.toString('utf8');
  if (mediaType === 'application/x-www-form-urlencoded') {
    const params: Record<string, string> = {};
    for (const [key, value] of new URLSearchParams(text)) {
      // First occurrence wins; Auth0 does not document duplicates and the gateway rejects them.
      if (!(key in params)) params[key] = value;
    }
    return { ok: true, params };
  }
  if (mediaType === 'application/json') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return { ok: false, reason: 'Invalid JSON body' };
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      return { ok: false, reason: 'Invalid JSON body' };
    }
    const params: Record<string, string> = {};
    for (const [key, value] of Object.entries(parsed)) {
      if (typeof value === 'string') params[key] = value;
      else if (typeof value === 'number' || typeof value === 'boolean') params[key] = String(value);
      else return { ok: false, reason: `Invalid value for parameter: ${key}` };
    }
    return { ok: true, params };
  }
  return {
    ok: false,
    reason: 'Content-Type must be application/x-www-form-urlencoded or application/json',
  };
}

/** Decodes one half of a Basic credential; RFC 6749 §2.3.1 form-encodes id and secret. */
function decodeBasicPart(part: string): string {
  try {
    return decodeURIComponent(part.replace(/\+/g, ' '));
  } catch {
    return part;
  }
}

type Credentials =
  | { ok: true; clientId: string; clientSecret: string }
  | { ok: false; status: number; error: string; description: string };

function extractCredentials(req: IncomingMessage, params: Record<string, string>): Credentials {
  const unauthorized: Credentials = {
    ok: false,
    status: 401,
    error: 'access_denied',
    description: 'Unauthorized',
  };
  const authorization = req.headers.authorization;
  if (authorization !== undefined) {
    const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization);
    if (!match?.[1]) return unauthorized;
    const decoded = Buffer.from(match[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return unauthorized;
    if (params.client_secret !== undefined) {
      // RFC 6749 §2.3: a client must not use more than one authentication method per request.
      return {
        ok: false,
        status: 400,
        error: 'invalid_request',
        description: 'Only one client authentication method may be used',
      };
    }
    const clientId = decodeBasicPart(decoded.slice(0, colon));
    if (params.client_id !== undefined && params.client_id !== clientId) return unauthorized;
    return { ok: true, clientId, clientSecret: decodeBasicPart(decoded.slice(colon + 1)) };
  }
  if (!params.client_id || !params.client_secret) return unauthorized;
  return { ok: true, clientId: params.client_id, clientSecret: params.client_secret };
}

/** Constant-time comparison; hashing first equalises the lengths timingSafeEqual requires. */
function secretsEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

function splitScope(scope: string | undefined): string[] {
  return (scope ?? '').split(' ').filter((s) => s.length > 0);
}

function formatUrlHost(address: AddressInfo): string {
  // A wildcard bind is reachable on loopback; a URL with 0.0.0.0 is not portable.
  if (address.address === '0.0.0.0') return '127.0.0.1';
  if (address.address === '::') return '[::1]';
  return address.family === 'IPv6' ? `[${address.address}]` : address.address;
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
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

  async function issueAccessToken(clientId: string, audience: string, scopes: string[]) {
    const now = Math.floor(Date.now() / 1000);
    const claims: Record<string, unknown> = {
      iss: fault === 'wrong_issuer' ? EVIL_ISSUER : issuer,
      sub: `${clientId}@clients`,
      aud: audience,
      iat: fault === 'expired' ? now - lifetime - 3600 : now,
      exp: fault === 'expired' ? now - 3600 : now + lifetime,
      azp: clientId,
      ...(scopes.length > 0 ? { scope: scopes.join(' ') } : {}),
      gty: 'client-credentials',
      // Auth0 adds this when RBAC "Add Permissions in the Access Token" is on.
      permissions: scopes,
    };
    if (fault === 'missing_exp') delete claims.exp;

    switch (fault) {
      case 'opaque':
        return randomBytes(32).toString('base64url');
      case 'alg_none':
        return new UnsecuredJWT(claims).encode();
      case 'unknown_key':
        return new SignJWT(claims)
          .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: attackerKey.kid })
          .sign(attackerKey.privateKey);
      case 'embedded_jwk':
        return new SignJWT(claims)
          .setProtectedHeader({
            alg: 'RS256',
            typ: 'JWT',
            kid: attackerKey.kid,
            jwk: attackerKey.publicJwk,
          })
          .sign(attackerKey.privateKey);
      case 'jku':
        return new SignJWT(claims)
          .setProtectedHeader({
            alg: 'RS256',
            typ: 'JWT',
            kid: attackerKey.kid,
            jku: `${url}/attacker/jwks.json`,
          })
          .sign(attackerKey.privateKey);
      default: {
        const token = await new SignJWT(claims)
          .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: signingKey.kid })
          .sign(signingKey.privateKey);
        return fault === 'bad_signature' ? corruptSignature(token) : token;
      }
    }
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

  async function handleEcho(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const body = await readBody(req);
    sendJson(res, 200, {
      method: req.method,
      path: q < 0 ? rawUrl : rawUrl.slice(0, q),
      query: q < 0 ? '' : rawUrl.slice(q),
      headers: req.headers,
      body: body.toString('utf8'),
    });
  }

  async function handleSlow(res: ServerResponse, search: URLSearchParams): Promise<void> {
    const ms = Math.min(Math.max(Number(search.get('ms') ?? '0') || 0, 0), MAX_WAIT_MS);
    await wait(ms);
    if (closed || res.destroyed) return;
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': 4 });
    res.end('slow');
  }

  async function handleStream(res: ServerResponse, search: URLSearchParams): Promise<void> {
    const requested = Math.trunc(Number(search.get('chunks') ?? '5') || 0);
    const chunks = Math.min(Math.max(requested, 0), MAX_STREAM_CHUNKS);
    // No content-length: node then uses Transfer-Encoding: chunked.
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'x-emulator': 'yes' });
    res.flushHeaders();
    for (let i = 0; i < chunks; i++) {
      if (closed || res.destroyed) return;
      res.write(`chunk ${i}\n`);
      await wait(STREAM_CHUNK_DELAY_MS);
    }
    if (!res.destroyed) res.end();
  }

  function handleStatus(req: IncomingMessage, res: ServerResponse, codeText: string): void {
    const code = Number(codeText);
    if (!/^[0-9]{3}$/.test(codeText) || code < 200 || code > 599) {
      sendJson(res, 400, { error: 'invalid_request', error_description: 'status must be 200-599' });
      return;
    }
    const headers = {
      'x-emulator': 'yes',
      'set-cookie': 'emulator=yes; Path=/; HttpOnly',
    };
    // These statuses may not carry a body (RFC 9110 §15.3.5, §15.4.5).
    if (code === 204 || code === 304 || req.method === 'HEAD') {
      res.writeHead(code, headers);
      res.end();
      return;
    }
    sendJson(res, code, { status: code }, headers);
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
    if (path === '/api/slow') return handleSlow(res, parsedUrl.searchParams);
    if (path === '/api/stream') return handleStream(res, parsedUrl.searchParams);
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

/**
 * Flips bits in the last signature byte. Editing the last base64url character alone is not
 * enough: for a 256-byte RSA signature its low bits are padding a decoder ignores.
 */
function corruptSignature(token: string): string {
  const dot = token.lastIndexOf('.');
  const signature = Buffer.from(token.slice(dot + 1), 'base64url');
  const last = signature.length - 1;
  signature[last] = (signature[last] ?? 0) ^ 0xff;
  return `${token.slice(0, dot + 1)}${signature.toString('base64url')}`;
}
