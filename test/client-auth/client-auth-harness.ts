/**
 * What the client authentication tests share: client key pairs (real, generated per run), RFC
 * 7523 assertions signed with jose as a client library would, and a token request that presents
 * one.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type CryptoKey,
  exportJWK,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  SignJWT,
} from 'jose';
import { postForm } from '../support/gateway.js';

export const API = 'https://api.example.com';
export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export interface ClientKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  /** The public half as a JWK with kid, alg and use (what the client registers). */
  publicJwk: JWK;
}

export async function clientKey(kid: string, alg = 'ES256'): Promise<ClientKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return {
    kid,
    alg,
    privateKey,
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' },
  };
}

/** The claims of a good assertion of `clientId` for `audience`, with `overrides` applied. */
export function assertionClaims(
  clientId: string,
  audience: string | string[],
  overrides: Record<string, unknown> = {},
): JWTPayload {
  const now = Math.floor(Date.now() / 1000);
  const claims: Record<string, unknown> = {
    iss: clientId,
    sub: clientId,
    aud: audience,
    jti: randomUUID(),
    iat: now,
    exp: now + 60,
  };
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) delete claims[name];
    else claims[name] = value;
  }
  return claims;
}

/** Signs `claims` with an asymmetric client key or an HMAC secret. */
export function signAssertion(
  claims: JWTPayload,
  key: ClientKey | { secret: string; alg: string },
  header: Record<string, unknown> = {},
): Promise<string> {
  if ('secret' in key) {
    return new SignJWT(claims)
      .setProtectedHeader({ alg: key.alg, ...header })
      .sign(new TextEncoder().encode(key.secret));
  }
  return new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, ...header })
    .sign(key.privateKey);
}

/** An unsigned (`alg: none`) JWT of `claims`. */
export function unsignedAssertion(claims: JWTPayload): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${encode({ alg: 'none' })}.${encode(claims)}.`;
}

/** A client-credentials request authenticated with `assertion`. */
export function postWithAssertion(
  tokenUrl: string,
  assertion: string,
  extra: Record<string, string> = {},
  headers: Record<string, string> = {},
): Promise<Response> {
  return postForm(
    tokenUrl,
    {
      grant_type: 'client_credentials',
      client_assertion_type: JWT_BEARER,
      client_assertion: assertion,
      ...extra,
    },
    headers,
  );
}

/** A client's key server: serves a JWKS on port 0, counts fetches, changes keys on demand. */
export interface JwksServer {
  url: string;
  fetches(): number;
  publish(keys: JWK[]): void;
  close(): Promise<void>;
}

export async function startJwksServer(keys: JWK[]): Promise<JwksServer> {
  let published = keys;
  let fetches = 0;
  const server: Server = createServer((_req, res) => {
    fetches += 1;
    const body = JSON.stringify({ keys: published });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/jwks.json`,
    fetches: () => fetches,
    publish(next) {
      published = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The OAuth error of a response, with its status and WWW-Authenticate header. */
export async function oauthError(
  response: Response,
): Promise<{ status: number; error: unknown; description: unknown; challenge: string | null }> {
  const body = (await response.json()) as Record<string, unknown>;
  return {
    status: response.status,
    error: body.error,
    description: body.error_description,
    challenge: response.headers.get('www-authenticate'),
  };
}
