/**
 * The upstream's userinfo and introspection endpoints served by scopegate for its own access
 * tokens, in front of node-oidc-provider (whose userinfo accepts its opaque login tokens, which
 * scopegate introspects when they are issued): a login with openid-client, then userinfo with
 * the scopegate token, introspection of scopegate's tokens with the caller authenticated by the
 * upstream, revocation that reaches the upstream, and everything refused without reaching it.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { generateKeyPair, importPKCS8, type JWTPayload, SignJWT } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EMBEDDED_CLAIM,
  embeddingKey,
  openEmbeddedToken,
} from '../../proxy/issued/embedded-upstream-token.js';
import { discoverClient } from '../support/discover-client.js';
import { jwtPayload, postForm } from '../support/gateway.js';
import { rawRequest } from '../support/raw-http.js';
import { browserLogin } from './browser-login.js';
import {
  ACCOUNT,
  LOGIN_RESOURCE,
  type LoginUpstream,
  M2M_CLIENT,
  startLoginUpstream,
  WEB_CLIENT,
} from './login-upstream.js';
import { type SelfIssuedGateway, startSelfIssuedGateway } from './self-issued-gateway.js';

const SECRET = randomBytes(32).toString('base64url');
const KID = 'ui-es';
let upstream: LoginUpstream;
let gateway: SelfIssuedGateway;
/** The same upstream behind a scopegate without tokens.upstream_token_key. */
let keyless: SelfIssuedGateway;
let config: client.Configuration;

function gatewayConfig(withKey: boolean): Record<string, unknown> {
  return {
    upstream: {
      token_format: 'auto',
      introspection: { client_id: M2M_CLIENT.client_id, client_secret: M2M_CLIENT.client_secret },
    },
    tokens: {
      refresh_token_key: randomBytes(32).toString('base64url'),
      ...(withKey ? { upstream_token_key: SECRET } : {}),
    },
    clients: [{ client_id: M2M_CLIENT.client_id, scope_format: 'array' }],
  };
}

beforeAll(async () => {
  upstream = await startLoginUpstream({ userinfoTokens: true });
  const options = {
    upstreamUrl: upstream.url,
    tokenPath: upstream.tokenPath,
    keys: [{ kid: KID, alg: 'ES256' as const, status: 'active' as const }],
  };
  [gateway, keyless] = await Promise.all([
    startSelfIssuedGateway({ ...options, config: gatewayConfig(true) }),
    startSelfIssuedGateway({ ...options, config: gatewayConfig(false) }),
  ]);
  config = await discoverClient(gateway.issuer, WEB_CLIENT);
});

afterAll(async () => {
  await Promise.all([gateway?.close(), keyless?.close()]);
  await upstream?.close();
});

const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
const WEB_AUTH = basic(WEB_CLIENT.client_id, WEB_CLIENT.client_secret);

async function login(scope = 'openid email api:read'): Promise<string> {
  const { tokens } = await browserLogin(config, gateway.url, scope);
  return tokens.access_token;
}

/** The upstream's token sealed inside a scopegate token, opened with the configured secret. */
async function sealedIn(token: string): Promise<string | undefined> {
  return openEmbeddedToken(jwtPayload(token), embeddingKey(SECRET));
}

/** A machine token through scopegate: a JWT from the upstream for LOGIN_RESOURCE, no openid. */
async function machineToken(): Promise<string> {
  const response = await postForm(
    `${gateway.issuer}/token`,
    { grant_type: 'client_credentials', scope: 'api:read api:write', resource: LOGIN_RESOURCE },
    { authorization: basic(M2M_CLIENT.client_id, M2M_CLIENT.client_secret) },
  );
  const body = (await response.json()) as Record<string, unknown>;
  expect(response.status, JSON.stringify(body)).toBe(200);
  return body.access_token as string;
}

/** Re-signs a token's claims, changed, with the gateway's own key (or another one). */
async function resigned(
  token: string,
  change: JWTPayload,
  options: { foreignKey?: boolean } = {},
): Promise<string> {
  const pem = await readFile(path.join(gateway.dir, `${KID}.pem`), 'utf8');
  const key = options.foreignKey
    ? (await generateKeyPair('ES256')).privateKey
    : await importPKCS8(pem, 'ES256');
  return new SignJWT({ ...jwtPayload(token), ...change })
    .setProtectedHeader({ alg: 'ES256', kid: KID, typ: 'at+jwt' })
    .sign(key);
}

function userinfo(token: string, target = `${gateway.issuer}/me`): Promise<Response> {
  return fetch(target, { headers: { authorization: `Bearer ${token}` } });
}

async function introspect(
  token: string,
  auth: { authorization?: string; form?: Record<string, string> } = { authorization: WEB_AUTH },
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const response = await postForm(
    `${gateway.issuer}/token/introspection`,
    { token, ...auth.form },
    auth.authorization ? { authorization: auth.authorization } : {},
  );
  return {
    status: response.status,
    body: (await response.json()) as Record<string, unknown>,
    headers: response.headers,
  };
}

/** What the upstream itself says about one of its tokens (asked directly, not via scopegate). */
async function upstreamIntrospection(token: string): Promise<Record<string, unknown>> {
  const response = await postForm(
    `${upstream.url}/token/introspection`,
    { token },
    { authorization: WEB_AUTH },
  );
  return (await response.json()) as Record<string, unknown>;
}

function userinfoRequests(): number {
  return upstream.requests.filter((request) => request.startsWith('GET /me')).length;
}

describe('userinfo through scopegate', () => {
  it("answers openid-client's fetchUserInfo with the upstream's claims after a login", async () => {
    const access = await login('openid email profile api:read');
    expect(jwtPayload(access)[EMBEDDED_CLAIM]).toEqual(expect.any(String));
    const claims = await client.fetchUserInfo(config, access, ACCOUNT.sub);
    expect(claims).toMatchObject({ sub: ACCOUNT.sub, email: ACCOUNT.email, name: ACCOUNT.name });

    const response = await userinfo(access);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    // RFC 6750 §2.2: the token in a form body works too.
    const posted = await postForm(`${gateway.issuer}/me`, { access_token: access });
    expect(posted.status).toBe(200);
    expect(await posted.json()).toMatchObject({ sub: ACCOUNT.sub });
  });

  it('refuses bad tokens with 401 invalid_token and sends the upstream nothing', async () => {
    const access = await login();
    const [header, payload, signature] = access.split('.') as [string, string, string];
    const flipped = `${signature.slice(0, 10)}${signature[10] === 'A' ? 'B' : 'A'}${signature.slice(11)}`;
    const now = Math.floor(Date.now() / 1000);
    const upstreamToken = (await sealedIn(access)) as string;
    const { tokens } = await browserLogin(config, gateway.url, 'openid api:read');
    const cases: Array<[string, string, RegExp]> = [
      ['a tampered signature', `${header}.${payload}.${flipped}`, /signature/],
      [
        'a tampered payload',
        `${header}.${Buffer.from(JSON.stringify({ ...jwtPayload(access), sub: 'mallory' })).toString('base64url')}.${signature}`,
        /signature/,
      ],
      ['an expired token', await resigned(access, { iat: now - 600, exp: now - 300 }), /expired/],
      ['a foreign key', await resigned(access, {}, { foreignKey: true }), /signature/],
      ['another issuer', await resigned(access, { iss: 'https://other.example' }), /issuer/],
      // The sealed claim opens only inside the token it was issued in (bound to its jti).
      [
        'the claim moved to another token',
        await resigned(access, { jti: 'another-token' }),
        /cannot be used at the userinfo endpoint/,
      ],
      [
        'a machine token without openid',
        await machineToken(),
        /cannot be used at the userinfo endpoint/,
      ],
      ['the upstream token itself', upstreamToken, /not issued by this issuer/],
      ["scopegate's ID token", tokens.id_token as string, /claim check failed|not valid/],
    ];
    const before = userinfoRequests();
    for (const [name, token, description] of cases) {
      const response = await userinfo(token);
      const body = (await response.json()) as Record<string, unknown>;
      expect(response.status, name).toBe(401);
      expect(body.error, name).toBe('invalid_token');
      expect(body.error_description, name).toMatch(description);
      expect(response.headers.get('www-authenticate'), name).toMatch(
        /^Bearer error="invalid_token", error_description="[^"]+"$/,
      );
    }
    expect(userinfoRequests()).toBe(before);

    const none = await fetch(`${gateway.issuer}/me`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    const inQuery = await fetch(`${gateway.issuer}/me?access_token=${access}`);
    expect(inQuery.status).toBe(400);
    const twice = await postForm(
      `${gateway.issuer}/me`,
      { access_token: access },
      { authorization: `Bearer ${access}` },
    );
    expect(twice.status).toBe(400);
    expect(userinfoRequests()).toBe(before);
    // The same request with the intact token does reach the upstream.
    expect((await userinfo(access)).status).toBe(200);
    expect(userinfoRequests()).toBe(before + 1);
  });

  it("carries the upstream's token as ciphertext only, in tokens with openid only", async () => {
    const access = await login();
    const upstreamToken = (await sealedIn(access)) as string;
    expect(upstreamToken.length).toBeGreaterThan(20);
    // The upstream accepts it (it is the real one) ...
    expect(await upstreamIntrospection(upstreamToken)).toMatchObject({ active: true });
    // ... and nothing of it shows in scopegate's token, decoded part by part.
    const sealed = jwtPayload(access)[EMBEDDED_CLAIM] as string;
    const parts = [...access.split('.'), ...sealed.split('.')];
    for (const text of [
      access,
      ...parts.map((part) => Buffer.from(part, 'base64url').toString('latin1')),
    ]) {
      expect(text).not.toContain(upstreamToken);
    }
    // Small: the JWE header, IV and tag around the upstream token's own length.
    expect(sealed.length).toBeLessThanOrEqual(Math.ceil((upstreamToken.length * 4) / 3) + 110);
    // Tokens without openid stay as they were.
    expect(jwtPayload(await machineToken())).not.toHaveProperty(EMBEDDED_CLAIM);
    expect(
      jwtPayload((await browserLogin(config, gateway.url, 'openid')).tokens.access_token),
    ).toHaveProperty(EMBEDDED_CLAIM);
  });

  it('is never carried on by token exchange', async () => {
    const access = await login();
    const response = await postForm(`${gateway.issuer}/token`, {
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: access,
      subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      scope: 'openid api:read',
    });
    const body = (await response.json()) as Record<string, unknown>;
    expect(response.status, JSON.stringify(body)).toBe(200);
    const exchanged = body.access_token as string;
    expect(jwtPayload(exchanged)).toMatchObject({ sub: ACCOUNT.sub, scope: 'openid api:read' });
    expect(jwtPayload(exchanged)).not.toHaveProperty(EMBEDDED_CLAIM);
    const refused = await userinfo(exchanged);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: 'invalid_token' });
  });

  it('is reached by every spelling of its path; spellings the upstream may route there are refused', async () => {
    const access = await login();
    const { host } = new URL(gateway.url);
    const get = (target: string) =>
      rawRequest(
        gateway.url,
        `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${access}\r\nConnection: close\r\n\r\n`,
      );
    for (const target of ['/me', '/ME', '/me/', '/./me', '/x/../me', '/%6De', '/me;v=1', '//me']) {
      const response = await get(target);
      expect(response.status, target).toBe(200);
      expect(JSON.parse(response.body), target).toMatchObject({ sub: ACCOUNT.sub });
    }
    for (const target of ['/me.json', '/me/x', '/ME~']) {
      expect((await get(target)).status, target).toBe(404);
    }
    const deleted = await fetch(`${gateway.issuer}/me`, { method: 'DELETE' });
    expect(deleted.status).toBe(405);
    // A browser's preflight is answered by scopegate, for the methods it serves.
    const before = upstream.requests.length;
    const preflight = await fetch(`${gateway.issuer}/me`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example.com',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-methods')).toBe('GET, POST');
    expect(preflight.headers.get('access-control-allow-headers')).toBe('authorization');
    expect(upstream.requests.length).toBe(before);
  });
});

describe('introspection through scopegate', () => {
  it("answers for scopegate's valid tokens from its own claims", async () => {
    const access = await login();
    const claims = jwtPayload(access);
    const { status, body, headers } = await introspect(access);
    expect(status).toBe(200);
    expect(headers.get('cache-control')).toBe('no-store');
    expect(body).toEqual({
      active: true,
      iss: gateway.issuer,
      sub: ACCOUNT.sub,
      client_id: WEB_CLIENT.client_id,
      scope: 'openid email api:read',
      exp: claims.exp,
      iat: claims.iat,
      jti: claims.jti,
      token_type: 'Bearer',
    });

    // A machine token (scope as an array for this client, an audience), the caller
    // authenticating in the form.
    const machine = await machineToken();
    expect(jwtPayload(machine).scope).toEqual(['api:read', 'api:write']);
    const posted = await introspect(machine, {
      form: { client_id: M2M_CLIENT.client_id, client_secret: M2M_CLIENT.client_secret },
    });
    expect(posted.status).toBe(200);
    expect(posted.body).toMatchObject({
      active: true,
      scope: 'api:read api:write',
      aud: LOGIN_RESOURCE,
      client_id: M2M_CLIENT.client_id,
      token_type: 'Bearer',
    });
    expect(posted.body).not.toHaveProperty(EMBEDDED_CLAIM);
  });

  it('says inactive for expired, altered and upstream tokens', async () => {
    const access = await login();
    const now = Math.floor(Date.now() / 1000);
    const upstreamToken = (await sealedIn(access)) as string;
    // The upstream calls its own token active; scopegate's resource servers must not.
    expect(await upstreamIntrospection(upstreamToken)).toMatchObject({ active: true });
    for (const token of [
      await resigned(access, { iat: now - 600, exp: now - 300 }),
      await resigned(access, {}, { foreignKey: true }),
      upstreamToken,
      await machineToken().then((machine) => `${machine}x`),
      'not-a-token',
    ]) {
      const { status, body, headers } = await introspect(token);
      expect(status).toBe(200);
      expect(body).toEqual({ active: false });
      expect(headers.get('cache-control')).toBe('no-store');
    }
  });

  it("refuses callers the upstream does not authenticate, with scopegate's own error", async () => {
    const access = await login();
    const cases: Array<[Parameters<typeof introspect>[1], number, string]> = [
      [{ authorization: basic(WEB_CLIENT.client_id, 'wrong-secret') }, 401, 'invalid_client'],
      [
        { form: { client_id: WEB_CLIENT.client_id, client_secret: 'wrong' } },
        401,
        'invalid_client',
      ],
      [{ authorization: basic('nobody', 'secret') }, 401, 'invalid_client'],
      // No authentication at all: oidc-provider says invalid_request, and so does scopegate.
      [{}, 400, 'invalid_request'],
    ];
    for (const [auth, expectedStatus, error] of cases) {
      const { status, body, headers } = await introspect(access, auth);
      expect(status, JSON.stringify(auth)).toBe(expectedStatus);
      expect(body.error).toBe(error);
      expect(body).not.toHaveProperty('active');
      expect(headers.get('cache-control')).toBe('no-store');
    }
  });

  it('is reached by every spelling of its path', async () => {
    const access = await login();
    const { host } = new URL(gateway.url);
    const body = new URLSearchParams({ token: access }).toString();
    for (const target of [
      '/token/introspection',
      '/TOKEN/Introspection',
      '/token/introspection/',
      '/token/./introspection',
      '/token/%69ntrospection',
    ]) {
      const response = await rawRequest(
        gateway.url,
        `POST ${target} HTTP/1.1\r\nHost: ${host}\r\nAuthorization: ${WEB_AUTH}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
      );
      expect(response.status, target).toBe(200);
      expect(JSON.parse(response.body), target).toMatchObject({
        active: true,
        iss: gateway.issuer,
      });
    }
  });
});

describe('revoking a scopegate access token', () => {
  it("revokes the upstream's token inside it, so userinfo and introspection stop at once", async () => {
    const access = await login();
    const upstreamToken = (await sealedIn(access)) as string;
    expect((await userinfo(access)).status).toBe(200);
    expect((await introspect(access)).body.active).toBe(true);

    const before = upstream.requests.filter((request) =>
      request.startsWith('POST /token/revocation'),
    );
    await client.tokenRevocation(config, access, { token_type_hint: 'access_token' });
    const after = upstream.requests.filter((request) =>
      request.startsWith('POST /token/revocation'),
    );
    expect(after.length).toBe(before.length + 1);

    expect(await upstreamIntrospection(upstreamToken)).toEqual({ active: false });
    expect((await introspect(access)).body).toEqual({ active: false });
    const refused = await userinfo(access);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);
  });

  it("revokes the upstream's token inside an expired one too: it may outlive scopegate's", async () => {
    const access = await login();
    const upstreamToken = (await sealedIn(access)) as string;
    const now = Math.floor(Date.now() / 1000);
    // The same token (same jti, same sealed claim) as it is once past its exp.
    const expired = await resigned(access, { iat: now - 600, exp: now - 300 });
    expect((await userinfo(expired)).status).toBe(401);
    expect((await userinfo(access)).status).toBe(200);

    await client.tokenRevocation(config, expired, { token_type_hint: 'access_token' });
    expect(await upstreamIntrospection(upstreamToken)).toEqual({ active: false });
    expect((await userinfo(access)).status).toBe(401);
  });

  it('needs the caller authenticated by the upstream', async () => {
    const access = await login();
    const response = await postForm(
      `${gateway.issuer}/token/revocation`,
      { token: access },
      { authorization: basic(WEB_CLIENT.client_id, 'wrong-secret') },
    );
    expect(response.status).toBe(401);
    expect(((await response.json()) as Record<string, unknown>).error).toBe('invalid_client');
    expect((await userinfo(access)).status).toBe(200);
  });
});

describe('discovery', () => {
  it('advertises userinfo with tokens.upstream_token_key, introspection whenever the upstream has it', async () => {
    const withKey = config.serverMetadata();
    expect(withKey.userinfo_endpoint).toBe(`${gateway.issuer}/me`);
    expect(withKey.introspection_endpoint).toBe(`${gateway.issuer}/token/introspection`);
    const response = await fetch(`${keyless.issuer}/.well-known/openid-configuration`);
    const without = (await response.json()) as Record<string, unknown>;
    expect(without).not.toHaveProperty('userinfo_endpoint');
    expect(without.introspection_endpoint).toBe(`${keyless.issuer}/token/introspection`);
  });

  it('without the key, tokens carry nothing and introspection still answers for them', async () => {
    const keylessConfig = await discoverClient(keyless.issuer, WEB_CLIENT);
    const { tokens } = await browserLogin(keylessConfig, keyless.url, 'openid api:read');
    expect(jwtPayload(tokens.access_token)).not.toHaveProperty(EMBEDDED_CLAIM);
    const response = await postForm(
      `${keyless.issuer}/token/introspection`,
      { token: tokens.access_token },
      { authorization: WEB_AUTH },
    );
    expect(await response.json()).toMatchObject({ active: true, sub: ACCOUNT.sub });
  });
});
