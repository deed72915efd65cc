/**
 * The token endpoint against a programmable upstream (test/support/custom-upstream.ts): the
 * refresh_token grant, audience checks, lifetime caps, reserved claims, algorithm allowlists, and
 * upstream answers that are neither a token nor an error. Real HTTP, real signatures.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CustomTokenHandler,
  type CustomUpstream,
  startCustomUpstream,
} from '../support/custom-upstream.js';
import {
  jwtHeader,
  jwtPayload,
  postForm,
  startTestGateway,
  type TestGateway,
} from '../support/gateway.js';

const AUD = 'https://api.example.com';
const now = () => Math.floor(Date.now() / 1000);

let upstream: CustomUpstream;
let gateway: TestGateway;
let tokenUrl: string;

beforeAll(async () => {
  upstream = await startCustomUpstream();
  gateway = await startTestGateway({
    upstreamUrl: upstream.url,
    config: {
      upstream: { timeout: '500ms' },
      tokens: { max_lifetime: '5m' },
      clients: [{ client_id: 'partner-x', scope_format: 'array' }],
    },
  });
  tokenUrl = `${gateway.url}/oauth/token`;
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

/** Gives every test its own token endpoint behaviour. */
function answer(handler: CustomTokenHandler): void {
  upstream.setHandler(handler);
}

async function call(params: Record<string, string>, url = tokenUrl) {
  const response = await postForm(url, params);
  const text = await response.text();
  return { response, text, body: JSON.parse(text) as Record<string, unknown> };
}

function expectFailedClosed(result: { response: Response; text: string }, status = 502) {
  expect(result.response.status).toBe(status);
  expect(result.text).not.toContain('eyJ');
  expect(result.response.headers.get('cache-control')).toBe('no-store');
  const body = JSON.parse(result.text) as Record<string, unknown>;
  expect(body).not.toHaveProperty('access_token');
  return body;
}

describe('refresh_token grant', () => {
  it('re-signs the refreshed token and narrows it to the requested scope', async () => {
    // This upstream ignores the requested scope, like Auth0: scopegate must narrow.
    answer((request, idp) =>
      idp.tokenResponse(
        { sub: 'user-1', client_id: 'web', aud: AUD, scope: 'openid read write admin' },
        { refresh_token: `rt-${request.params.refresh_token}-next` },
      ),
    );
    const { response, body } = await call({
      grant_type: 'refresh_token',
      refresh_token: 'rt-1',
      client_id: 'web',
      scope: 'read',
    });
    expect(response.status).toBe(200);
    expect(body).toMatchObject({ scope: 'read', token_type: 'Bearer' });
    // Without tokens.refresh_token_key the upstream's rotated refresh token cannot be bound to
    // the narrowed scopes: it is withheld (test/oidc/refresh.test.ts covers the bound form).
    expect(body).not.toHaveProperty('refresh_token');
    const token = body.access_token as string;
    expect(jwtHeader(token)).toMatchObject({ alg: 'ES256', kid: 'test-key', typ: 'at+jwt' });
    expect(jwtPayload(token)).toMatchObject({
      iss: 'https://gateway.test',
      sub: 'user-1',
      client_id: 'web',
      aud: AUD,
      scope: 'read',
    });
    // scope_request: forward — the upstream saw the requested scope and the refresh token.
    expect(upstream.requests.at(-1)?.params).toMatchObject({
      grant_type: 'refresh_token',
      refresh_token: 'rt-1',
      scope: 'read',
    });
    const line = gateway.logs
      .records()
      .filter((record) => record.route === 'token')
      .at(-1);
    expect(line).toMatchObject({ grantType: 'refresh_token', outcome: 'narrowed' });
    expect(gateway.logs.text()).not.toContain('rt-1');
  });

  it('grants everything the refreshed token carries when no scope is requested', async () => {
    answer((_request, idp) =>
      idp.tokenResponse({ sub: 'user-1', client_id: 'web', aud: AUD, scope: 'read write' }),
    );
    const { body } = await call({ grant_type: 'refresh_token', refresh_token: 'rt-2' });
    expect(body.scope).toBe('read write');
    expect(jwtPayload(body.access_token as string).scope).toBe('read write');
  });

  it('refuses a refresh that asks for more than the upstream granted', async () => {
    answer((_request, idp) => idp.tokenResponse({ sub: 'u', client_id: 'web', scope: 'read' }));
    const result = await call({
      grant_type: 'refresh_token',
      refresh_token: 'rt',
      scope: 'read admin',
    });
    const body = expectFailedClosed(result, 400);
    expect(body).toMatchObject({ error: 'invalid_scope' });
  });
});

describe('identity and claims', () => {
  it('refuses a token whose aud is not the audience requested', async () => {
    answer((_request, idp) =>
      idp.tokenResponse({ sub: 'c', client_id: 'c', aud: 'https://other.example', scope: 'a' }),
    );
    // The client asked for a target it cannot have: its error (RFC 8707), not the upstream's.
    const result = await call({ grant_type: 'client_credentials', audience: AUD });
    expect(expectFailedClosed(result, 400)).toMatchObject({ error: 'invalid_target' });
    const resource = await call({ grant_type: 'client_credentials', resource: AUD });
    expect(expectFailedClosed(resource, 400)).toMatchObject({ error: 'invalid_target' });
  });

  it('accepts an aud array that includes the requested audience', async () => {
    answer((_request, idp) =>
      idp.tokenResponse({ sub: 'c', client_id: 'c', aud: [AUD, 'https://other'], scope: 'a' }),
    );
    const { response, body } = await call({ grant_type: 'client_credentials', audience: AUD });
    expect(response.status).toBe(200);
    expect(jwtPayload(body.access_token as string).aud).toEqual([AUD, 'https://other']);
  });

  it('caps exp and expires_in at tokens.max_lifetime', async () => {
    answer((_request, idp) =>
      idp.tokenResponse({ sub: 'c', client_id: 'c', scope: 'a', exp: now() + 86_400 }),
    );
    const { body } = await call({ grant_type: 'client_credentials' });
    const claims = jwtPayload(body.access_token as string);
    expect((claims.exp as number) - (claims.iat as number)).toBe(300);
    expect(body.expires_in).toBeGreaterThanOrEqual(299);
    expect(body.expires_in).toBeLessThanOrEqual(300);
  });

  it('never outlives the upstream token', async () => {
    const upstreamExp = now() + 60;
    answer((_request, idp) =>
      idp.tokenResponse({ sub: 'c', client_id: 'c', scope: 'a', exp: upstreamExp }),
    );
    const { body } = await call({ grant_type: 'client_credentials' });
    expect(jwtPayload(body.access_token as string).exp).toBe(upstreamExp);
    expect(body.expires_in).toBeLessThanOrEqual(60);
  });

  it('keeps reserved claims its own whatever the upstream token says', async () => {
    const issuedAt = now() - 120;
    answer((_request, idp) =>
      idp.tokenResponse({
        sub: 'c',
        client_id: 'c',
        aud: AUD,
        scope: 'a b',
        scp: ['admin'],
        permissions: ['a', 'b', 'admin'],
        jti: 'upstream-jti',
        iat: issuedAt,
        nbf: issuedAt,
        gty: 'client-credentials',
        department: 'not listed',
      }),
    );
    const { body } = await call({ grant_type: 'client_credentials', scope: 'a' });
    const claims = jwtPayload(body.access_token as string);
    expect(claims).toMatchObject({
      iss: 'https://gateway.test',
      sub: 'c',
      client_id: 'c',
      aud: AUD,
      scope: 'a',
      permissions: ['a'],
      // A protocol claim of tokens.carry_claims is carried; a custom claim no list names is not.
      gty: 'client-credentials',
    });
    expect(claims).not.toHaveProperty('department');
    expect(claims.jti).not.toBe('upstream-jti');
    expect(claims.iat).toBeGreaterThan(issuedAt);
    expect(claims).not.toHaveProperty('scp');
    expect(claims).not.toHaveProperty('nbf');
  });

  it('takes the client from the verified token, not from the request', async () => {
    answer((_request, idp) => idp.tokenResponse({ sub: 'c', client_id: 'plain', scope: 'a b' }));
    // The request claims to be the partner; the token says otherwise: no array format.
    const { body } = await call({ grant_type: 'client_credentials', client_id: 'partner-x' });
    const claims = jwtPayload(body.access_token as string);
    expect(claims.client_id).toBe('plain');
    expect(claims.scope).toBe('a b');
  });

  it('ignores granted values that are not scope tokens', async () => {
    answer((_request, idp) =>
      idp.tokenResponse({ sub: 'c', client_id: 'partner-x', scope: ['a', 'b admin', 7, 'c'] }),
    );
    const { body } = await call({ grant_type: 'client_credentials' });
    expect(body.scope).toBe('a c');
    expect(jwtPayload(body.access_token as string).scope).toEqual(['a', 'c']);
  });
});

describe('algorithm allowlist', () => {
  it('refuses an HS256 token keyed with the public key (algorithm confusion)', async () => {
    answer(async (_request, idp) => {
      const secret = new TextEncoder().encode(JSON.stringify(idp.publicJwk));
      const token = await idp.sign(
        { sub: 'c', client_id: 'c', scope: 'a' },
        { header: { alg: 'HS256' }, key: secret },
      );
      return { body: { access_token: token, token_type: 'Bearer', expires_in: 3600 } };
    });
    const result = await call({ grant_type: 'client_credentials' });
    expect(expectFailedClosed(result)).toMatchObject({ error: 'server_error' });
  });

  it('refuses an RSA-signed token when upstream.algorithms is [ES256]', async () => {
    answer((_request, idp) => idp.tokenResponse({ sub: 'c', client_id: 'c', scope: 'a' }));
    const strict = await startTestGateway({
      upstreamUrl: upstream.url,
      config: { upstream: { algorithms: ['ES256'] } },
    });
    try {
      const result = await call({ grant_type: 'client_credentials' }, `${strict.url}/oauth/token`);
      expectFailedClosed(result);
      // The same token through the default allowlist verifies: the refusal is the algorithm's.
      const { response } = await call({ grant_type: 'client_credentials' });
      expect(response.status).toBe(200);
    } finally {
      await strict.close();
    }
  });

  it('accepts an ES256 upstream when upstream.algorithms is [ES256]', async () => {
    const ecUpstream = await startCustomUpstream({ alg: 'ES256' });
    const strict = await startTestGateway({
      upstreamUrl: ecUpstream.url,
      config: { upstream: { algorithms: ['ES256'] } },
    });
    try {
      const { response, body } = await call(
        { grant_type: 'client_credentials', scope: 'a' },
        `${strict.url}/oauth/token`,
      );
      expect(response.status).toBe(200);
      expect(jwtPayload(body.access_token as string).scope).toBe('a');
    } finally {
      await strict.close();
      await ecUpstream.close();
    }
  });
});

describe('upstream answers that are neither a token nor an error', () => {
  it('rebuilds an upstream 401, keeping WWW-Authenticate and nothing else of its headers', async () => {
    answer(() => ({
      status: 401,
      body: { error: 'invalid_client', error_description: 'client authentication failed' },
      headers: { 'www-authenticate': 'Basic realm="idp"', 'x-upstream': 'yes' },
    }));
    const { response, body } = await call({ grant_type: 'client_credentials' });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Basic realm="idp"');
    expect(response.headers.get('x-upstream')).toBeNull();
    expect(body).toEqual({
      error: 'invalid_client',
      error_description: 'client authentication failed',
    });
  });

  it('rebuilds an upstream 503, keeping retry-after', async () => {
    answer(() => ({
      status: 503,
      body: { error: 'temporarily_unavailable' },
      headers: { 'retry-after': '7' },
    }));
    const { response } = await call({ grant_type: 'client_credentials' });
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('7');
  });

  it.each([
    [201, {}],
    [307, { location: 'http://idp.example/oauth/token' }],
    [302, { location: 'http://idp.example/login' }],
  ])('fails closed on an upstream %i carrying a token', async (status, headers) => {
    answer(async (_request, idp) => {
      const answerBody = (await idp.tokenResponse({ sub: 'c', client_id: 'c', scope: 'a' })).body;
      return { status, body: answerBody, headers };
    });
    const result = await call({ grant_type: 'client_credentials' });
    expectFailedClosed(result);
    expect(result.response.headers.get('location')).toBeNull();
  });

  it('fails closed on an error status whose body carries a token', async () => {
    answer(async (_request, idp) => ({
      status: 400,
      body: {
        error: 'invalid_request',
        ...((await idp.tokenResponse({ sub: 'c', scope: 'a' })).body as object),
      },
    }));
    expectFailedClosed(await call({ grant_type: 'client_credentials' }));
  });

  it.each([
    ['not JSON', 'eyJ-looking but not JSON'],
    ['a JSON array', ['eyJ']],
    ['no access_token', { token_type: 'Bearer' }],
    ['a non-string access_token', { access_token: 42 }],
  ])('fails closed on a 200 with %s', async (_what, responseBody) => {
    answer(() => ({ body: responseBody }));
    expectFailedClosed(await call({ grant_type: 'client_credentials' }));
  });

  it('fails closed on a token response over 1 MiB', async () => {
    answer(async (_request, idp) => ({
      body: {
        ...((await idp.tokenResponse({ sub: 'c', scope: 'a' })).body as object),
        padding: 'x'.repeat(1_100_000),
      },
    }));
    expectFailedClosed(await call({ grant_type: 'client_credentials' }));
  });
});

describe('an upstream URL with a base path', () => {
  it('intercepts the client path the proxy would map onto the upstream token endpoint', async () => {
    answer((_request, idp) => idp.tokenResponse({ sub: 'c', client_id: 'c', scope: 'a b' }));
    // Proxied, `/token` would become `/oauth` + `/token`: the upstream token endpoint.
    const based = await startTestGateway({
      upstreamUrl: `${upstream.url}/oauth`,
      config: { upstream: { issuer: upstream.issuer, jwks_uri: upstream.jwksUri } },
    });
    try {
      for (const path of ['/token', '/oauth/token']) {
        const { response, body } = await call(
          { grant_type: 'client_credentials', scope: 'a' },
          `${based.url}${path}`,
        );
        expect(response.status, path).toBe(200);
        expect(jwtHeader(body.access_token as string), path).toMatchObject({ alg: 'ES256' });
        expect(body.scope, path).toBe('a');
      }
    } finally {
      await based.close();
    }
  });
});

describe('upstream connection failures', () => {
  let raw: Server;
  let rawGateway: TestGateway;
  let mode: 'trickle' | 'cut' = 'trickle';

  beforeAll(async () => {
    // Serves discovery and JWKS from the custom upstream; misbehaves on the token endpoint.
    raw = createServer((req, res) => {
      if (req.url !== '/oauth/token') {
        res.writeHead(302, { location: `${upstream.url}${req.url}` });
        res.end();
        return;
      }
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      if (mode === 'cut') {
        res.write('{"access_token":"eyJ');
        setTimeout(() => res.destroy(), 20);
        return;
      }
      // One byte every 100 ms: never idle long enough for a socket timeout to fire.
      const timer = setInterval(() => {
        if (res.destroyed) clearInterval(timer);
        else res.write(' ');
      }, 100);
      res.on('close', () => clearInterval(timer));
    });
    await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
    rawGateway = await startTestGateway({
      upstreamUrl: `http://127.0.0.1:${(raw.address() as AddressInfo).port}`,
      config: {
        upstream: { timeout: '400ms', issuer: upstream.issuer, jwks_uri: upstream.jwksUri },
      },
    });
  });

  afterAll(async () => {
    await rawGateway?.close();
    raw?.closeAllConnections();
    await new Promise<void>((resolve) => raw?.close(() => resolve()));
  });

  it('answers 504 when the upstream trickles its answer past upstream.timeout', async () => {
    mode = 'trickle';
    const started = Date.now();
    const result = await call(
      { grant_type: 'client_credentials' },
      `${rawGateway.url}/oauth/token`,
    );
    expect(expectFailedClosed(result, 504)).toMatchObject({ error: 'temporarily_unavailable' });
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('answers 502 when the upstream cuts its answer short', async () => {
    mode = 'cut';
    const result = await call(
      { grant_type: 'client_credentials' },
      `${rawGateway.url}/oauth/token`,
    );
    expectFailedClosed(result, 502);
  });
});
