/**
 * The token endpoint against the Auth0 emulator (seeds/000, seeds/001): narrowing, refusal and
 * drop, the partner array format, request parsing, upstream errors and outages, and every way the
 * emulator can break a token. The upstream's own token must never reach the client.
 */
import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type RunningAuth0Emulator,
  startAuth0Emulator,
  type TokenFault,
} from '../fixtures/auth0-emulator/auth0-emulator.js';
import { closedPortUrl } from '../support/closed-port.js';
import {
  jwtHeader,
  jwtPayload,
  postForm,
  startTestGateway,
  type TestGateway,
} from '../support/gateway.js';
import { rawMessage, rawRequest } from '../support/raw-http.js';

const API = 'https://api.example.com';
const API2 = 'https://partner-api.example.com';
const ALL = ['read:claims', 'write:claims', 'read:reports'];
const M2M = { client_id: 'm2m', client_secret: 'm2m-secret' };
const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

let upstream: RunningAuth0Emulator;
let gateway: TestGateway;
let dropGateway: TestGateway;
let tokenUrl: string;

beforeAll(async () => {
  upstream = await startAuth0Emulator({
    clients: [
      { ...toEmulator(M2M), grants: { [API]: ALL } },
      { clientId: 'partner-x', clientSecret: 'px-secret', grants: { [API]: ALL.slice(0, 2) } },
      {
        clientId: 'multi',
        clientSecret: 'multi-secret',
        grants: { [API]: ['read:claims'], [API2]: ['read:claims'] },
      },
    ],
    defaultAudience: API,
  });
  [gateway, dropGateway] = await Promise.all([
    startTestGateway({
      upstreamUrl: upstream.url,
      scopeRequest: 'omit',
      config: {
        clients: [
          { client_id: 'partner-x', scope_format: 'array' },
          { client_id: 'multi', audience: API2, scope_format: 'array' },
        ],
        upstream: { timeout: '400ms' },
      },
    }),
    startTestGateway({
      upstreamUrl: upstream.url,
      scopeRequest: 'omit',
      config: { tokens: { on_unauthorized_scope: 'drop' } },
    }),
  ]);
  tokenUrl = `${gateway.url}/oauth/token`;
});

afterEach(() => {
  upstream.setFault('none');
  upstream.setDelay(0);
});

afterAll(async () => {
  await Promise.all([gateway?.close(), dropGateway?.close()]);
  await upstream?.close();
});

function toEmulator(client: { client_id: string; client_secret: string }) {
  return { clientId: client.client_id, clientSecret: client.client_secret };
}

async function token(params: Record<string, string>, headers: Record<string, string> = {}) {
  const response = await postForm(
    tokenUrl,
    { grant_type: 'client_credentials', ...params },
    headers,
  );
  const text = await response.text();
  return { response, text, body: JSON.parse(text) as Record<string, unknown> };
}

function postJson(url: string, text: string) {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: text,
  });
}

/** The error JSON of a gateway-made failure; asserts it carries no token of any kind. */
async function oauthError(response: Response, status: number, error: string) {
  const text = await response.text();
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  expect(response.headers.get('cache-control')).toBe('no-store');
  expect(text).not.toContain('eyJ');
  const body = JSON.parse(text) as Record<string, unknown>;
  expect(body).toMatchObject({ error });
  expect(typeof body.error_description).toBe('string');
  expect(body).not.toHaveProperty('access_token');
  return body;
}

describe('down-scoping (seeds/000)', () => {
  it('issues only the requested subset, signed by scopegate', async () => {
    const { response, body } = await token({ ...M2M, audience: API, scope: 'read:claims' });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('pragma')).toBe('no-cache');
    expect(body.scope).toBe('read:claims');
    expect(body.token_type).toBe('Bearer');
    const accessToken = body.access_token as string;
    expect(jwtHeader(accessToken)).toMatchObject({ alg: 'ES256', kid: 'test-key', typ: 'at+jwt' });
    const claims = jwtPayload(accessToken);
    expect(claims).toMatchObject({
      iss: 'https://gateway.test',
      scope: 'read:claims',
      client_id: 'm2m',
      sub: 'm2m@clients',
      aud: API,
      permissions: ['read:claims'],
      gty: 'client-credentials',
    });
    // scope_request: omit — the upstream was asked for nothing.
    expect(upstream.tokenRequests().at(-1)?.params.scope).toBeUndefined();
  });

  it('issues a two-scope subset in the requested order', async () => {
    const { body } = await token({ ...M2M, scope: 'read:reports read:claims' });
    expect(body.scope).toBe('read:reports read:claims');
    const claims = jwtPayload(body.access_token as string);
    expect(claims.scope).toBe('read:reports read:claims');
    expect(claims.permissions).toEqual(['read:reports', 'read:claims']);
  });

  it('grants everything the upstream granted when no scope is requested', async () => {
    const { response, body } = await token({ ...M2M });
    expect(response.status).toBe(200);
    expect(body.scope).toBe(ALL.join(' '));
    expect(jwtPayload(body.access_token as string)).toMatchObject({
      scope: ALL.join(' '),
      permissions: ALL,
    });
  });

  it('treats an empty scope parameter as absent', async () => {
    const { body } = await token({ ...M2M, scope: '' });
    expect(body.scope).toBe(ALL.join(' '));
  });

  it('refuses a scope the client was not granted, naming only that scope', async () => {
    const response = await postForm(tokenUrl, {
      grant_type: 'client_credentials',
      ...M2M,
      scope: 'read:claims admin:all',
    });
    const body = await oauthError(response, 400, 'invalid_scope');
    const description = body.error_description as string;
    expect(description).toContain('admin:all');
    for (const held of ALL) expect(description).not.toContain(held);
  });

  it('with on_unauthorized_scope: drop, issues the rest and says so in `scope`', async () => {
    const response = await postForm(`${dropGateway.url}/oauth/token`, {
      grant_type: 'client_credentials',
      ...M2M,
      scope: 'read:claims admin:all write:claims',
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body.scope).toBe('read:claims write:claims');
    const claims = jwtPayload(body.access_token as string);
    expect(claims.scope).toBe('read:claims write:claims');
    expect(claims.permissions).toEqual(['read:claims', 'write:claims']);
  });

  it('with drop, still refuses when nothing requested can be issued', async () => {
    const response = await postForm(`${dropGateway.url}/oauth/token`, {
      grant_type: 'client_credentials',
      ...M2M,
      scope: 'admin:all',
    });
    await oauthError(response, 400, 'invalid_scope');
  });
});

describe('scope as a JSON array (seeds/001)', () => {
  it('gives a partner client an array `scope` claim; the response keeps a string', async () => {
    const { response, body } = await token({
      client_id: 'partner-x',
      client_secret: 'px-secret',
      scope: 'write:claims read:claims',
    });
    expect(response.status).toBe(200);
    expect(body.scope).toBe('write:claims read:claims');
    expect(jwtPayload(body.access_token as string).scope).toEqual(['write:claims', 'read:claims']);
  });

  it('gives the partner every granted scope as an array when none is requested', async () => {
    const { body } = await token({ client_id: 'partner-x', client_secret: 'px-secret' });
    expect(jwtPayload(body.access_token as string).scope).toEqual(['read:claims', 'write:claims']);
    expect(body.scope).toBe('read:claims write:claims');
  });

  it('applies a per-audience rule only for that audience', async () => {
    const client = { client_id: 'multi', client_secret: 'multi-secret' };
    const forPartner = await token({ ...client, audience: API2, scope: 'read:claims' });
    expect(jwtPayload(forPartner.body.access_token as string)).toMatchObject({
      aud: API2,
      scope: ['read:claims'],
    });
    expect(forPartner.body.scope).toBe('read:claims');
    const forApi = await token({ ...client, audience: API, scope: 'read:claims' });
    expect(jwtPayload(forApi.body.access_token as string)).toMatchObject({
      aud: API,
      scope: 'read:claims',
    });
  });

  it('keeps the RFC 9068 string for everyone else', async () => {
    const { body } = await token({ ...M2M, scope: 'read:claims write:claims' });
    expect(jwtPayload(body.access_token as string).scope).toBe('read:claims write:claims');
  });
});

describe('request parsing', () => {
  it('refuses a repeated form parameter before reaching the upstream', async () => {
    const before = upstream.tokenRequests().length;
    const response = await fetch(tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&client_id=m2m&client_secret=m2m-secret&scope=read:claims&scope=write:claims',
    });
    const body = await oauthError(response, 400, 'invalid_request');
    expect(body.error_description).toContain('scope');
    expect(upstream.tokenRequests().length).toBe(before);
  });

  it('refuses a repeated JSON key, and a JSON array where one value belongs', async () => {
    const before = upstream.tokenRequests().length;
    const repeated = await postJson(
      tokenUrl,
      '{"grant_type":"client_credentials","client_id":"m2m","client_secret":"m2m-secret","scope":"read:claims","scope":"read:claims write:claims"}',
    );
    await oauthError(repeated, 400, 'invalid_request');
    const escaped = await postJson(
      tokenUrl,
      '{"grant_type":"client_credentials","scope":"read:claims","sc\\u006fpe":"write:claims"}',
    );
    await oauthError(escaped, 400, 'invalid_request');
    const array = await postJson(
      tokenUrl,
      JSON.stringify({ grant_type: 'client_credentials', ...M2M, scope: ['read:claims'] }),
    );
    await oauthError(array, 400, 'invalid_request');
    expect(upstream.tokenRequests().length).toBe(before);
  });

  it.each([
    ['a double space', 'read:claims  write:claims'],
    ['a leading space', ' read:claims'],
    ['a trailing space', 'read:claims '],
    ['a double quote', 'read:"claims'],
    ['a backslash', 'read:\\claims'],
    ['a tab', 'read:claims\twrite:claims'],
  ])('refuses a scope with %s as invalid_scope', async (_what, scope) => {
    const before = upstream.tokenRequests().length;
    const response = await postForm(tokenUrl, { grant_type: 'client_credentials', ...M2M, scope });
    await oauthError(response, 400, 'invalid_scope');
    expect(upstream.tokenRequests().length).toBe(before);
  });

  it('accepts a JSON body and forwards it form-urlencoded', async () => {
    const response = await postJson(
      tokenUrl,
      JSON.stringify({
        grant_type: 'client_credentials',
        ...M2M,
        audience: API,
        scope: 'read:reports',
      }),
    );
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body.scope).toBe('read:reports');
    const forwarded = upstream.tokenRequests().at(-1);
    expect(forwarded?.contentType).toBe('application/x-www-form-urlencoded');
    expect(forwarded?.params).toMatchObject({ client_id: 'm2m', audience: API });
    expect(forwarded?.params.scope).toBeUndefined();
  });

  it('refuses a JSON body that is not an object, or not JSON at all', async () => {
    await oauthError(await postJson(tokenUrl, '["grant_type"]'), 400, 'invalid_request');
    await oauthError(await postJson(tokenUrl, '{"grant_type":'), 400, 'invalid_request');
    // A raw control character in a key: a client error (400), not a server failure (500).
    await oauthError(
      await postJson(tokenUrl, '{"a\tb":"x","scope":"read:claims"}'),
      400,
      'invalid_request',
    );
  });

  it('forwards HTTP Basic client authentication unchanged', async () => {
    const authorization = basic('m2m', 'm2m-secret');
    const { response, body } = await token({ scope: 'read:claims' }, { authorization });
    expect(response.status).toBe(200);
    expect(jwtPayload(body.access_token as string).client_id).toBe('m2m');
    const forwarded = upstream.tokenRequests().at(-1);
    expect(forwarded?.headers.authorization).toBe(authorization);
    expect(forwarded?.params.client_secret).toBeUndefined();
  });

  it('forwards the token request without hop-by-hop or spoofed forwarding headers', async () => {
    const form = 'grant_type=client_credentials&client_id=m2m&client_secret=m2m-secret';
    const answer = await rawRequest(
      gateway.url,
      rawMessage(
        'POST',
        '/oauth/token',
        {
          'content-type': 'application/x-www-form-urlencoded',
          connection: 'close, x-hop',
          'x-hop': '1',
          'proxy-authorization': 'Basic cHJveHk6c2VjcmV0',
          'x-forwarded-for': '6.6.6.6',
          'x-real-ip': '6.6.6.6',
          'x-request-id': 'tok-1',
          'x-end-to-end': 'kept',
        },
        form,
      ),
    );
    expect(answer.status).toBe(200);
    const headers = upstream.tokenRequests().at(-1)?.headers ?? {};
    for (const name of ['x-hop', 'proxy-authorization', 'x-real-ip']) {
      expect(headers, name).not.toHaveProperty(name);
    }
    expect(headers).toMatchObject({
      'x-forwarded-for': '127.0.0.1',
      'x-request-id': 'tok-1',
      'x-end-to-end': 'kept',
    });
    expect(answer.headers['x-request-id']).toBe('tok-1');
  });

  it('refuses an unsupported or missing content type with 400', async () => {
    const plain = await fetch(tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'grant_type=client_credentials',
    });
    await oauthError(plain, 400, 'invalid_request');
    const none = await rawRequest(
      gateway.url,
      rawMessage('POST', '/oauth/token', {}, 'grant_type=client_credentials'),
    );
    expect(none.status).toBe(400);
    expect(JSON.parse(none.body)).toMatchObject({ error: 'invalid_request' });
  });

  it('refuses a content-encoded body instead of parsing compressed bytes', async () => {
    const response = await fetch(tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-encoding': 'gzip' },
      body: 'grant_type=client_credentials&client_id=m2m&client_secret=m2m-secret',
    });
    await oauthError(response, 400, 'invalid_request');
  });

  it('answers a body over server.body_limit with 413 JSON (declared and streamed)', async () => {
    const big = `grant_type=client_credentials&client_id=m2m&client_secret=m2m-secret&pad=${'x'.repeat(70_000)}`;
    const declared = await postForm(tokenUrl, {
      grant_type: 'client_credentials',
      pad: 'x'.repeat(70_000),
    });
    await oauthError(declared, 413, 'invalid_request');
    const streamed = await rawRequest(
      gateway.url,
      rawMessage(
        'POST',
        '/oauth/token',
        { 'content-type': 'application/x-www-form-urlencoded', 'transfer-encoding': 'chunked' },
        `${Buffer.byteLength(big).toString(16)}\r\n${big}\r\n0\r\n\r\n`,
      ),
    );
    expect(streamed.status).toBe(413);
    expect(JSON.parse(streamed.body)).toMatchObject({ error: 'invalid_request' });
  });
});

describe('a client that goes away', () => {
  it('is logged as a bad request, not as a gateway failure', async () => {
    const { hostname, port } = new URL(gateway.url);
    const before = gateway.logs.records().filter((record) => record.route === 'token').length;
    const socket = net.connect(Number(port), hostname, () => {
      socket.write(
        'POST /oauth/token HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: 100\r\n\r\ngrant_type',
      );
      setTimeout(() => socket.destroy(), 20);
    });
    socket.on('error', () => {});
    // Bounded wait for the gateway to notice the cut and log the request.
    let lines: Array<Record<string, unknown>> = [];
    for (let i = 0; i < 50 && lines.length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      lines = gateway.logs
        .records()
        .filter((record) => record.route === 'token')
        .slice(before);
    }
    // One access line: the token endpoint's fields, and that the client did not wait for them.
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      msg: 'token request',
      outcome: 'invalid_request',
      status: 400,
      aborted: true,
    });
    expect(gateway.logs.text()).not.toContain('token endpoint failed');
  });
});

describe('token endpoint routing', () => {
  const form =
    'grant_type=client_credentials&client_id=m2m&client_secret=m2m-secret&scope=read:claims';
  const formHeaders = { 'content-type': 'application/x-www-form-urlencoded' };

  // fetch() normalises these away, so they go over a raw socket. Each spelling reaches the
  // upstream token endpoint once proxied; every one must be served by scopegate itself.
  it.each([
    '/x/../oauth/token',
    '/oauth/./token',
    '/oauth/%2e/token',
    '/oauth/%2E%2E/oauth/token',
    '/oauth/token/',
    '/OAuth/Token',
    '//oauth/token',
    '/oauth/token;jsessionid=1',
    '/x/..;/oauth/token',
    '/oauth/%74oken',
    '/oauth/token?scope=write:claims',
  ])('never proxies a token request spelled %s', async (target) => {
    const answer = await rawRequest(gateway.url, rawMessage('POST', target, formHeaders, form));
    expect(answer.raw).not.toContain('"alg":"RS256"');
    expect(answer.status).toBe(200);
    const body = JSON.parse(answer.body) as Record<string, unknown>;
    expect(jwtHeader(body.access_token as string)).toMatchObject({ alg: 'ES256', kid: 'test-key' });
    expect(body.scope).toBe('read:claims');
  });

  // No single reading: an upstream could split on the decoded separator or take the other host.
  it.each([
    'http://upstream.example/oauth/token',
    '/oauth%2Ftoken',
    '/x%2F..%2Foauth/token',
    '/oauth%5Ctoken',
  ])('refuses a token request spelled %s with 400, proxying nothing', async (target) => {
    const before = upstream.tokenRequests().length;
    const answer = await rawRequest(gateway.url, rawMessage('POST', target, formHeaders, form));
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toMatchObject({ error: 'invalid_request' });
    expect(upstream.tokenRequests().length).toBe(before);
  });

  it('refuses other methods on the token endpoint instead of proxying them', async () => {
    const before = upstream.tokenRequests().length;
    for (const method of ['GET', 'PUT', 'PATCH', 'DELETE']) {
      const response = await fetch(`${tokenUrl}?grant_type=client_credentials&client_id=m2m`, {
        method,
      });
      await oauthError(response, 405, 'invalid_request');
      expect(response.headers.get('allow')).toBe('POST, OPTIONS');
    }
    expect(upstream.tokenRequests().length).toBe(before);
  });
});

describe('upstream errors and outages', () => {
  it('passes an upstream 4xx through unchanged', async () => {
    const params = { grant_type: 'client_credentials', client_id: 'm2m', client_secret: 'wrong' };
    const direct = await postForm(upstream.tokenEndpoint, params);
    const through = await postForm(tokenUrl, params);
    expect(through.status).toBe(direct.status);
    expect(through.status).toBe(401);
    expect(await through.text()).toBe(await direct.text());
    expect(through.headers.get('content-type')).toBe(direct.headers.get('content-type'));
    expect(through.headers.get('cache-control')).toBe('no-store');
    expect(through.headers.get('x-request-id')).toBeTruthy();
  });

  it('passes through the upstream refusing an unknown audience (403)', async () => {
    const { response, body } = await token({ ...M2M, audience: 'https://unknown.example' });
    expect(response.status).toBe(403);
    expect(body.error).toBe('access_denied');
  });

  it('answers 502 JSON when the upstream is down', async () => {
    const down = await startTestGateway({ upstreamUrl: await closedPortUrl() });
    try {
      const response = await postForm(`${down.url}/oauth/token`, {
        grant_type: 'client_credentials',
        ...M2M,
      });
      await oauthError(response, 502, 'temporarily_unavailable');
    } finally {
      await down.close();
    }
  });

  it('answers 504 JSON when the upstream is too slow, and keeps serving', async () => {
    upstream.setDelay(1500);
    const started = Date.now();
    const response = await postForm(tokenUrl, { grant_type: 'client_credentials', ...M2M });
    await oauthError(response, 504, 'temporarily_unavailable');
    expect(Date.now() - started).toBeLessThan(1400);
    upstream.setDelay(0);
    const health = await fetch(`${gateway.adminUrl}/healthz`);
    expect(health.status).toBe(200);
    const { response: next } = await token({ ...M2M, scope: 'read:claims' });
    expect(next.status).toBe(200);
  });
});

describe('broken upstream tokens (fail closed)', () => {
  const faults: Array<[TokenFault, number, string]> = [
    ['unknown_key', 502, 'server_error'],
    ['wrong_issuer', 502, 'server_error'],
    ['expired', 502, 'server_error'],
    ['alg_none', 502, 'server_error'],
    ['opaque', 502, 'server_error'],
    ['embedded_jwk', 502, 'server_error'],
    ['jku', 502, 'server_error'],
    ['missing_exp', 502, 'server_error'],
    ['bad_signature', 502, 'server_error'],
  ];

  it.each(faults)(
    '%s: OAuth error %i, no upstream token in the body',
    async (fault, status, error) => {
      upstream.setFault(fault);
      // What the upstream hands out under this fault, to prove none of it comes back.
      const direct = (await (
        await postForm(upstream.tokenEndpoint, { grant_type: 'client_credentials', ...M2M })
      ).json()) as Record<string, unknown>;
      const upstreamToken = direct.access_token as string;
      const response = await postForm(tokenUrl, { grant_type: 'client_credentials', ...M2M });
      const text = await response.clone().text();
      await oauthError(response, status, error);
      for (const part of upstreamToken.split('.').filter((p) => p.length > 8)) {
        expect(text).not.toContain(part);
      }
      // Nor in the logs: they name a reason, never the token or the secret.
      const logs = gateway.logs.text();
      expect(logs).not.toContain('eyJ');
      expect(logs).not.toContain('m2m-secret');
      const line = gateway.logs
        .records()
        .filter((record) => record.route === 'token')
        .at(-1);
      expect(line).toMatchObject({ outcome: 'verify_failed', status });
    },
  );

  it('never fetches the JWKS a `jku` header points at', async () => {
    upstream.setFault('jku');
    const response = await postForm(tokenUrl, { grant_type: 'client_credentials', ...M2M });
    await oauthError(response, 502, 'server_error');
    expect(upstream.attackerJwksRequests()).toBe(0);
  });

  it('issues again once the upstream behaves', async () => {
    const { response } = await token({ ...M2M, scope: 'read:claims' });
    expect(response.status).toBe(200);
  });
});
