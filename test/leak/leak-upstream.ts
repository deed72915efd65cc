/**
 * The leak oracle's upstream: a real OIDC-shaped IdP on port 0 (its own RS256 key, JWKS,
 * discovery document, token, authorization, PAR, logout, userinfo, introspection and revocation
 * endpoints) that grants more than it is asked for, as real IdPs do, and that a test can arm to
 * answer one endpoint with a chosen carrier: its tokens and unnarrowed claims in the status line,
 * a header, a redirect, a form_post page, a JSON or error body in any encoding.
 *
 * Every token it issues goes into the ledger (token-ledger.ts), so the oracle can recognise any
 * piece of one wherever it turns up. Endpoints are matched leniently (any case, percent-encoded,
 * trailing slash), as lenient servers do: a spelling scopegate forwards instead of intercepting
 * reaches the endpoint anyway.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { type TokenKind, TokenLedger } from './token-ledger.js';
import {
  AUTHZ_DETAIL,
  authorizationClaims,
  GRANTED_SCOPES,
  identityClaims,
  ROLE,
} from './wide-claims.js';

export const SUBJECT = 'user-leak-1';

export type UpstreamEndpoint =
  | 'token'
  | 'authorize'
  | 'par'
  | 'logout'
  | 'userinfo'
  | 'introspection'
  | 'revocation'
  | 'other';

const PATHS: Record<Exclude<UpstreamEndpoint, 'other'>, string> = {
  token: '/oauth/token',
  authorize: '/authorize',
  par: '/par',
  logout: '/logout',
  userinfo: '/userinfo',
  introspection: '/introspect',
  revocation: '/revoke',
};

/** What the upstream writes, byte for byte (headers in order; a list repeats the header). */
export interface RawAnswer {
  status: number;
  reason?: string;
  headers?: Array<[string, string]>;
  body?: Buffer;
  /** Sent with chunked framing instead of a content-length. */
  chunked?: boolean;
}

export interface IssuedTokens {
  access: string;
  id: string;
  refresh: string;
}

export interface UpstreamRequest {
  endpoint: UpstreamEndpoint;
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  params: URLSearchParams;
  /** The client the request authenticates as (Basic or client_id), default `web`. */
  clientId: string;
}

/** How the tokens the upstream issues look (wider than usual, per carrier). */
export interface TokenShape {
  /** The access token also carries the user's identity claims (Keycloak does). */
  accessIdentity?: boolean;
  /** The ID token carries identity and authorization claims and the full scope. */
  wideIdToken?: boolean;
}

/** An armed answer; `usual` is what the endpoint would have answered (for header carriers). */
export type Armed = (
  request: UpstreamRequest,
  tokens: IssuedTokens,
  usual: () => Promise<RawAnswer>,
) => RawAnswer | Promise<RawAnswer>;

export interface LeakUpstream {
  url: string;
  issuer: string;
  ledger: TokenLedger;
  /** A token only the discovery document's vendor fields carry. */
  discoveryToken: string;
  shape: TokenShape;
  /** The next requests to `endpoint` get `answer`'s bytes; the others behave as usual. */
  arm(endpoint: UpstreamEndpoint, answer: Armed): void;
  disarm(): void;
  /** How many times the armed answer was served since arming. */
  delivered: number;
  close(): Promise<void>;
}

function endpointOf(path: string): UpstreamEndpoint {
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return 'other';
  }
  const loose = decoded
    .toLowerCase()
    .replace(/\/+$/, '')
    .replace(/\/{2,}/g, '/');
  for (const [endpoint, known] of Object.entries(PATHS)) {
    if (loose === known) return endpoint as UpstreamEndpoint;
  }
  return 'other';
}

function clientOf(headers: IncomingHttpHeaders, params: URLSearchParams): string {
  const basic = /^Basic\s+(.+)$/i.exec(headers.authorization ?? '');
  if (basic?.[1] !== undefined) {
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
    return decodeURIComponent(decoded.split(':')[0] ?? 'web');
  }
  return params.get('client_id') ?? 'web';
}

function paramsOf(req: IncomingMessage, body: Buffer): URLSearchParams {
  const params = new URLSearchParams(new URL(req.url ?? '/', 'http://x').search);
  const type = String(req.headers['content-type'] ?? '');
  const text = body.toString('utf8');
  if (type.startsWith('application/json')) {
    try {
      for (const [name, value] of Object.entries(JSON.parse(text) as Record<string, unknown>)) {
        params.append(name, String(value));
      }
    } catch {
      // not JSON after all: no parameters
    }
  } else if (text !== '') {
    for (const [name, value] of new URLSearchParams(text)) params.append(name, value);
  }
  return params;
}

const json = (status: number, body: unknown): RawAnswer => ({
  status,
  headers: [['content-type', 'application/json']],
  body: Buffer.from(JSON.stringify(body)),
});

export async function startLeakUpstream(): Promise<LeakUpstream> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  // The kid opens every protected header: random from the first window on (token-ledger.ts).
  const kid = randomBytes(12).toString('base64url');
  const publicJwk = { kid, ...(await exportJWK(publicKey)), alg: 'RS256', use: 'sig' };
  const ledger = new TokenLedger();
  let url = '';
  let armed: { endpoint: UpstreamEndpoint; answer: Armed } | undefined;

  const sign = async (claims: JWTPayload, typ: string, kind: TokenKind): Promise<string> => {
    const now = Math.floor(Date.now() / 1000);
    // A random jti opens every payload: scopegate never carries it, so no window is shared.
    const token = await new SignJWT({
      jti: randomBytes(12).toString('base64url'),
      ...claims,
      iss: `${url}/`,
      iat: now,
      exp: now + 3600,
    })
      .setProtectedHeader({ kid, alg: 'RS256', typ })
      .sign(privateKey);
    ledger.add(token, kind);
    return token;
  };

  const issue = async (clientId: string, shape: TokenShape): Promise<IssuedTokens> => {
    const access = await sign(
      {
        sub: SUBJECT,
        client_id: clientId,
        aud: 'https://api.example.com',
        ...authorizationClaims(),
        ...(shape.accessIdentity ? identityClaims() : {}),
      },
      'at+jwt',
      'access_token',
    );
    const id = await sign(
      {
        sub: SUBJECT,
        aud: clientId,
        auth_time: Math.floor(Date.now() / 1000),
        ...(shape.wideIdToken ? { ...identityClaims(), ...authorizationClaims() } : {}),
      },
      'JWT',
      'id_token',
    );
    const refresh = `rt-${randomBytes(24).toString('hex')}`;
    ledger.add(refresh, 'refresh_token');
    return { access, id, refresh };
  };

  const upstream: LeakUpstream = {
    url: '',
    issuer: '',
    ledger,
    discoveryToken: '',
    shape: {},
    delivered: 0,
    arm(endpoint, answer) {
      armed = { endpoint, answer };
      upstream.delivered = 0;
    },
    disarm() {
      armed = undefined;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };

  const usual = async (request: UpstreamRequest): Promise<RawAnswer> => {
    const { params } = request;
    switch (request.endpoint) {
      case 'token': {
        const grant = params.get('grant_type');
        const tokens = await issue(request.clientId, upstream.shape);
        const interactive = grant === 'authorization_code' || grant === 'refresh_token';
        return json(200, {
          access_token: tokens.access,
          token_type: 'Bearer',
          expires_in: 3600,
          scope: GRANTED_SCOPES.join(' '),
          ...(interactive ? { id_token: tokens.id, refresh_token: tokens.refresh } : {}),
        });
      }
      case 'authorize': {
        const target = new URL(params.get('redirect_uri') ?? 'https://app.example.com/callback');
        target.searchParams.set('code', randomBytes(8).toString('hex'));
        target.searchParams.set('state', params.get('state') ?? '');
        return { status: 302, headers: [['location', target.href]] };
      }
      case 'par':
        return json(201, {
          request_uri: `urn:ietf:params:oauth:request_uri:${randomBytes(8).toString('hex')}`,
          expires_in: 60,
        });
      case 'logout':
        return {
          status: 302,
          headers: [['location', params.get('post_logout_redirect_uri') ?? `${url}/bye`]],
        };
      case 'userinfo':
        return json(200, { sub: SUBJECT, ...identityClaims() });
      case 'introspection':
        return json(200, { active: true, sub: SUBJECT, scope: GRANTED_SCOPES.join(' ') });
      case 'revocation':
        return { status: 200, headers: [['content-length', '0']] };
      case 'other':
        return {
          status: 200,
          headers: [['content-type', 'text/plain']],
          body: Buffer.from('upstream page'),
        };
    }
  };

  const discovery = () => ({
    issuer: `${url}/`,
    jwks_uri: `${url}/jwks`,
    token_endpoint: `${url}${PATHS.token}`,
    authorization_endpoint: `${url}${PATHS.authorize}`,
    pushed_authorization_request_endpoint: `${url}${PATHS.par}`,
    end_session_endpoint: `${url}${PATHS.logout}`,
    userinfo_endpoint: `${url}${PATHS.userinfo}`,
    introspection_endpoint: `${url}${PATHS.introspection}`,
    revocation_endpoint: `${url}${PATHS.revocation}`,
    scopes_supported: ['openid', 'profile', 'email', 'phone', 'address', 'offline_access'],
    response_types_supported: ['code'],
    grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'],
    // Vendor fields: what an upstream's document can say that no listed field does.
    x_debug_access_token: upstream.discoveryToken,
    x_admin_roles: [ROLE],
    x_authorization_details_types: [AUTHZ_DETAIL],
  });

  const write = (res: import('node:http').ServerResponse, answer: RawAnswer) => {
    const body = answer.body ?? Buffer.alloc(0);
    const headers = answer.headers ?? [];
    const grouped = new Map<string, string[]>();
    for (const [name, value] of headers) grouped.set(name, [...(grouped.get(name) ?? []), value]);
    for (const [name, values] of grouped)
      res.setHeader(name, values.length > 1 ? values : (values[0] as string));
    if (!answer.chunked && !grouped.has('content-length'))
      res.setHeader('content-length', body.length);
    if (answer.reason !== undefined) res.writeHead(answer.status, answer.reason);
    else res.writeHead(answer.status);
    if (answer.chunked) {
      // Written in pieces so the framing really is chunked, with the tokens split across chunks.
      const third = Math.ceil(body.length / 3);
      for (let at = 0; at < body.length; at += third) res.write(body.subarray(at, at + third));
      res.end();
    } else {
      res.end(body);
    }
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (path === '/.well-known/openid-configuration') {
        write(res, json(200, discovery()));
        return;
      }
      if (path === '/jwks') {
        write(res, json(200, { keys: [publicJwk] }));
        return;
      }
      const params = paramsOf(req, Buffer.concat(chunks));
      const request: UpstreamRequest = {
        endpoint: endpointOf(path),
        method: req.method ?? 'GET',
        path,
        headers: req.headers,
        params,
        clientId: clientOf(req.headers, params),
      };
      const plan = armed;
      const answer =
        plan !== undefined && plan.endpoint === request.endpoint
          ? issue(request.clientId, upstream.shape).then((tokens) => {
              upstream.delivered++;
              return plan.answer(request, tokens, () => usual(request));
            })
          : usual(request);
      answer.then(
        (raw) => write(res, raw),
        (error: unknown) => write(res, json(500, { error: 'server_error', detail: String(error) })),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  upstream.url = url;
  upstream.issuer = `${url}/`;
  upstream.discoveryToken = (await issue('web', {})).access;
  return upstream;
}
