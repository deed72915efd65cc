/**
 * A plausible, lenient IdP for the front-channel leak oracle: it reads authorization parameters
 * from every carrier (query with `;`, form, JSON, multipart, text/plain, no content type; names
 * and values percent-decoded until they stop changing, any case) and answers `response_type`
 * containing `token` with an implicit-flow redirect carrying its own access and ID tokens, as Go
 * and Spring servers in front of real IdPs do. A test can also make it answer any path with its
 * token in a chosen carrier (`leakOn`), to prove the screen on the way back holds whatever the
 * request looked like. Real HTTP on port 0, real ES256 signatures (jose).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';

export interface LeakyTokens {
  access: string;
  id: string;
  /** An opaque refresh token (recognisable by name only). */
  refresh: string;
  /** A JWT signed with the upstream's key but claiming another issuer (found by its kid). */
  foreignIssuer: string;
  /** A JWT with no kid, alg none, the upstream's issuer (found by its iss). */
  unsigned: string;
  /** A compact JWE. */
  jwe: string;
  /** The IdP's own session state as a JWT (Keycloak's KEYCLOAK_IDENTITY): no audience, scope or client. */
  session: string;
}

/** Answers a request with the upstream's tokens in some carrier. */
export type Leak = (res: ServerResponse, tokens: LeakyTokens) => void;

export interface LeakyUpstream {
  url: string;
  issuer: string;
  kid: string;
  tokens: LeakyTokens;
  /** Every distinctive token fragment: none of them may appear in what a client receives. */
  secrets(): string[];
  /** Answers requests for `path` (query ignored) with `leak`, whatever they ask. */
  leakOn(path: string, leak: Leak): void;
  /** How many requests reached the upstream. */
  received(): number;
  /** Every request that reached the upstream: its target and body. */
  requests: Array<{ url: string; body: string }>;
  close(): Promise<void>;
}

function decodeAll(text: string): string {
  let current = text;
  for (let i = 0; i < 4; i++) {
    let next = current.replace(/\+/g, ' ');
    try {
      next = decodeURIComponent(next);
    } catch {
      next = next.replace(/%([0-9A-Fa-f]{2})/g, (_m, h: string) =>
        String.fromCharCode(Number.parseInt(h, 16)),
      );
    }
    if (next === current) break;
    current = next;
  }
  return current;
}

/** Every name/value pair a lenient server could read out of the request, decoded. */
function lenientParams(req: IncomingMessage, body: Buffer): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  const add = (name: string, value: string) =>
    pairs.push([decodeAll(name).trim().toLowerCase(), decodeAll(value)]);
  const query = (req.url ?? '').split('?')[1] ?? '';
  for (const piece of query.split(/[&;]/)) {
    const [name = '', ...rest] = piece.split('=');
    add(name, rest.join('='));
  }
  const text = body.toString('utf8');
  // Form, text/plain and untyped bodies: lines and `&` pieces.
  for (const piece of text.split(/\r?\n|&/)) {
    const [name = '', ...rest] = piece.split('=');
    add(name, rest.join('='));
  }
  // Multipart: every part's name and its content.
  for (const match of text.matchAll(/name="([^"]*)"\r?\n(?:[^\r\n]+\r?\n)*\r?\n([^\r\n]*)/g)) {
    add(match[1] ?? '', match[2] ?? '');
  }
  try {
    const json: unknown = JSON.parse(text);
    if (typeof json === 'object' && json !== null) {
      for (const [name, value] of Object.entries(json)) add(name, String(value));
    }
  } catch {
    // not JSON
  }
  return pairs;
}

export async function startLeakyUpstream(): Promise<LeakyUpstream> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const kid = `leaky-${randomBytes(6).toString('base64url')}`;
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  const leaks = new Map<string, Leak>();
  let count = 0;
  const requests: Array<{ url: string; body: string }> = [];
  let url = '';
  let tokens: LeakyTokens | undefined;
  const requestUris = new Set<string>();

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      count += 1;
      requests.push({ url: req.url ?? '', body: Buffer.concat(chunks).toString('utf8') });
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      const json = (status: number, value: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(value));
      };
      if (path === '/.well-known/openid-configuration') {
        json(200, {
          issuer: url,
          jwks_uri: `${url}/jwks`,
          token_endpoint: `${url}/token`,
          authorization_endpoint: `${url}/authorize`,
          pushed_authorization_request_endpoint: `${url}/par`,
          end_session_endpoint: `${url}/logout`,
        });
        return;
      }
      if (path === '/jwks') {
        json(200, { keys: [jwk] });
        return;
      }
      const leak = leaks.get(path);
      const issued = tokens as LeakyTokens;
      if (leak !== undefined) {
        leak(res, issued);
        return;
      }
      const params = lenientParams(req, Buffer.concat(chunks));
      const implicit = params.some(
        ([name, value]) => name === 'response_type' && /(^|[\s,])(id_)?token([\s,]|$)/i.test(value),
      );
      if (path === '/par') {
        const uri = `urn:ietf:params:oauth:request_uri:${randomBytes(8).toString('hex')}`;
        if (implicit) requestUris.add(uri);
        json(201, { request_uri: uri, expires_in: 60 });
        return;
      }
      const pushed = params.some(
        ([name, value]) => name === 'request_uri' && requestUris.has(value),
      );
      if (implicit || pushed) {
        res.writeHead(302, {
          location: `https://app.example/cb#access_token=${issued.access}&id_token=${issued.id}&refresh_token=${issued.refresh}&token_type=Bearer`,
        });
        res.end();
        return;
      }
      if (path === '/authorize') {
        res.writeHead(302, {
          location: `https://app.example/cb?code=c-1&state=s&iss=${encodeURIComponent(url)}`,
        });
        res.end();
        return;
      }
      json(200, { path, ok: true });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const now = Math.floor(Date.now() / 1000);
  const sign = (claims: JWTPayload, header: Record<string, unknown> = {}) =>
    new SignJWT({ iat: now, exp: now + 3600, ...claims })
      .setProtectedHeader({ alg: 'ES256', kid, ...header })
      .sign(privateKey);
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  tokens = {
    access: await sign(
      { iss: url, sub: 'alice', scope: 'openid admin.users read write', client_id: 'c' },
      { typ: 'at+jwt' },
    ),
    id: await sign({ iss: url, sub: 'alice', aud: 'c', roles: ['admin'] }),
    refresh: `rt-${randomBytes(24).toString('hex')}`,
    foreignIssuer: await sign({ iss: 'https://elsewhere.example', sub: 'alice', scope: 'admin' }),
    unsigned: `${part({ alg: 'none' })}.${part({ iss: url, sub: 'alice', scope: 'admin', n: randomBytes(8).toString('hex') })}.`,
    session: await sign({ iss: url, sub: 'alice', sid: 's-1', typ: 'Serialized-ID' }),
    jwe: `${part({ alg: 'dir', enc: 'A256GCM' })}..${randomBytes(12).toString('base64url')}.${randomBytes(40).toString('base64url')}.${randomBytes(16).toString('base64url')}`,
  };
  const issued = tokens;
  return {
    url,
    issuer: url,
    kid,
    tokens: issued,
    secrets: () => [
      issued.access.split('.')[2] as string,
      issued.id.split('.')[2] as string,
      issued.refresh.slice(3),
      issued.foreignIssuer.split('.')[2] as string,
      issued.unsigned.split('.')[1] as string,
      issued.jwe.split('.')[3] as string,
    ],
    leakOn(path, leak) {
      leaks.set(path, leak);
    },
    received: () => count,
    requests,
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
