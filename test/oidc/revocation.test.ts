/**
 * Revocation at scopegate (RFC 7009), against a plausible upstream that does what real IdPs do:
 * its revocation endpoint authenticates the caller and revokes whatever token it is given
 * (whoever it was issued to), and its errors quote the token they were given. Two scopegate
 * replicas share a real redis-server for the revocation list; a third points at a Redis that is
 * not there. Real HTTP, real signatures, real AES-GCM.
 *
 * - Answers are scopegate's: 200 with an empty body, or an error from a fixed table; no byte of
 *   the upstream token scopegate sent (whole or cut) reaches the client, at revocation,
 *   introspection or a refresh grant.
 * - What scopegate revoked stays revoked everywhere it accepts its tokens (introspection, token
 *   exchange, revocation), on every replica, and for every token exchanged from it; when the
 *   list cannot be read, those requests are 503, never "not revoked".
 * - A token is revoked only for the client it was issued to: another client gets RFC 7009's 200
 *   and nothing is revoked, before anything of the token reaches the upstream.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../proxy/observability/log.js';
import { type ScopegateInstance, startScopegate } from '../../proxy/server/instance.js';
import { startRedis, type TestRedis } from '../cache/redis-server.js';
import {
  type CustomTokenHandler,
  type CustomTokenRequest,
  type CustomUpstream,
  startCustomUpstream,
} from '../support/custom-upstream.js';
import {
  jwtPayload,
  LogCapture,
  postForm,
  startTestGateway,
  type TestGateway,
} from '../support/gateway.js';

const CLIENTS: Record<string, string> = { c1: 'c1-secret', c2: 'c2-secret' };
const basic = (id: string, secret = CLIENTS[id] ?? '') =>
  `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

let upstream: CustomUpstream;
let redis: TestRedis;
let gateway: TestGateway;
/** A second replica: the same configuration file (keys, issuer, Redis). */
let replica: ScopegateInstance;
/** A replica whose Redis is not there. */
let redisless: TestGateway;

/** What the upstream's revocation endpoint revoked, and the refresh tokens it still honours. */
const revokedUpstream = new Set<string>();
let issued = 0;
/** When set, the upstream's revocation and introspection endpoints refuse, quoting the token. */
let quoting = false;

function callerOf(request: CustomTokenRequest): string | undefined {
  const header = request.headers.authorization;
  if (header?.startsWith('Basic ')) {
    const [id, secret] = Buffer.from(header.slice(6), 'base64').toString('utf8').split(':');
    return id !== undefined && CLIENTS[id] === secret ? id : undefined;
  }
  const { client_id: id, client_secret: secret } = request.params;
  return id !== undefined && CLIENTS[id] === secret ? id : undefined;
}

/** Client credentials (and refresh): the caller's token, with a refresh token. */
const tokenEndpoint: CustomTokenHandler = (request, idp) => {
  const client = callerOf(request);
  if (client === undefined) return { status: 401, body: { error: 'invalid_client' } };
  if (request.params.grant_type === 'refresh_token') {
    const given = request.params.refresh_token ?? '';
    if (revokedUpstream.has(given) || !given.startsWith('upstream-rt-')) {
      // Like many IdPs: the error names the token it was given.
      return {
        status: 400,
        body: {
          error: 'invalid_grant',
          error_description: `refresh token ${given} is revoked or unknown`,
          error_uri: `https://idp.example/errors?token=${given}`,
        },
        headers: { 'www-authenticate': `Bearer error="invalid_grant", token="${given}"` },
      };
    }
  }
  issued += 1;
  return idp.tokenResponse(
    { sub: `${client}-sub`, client_id: client, scope: request.params.scope ?? 'openid read' },
    { refresh_token: `upstream-rt-${issued}-${randomBytes(12).toString('hex')}` },
  );
};

const revocationEndpoint: CustomTokenHandler = (request) => {
  const client = callerOf(request);
  if (client === undefined) return { status: 401, body: { error: 'invalid_client' } };
  const token = request.params.token ?? '';
  if (quoting) {
    return {
      status: 400,
      body: {
        error: 'unauthorized_client',
        error_description: `token ${token.slice(0, 20)}... cannot be revoked by this client`,
        error_uri: `https://idp.example/errors?token=${token}`,
      },
      headers: { 'www-authenticate': `Basic error_description="token ${token}"` },
    };
  }
  // No ownership check: the plausible upstream revokes what an authenticated client names.
  revokedUpstream.add(token);
  return { body: '' };
};

const introspectionEndpoint: CustomTokenHandler = (request) => {
  const client = callerOf(request);
  const token = request.params.token ?? '';
  if (quoting || client === undefined) {
    return {
      status: 401,
      body: {
        error: 'invalid_client',
        // A cut from the middle: no whole token, nothing shaped like a JWS.
        error_description: `client may not introspect ...${token.slice(40, 70)}...`,
      },
    };
  }
  return { body: { active: !revokedUpstream.has(token) && token.startsWith('eyJ') } };
};

function gatewayConfig(redisUrl: string): Record<string, unknown> {
  return {
    tokens: {
      refresh_token_key: randomBytes(32).toString('base64url'),
      upstream_token_key: randomBytes(32).toString('base64url'),
      revocation: { store: 'redis', redis: { url: redisUrl, timeout: '200ms' } },
    },
  };
}

beforeAll(async () => {
  redis = await startRedis();
  upstream = await startCustomUpstream({
    alg: 'ES256',
    handler: tokenEndpoint,
    routes: { '/oauth/revoke': revocationEndpoint, '/oauth/introspect': introspectionEndpoint },
    document: (url) => ({
      revocation_endpoint: `${url}/oauth/revoke`,
      introspection_endpoint: `${url}/oauth/introspect`,
    }),
  });
  const options = { upstreamUrl: upstream.url };
  [gateway, redisless] = await Promise.all([
    startTestGateway({ ...options, config: gatewayConfig(redis.url) }),
    startTestGateway({ ...options, config: gatewayConfig('unix:///nonexistent/redis.sock') }),
  ]);
  const logs = new LogCapture();
  replica = await startScopegate({
    configFile: gateway.configFile,
    logger: createLogger({ level: 'warn', format: 'json', destination: logs }),
    env: {},
  });
});

afterAll(async () => {
  await replica?.shutdown();
  await Promise.all([gateway?.close(), redisless?.close()]);
  await upstream?.close();
  await redis?.stop();
});

async function tokensFor(client: string, scope = 'openid read', target = gateway.url) {
  const response = await postForm(
    `${target}/oauth/token`,
    { grant_type: 'client_credentials', scope },
    { authorization: basic(client) },
  );
  const body = (await response.json()) as Record<string, unknown>;
  expect(response.status, JSON.stringify(body)).toBe(200);
  return { access: body.access_token as string, refresh: body.refresh_token as string };
}

async function revoke(token: string, authorization: string, target = gateway.url) {
  const response = await postForm(`${target}/oauth/revoke`, { token }, { authorization });
  const text = await response.text();
  return { status: response.status, text, headers: response.headers };
}

async function introspect(token: string, target = gateway.url) {
  const response = await postForm(
    `${target}/oauth/introspect`,
    { token },
    { authorization: basic('c1') },
  );
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function exchange(token: string, target = gateway.url) {
  const response = await postForm(`${target}/oauth/token`, {
    grant_type: EXCHANGE,
    subject_token: token,
    subject_token_type: ACCESS_TYPE,
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function refresh(token: string, client = 'c1') {
  const response = await postForm(
    `${gateway.url}/oauth/token`,
    { grant_type: 'refresh_token', refresh_token: token },
    { authorization: basic(client) },
  );
  const text = await response.text();
  return { status: response.status, text, headers: response.headers };
}

describe('revocation answers are built, never relayed (issue 18, item 4)', () => {
  it('an upstream refusal quoting the refresh token reaches the client in scopegate words only', async () => {
    const { refresh: wrapped } = await tokensFor('c1');
    quoting = true;
    let answer: Awaited<ReturnType<typeof revoke>>;
    try {
      answer = await revoke(wrapped, basic('c1'));
    } finally {
      quoting = false;
    }
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.text)).toEqual({
      error: 'unauthorized_client',
      error_description: 'the client is not allowed to use this endpoint',
    });
    const seen = [answer.text, ...[...answer.headers].map(([name, value]) => `${name}: ${value}`)];
    expect(seen.join('\n')).not.toMatch(/upstream-rt-/);
  });

  it('succeeds with 200 and an empty body, whatever the upstream wrote', async () => {
    const { refresh: wrapped } = await tokensFor('c1');
    const answer = await revoke(wrapped, basic('c1'));
    expect(answer.status).toBe(200);
    expect(answer.text).toBe('');
    expect(answer.headers.get('cache-control')).toBe('no-store');
  });

  it('a refresh grant error quoting the upstream refresh token does not pass it on', async () => {
    const { refresh: wrapped } = await tokensFor('c1');
    expect((await revoke(wrapped, basic('c1'))).status).toBe(200);
    expect([...revokedUpstream].some((token) => token.startsWith('upstream-rt-'))).toBe(true);
    const answer = await refresh(wrapped);
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.text)).toMatchObject({ error: 'invalid_grant' });
    const seen = [answer.text, ...[...answer.headers].map(([name, value]) => `${name}: ${value}`)];
    expect(seen.join('\n')).not.toMatch(/upstream-rt-/);
  });

  it('an introspection refusal quoting part of the sealed token does not pass it on', async () => {
    const { access } = await tokensFor('c1');
    quoting = true;
    let answer: Awaited<ReturnType<typeof introspect>>;
    try {
      answer = await introspect(access);
    } finally {
      quoting = false;
    }
    expect(answer.status).toBe(401);
    expect(answer.body).toEqual({
      error: 'invalid_client',
      error_description: 'client authentication failed',
    });
  });
});

describe('revocation state is honoured everywhere (issue 18, item 5)', () => {
  it('a revoked token and every token exchanged from it are refused, on every replica', async () => {
    const { access } = await tokensFor('c1');
    const derived = await exchange(access);
    expect(derived.status, JSON.stringify(derived.body)).toBe(200);
    const child = derived.body.access_token as string;
    const grandchild = (await exchange(child)).body.access_token as string;
    expect(jwtPayload(grandchild).sg_rev).toEqual([jwtPayload(child).jti, jwtPayload(access).jti]);
    expect((await introspect(child)).body.active).toBe(true);

    expect((await revoke(access, basic('c1'))).status).toBe(200);
    for (const target of [gateway.url, replica.publicUrl]) {
      for (const token of [access, child, grandchild]) {
        expect((await introspect(token, target)).body, target).toEqual({ active: false });
        const again = await exchange(token, target);
        expect(again.status, target).toBe(400);
        expect(again.body).toMatchObject({ error: 'invalid_request' });
        expect(String(again.body.error_description)).toMatch(/revoked/);
      }
    }
  });

  it('revoking an exchanged token leaves its subject good', async () => {
    const { access } = await tokensFor('c1');
    const child = (await exchange(access)).body.access_token as string;
    expect((await revoke(child, basic('c1'))).status).toBe(200);
    expect((await introspect(child)).body).toEqual({ active: false });
    expect((await introspect(access)).body.active).toBe(true);
    expect((await exchange(access)).status).toBe(200);
  });

  it('a token without the upstream one inside (no openid) is revocable too', async () => {
    const { access } = await tokensFor('c1', 'read');
    expect(jwtPayload(access)).not.toHaveProperty('sg_ut');
    expect((await introspect(access)).body.active).toBe(true);
    expect((await revoke(access, basic('c1'))).status).toBe(200);
    expect((await introspect(access, replica.publicUrl)).body).toEqual({ active: false });
  });

  it('fails closed when the revocation list cannot be read or written', async () => {
    const { access } = await tokensFor('c1', 'openid read', redisless.url);
    const introspected = await introspect(access, redisless.url);
    expect(introspected.status).toBe(503);
    expect(introspected.body).toMatchObject({ error: 'temporarily_unavailable' });
    const exchanged = await exchange(access, redisless.url);
    expect(exchanged.status).toBe(503);
    expect(exchanged.body).not.toHaveProperty('access_token');
    const revoked = await revoke(access, basic('c1'), redisless.url);
    expect(revoked.status).toBe(503);
  });
});

describe('a token is revoked only for its own client (issue 18, item 6)', () => {
  it("another client's revocation of a refresh token revokes nothing and tells nothing", async () => {
    const { refresh: wrapped } = await tokensFor('c1');
    const known = new Set(revokedUpstream);
    const answer = await revoke(wrapped, basic('c2'));
    expect(answer.status).toBe(200);
    expect(answer.text).toBe('');
    // The upstream was asked only to authenticate c2, with a token nobody issued.
    const newlyRevoked = [...revokedUpstream].filter((token) => !known.has(token));
    expect(newlyRevoked.every((token) => !token.startsWith('upstream-rt-'))).toBe(true);
    expect((await refresh(wrapped)).status).toBe(200);
  });

  it("another client's revocation of an access token revokes nothing", async () => {
    const { access } = await tokensFor('c1');
    expect((await revoke(access, basic('c2'))).status).toBe(200);
    expect((await introspect(access)).body.active).toBe(true);
    expect((await exchange(access)).status).toBe(200);
    // Naming c1 in the form while authenticating as c2 is refused outright.
    const mixed = await postForm(
      `${gateway.url}/oauth/revoke`,
      { token: access, client_id: 'c1' },
      { authorization: basic('c2') },
    );
    expect(mixed.status).toBe(400);
    expect((await introspect(access)).body.active).toBe(true);
  });

  it('a caller the upstream does not authenticate is 401, whatever it names', async () => {
    const { access, refresh: wrapped } = await tokensFor('c1');
    for (const token of [access, wrapped]) {
      for (const authorization of [basic('c1', 'wrong'), basic('c2', 'wrong')]) {
        const answer = await revoke(token, authorization);
        expect(answer.status).toBe(401);
        expect(JSON.parse(answer.text)).toMatchObject({ error: 'invalid_client' });
        expect(answer.headers.get('www-authenticate')).toMatch(/^Basic/);
      }
    }
    const anonymous = await postForm(`${gateway.url}/oauth/revoke`, { token: access });
    expect(anonymous.status).toBe(401);
    expect((await introspect(access)).body.active).toBe(true);
    expect((await refresh(wrapped)).status).toBe(200);
  });
});
