/**
 * Entries in the shared cache are judged by the reader's configuration, whoever wrote them
 * (real redis-server, real gateway instances, the Auth0 emulator upstream):
 * - a replica with `max_ttl: 1s` does not serve what a replica with `max_ttl: 10m` kept once it
 *   is older than a second;
 * - a replica whose margin the token no longer meets asks the upstream;
 * - a reload shortening `max_ttl` reaches the entries already kept, in Redis and in process;
 * - a kept answer is narrowed again under the reader's policies.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type RunningAuth0Emulator,
  startAuth0Emulator,
} from '../fixtures/auth0-emulator/auth0-emulator.js';
import {
  postForm,
  readTokenAnswer,
  startTestGateway,
  type TestGateway,
} from '../support/gateway.js';
import { startRedis, type TestRedis } from './redis-server.js';

const AUDIENCE = 'https://api.example.com';
const CLIENT = { clientId: 'm2m-rules', clientSecret: 'secret-rules-value' };
const CACHE_KEY = 'reader-rules-cache-key-0123456789abcdef01';
/** Upstream tokens live two minutes: a five-minute margin is never met. */
const LIFETIME_SECONDS = 120;

let upstream: RunningAuth0Emulator;
let redis: TestRedis;
let gateways: TestGateway[] = [];

beforeAll(async () => {
  upstream = await startAuth0Emulator({
    clients: [{ ...CLIENT, grants: { [AUDIENCE]: ['read', 'write'] } }],
    defaultAudience: AUDIENCE,
    tokenLifetimeSeconds: LIFETIME_SECONDS,
  });
});

afterAll(async () => {
  await upstream?.close();
});

afterEach(async () => {
  await Promise.all(gateways.map((gateway) => gateway.close()));
  gateways = [];
  await redis?.stop();
});

function cacheConfig(tokenCache: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return {
    clients: [{ client_id: CLIENT.clientId, cache: true }],
    tokens: { on_unauthorized_scope: 'drop' },
    cache: {
      upstream_tokens: {
        key: CACHE_KEY,
        backend: 'redis',
        redis: { url: redis.url, timeout: '500ms' },
        ...tokenCache,
      },
    },
    ...extra,
  };
}

async function replica(
  tokenCache: Record<string, unknown>,
  extra?: Record<string, unknown>,
): Promise<TestGateway> {
  const gateway = await startTestGateway({
    upstreamUrl: upstream.url,
    scopeRequest: 'omit',
    config: cacheConfig(tokenCache, extra),
  });
  gateways.push(gateway);
  return gateway;
}

function ask(gateway: TestGateway, scope = 'read') {
  return postForm(`${gateway.url}/oauth/token`, {
    grant_type: 'client_credentials',
    client_id: CLIENT.clientId,
    client_secret: CLIENT.clientSecret,
    audience: AUDIENCE,
    scope,
  }).then(readTokenAnswer);
}

function upstreamCalls(): number {
  return upstream.tokenRequests().filter((request) => request.params.client_id === CLIENT.clientId)
    .length;
}

/** Waits until an entry written now is older than `ms` by any clock: ages only grow. */
const olderThan = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms + 200));

async function issued(gateway: TestGateway, scope?: string): Promise<string> {
  const answer = await ask(gateway, scope);
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return String(answer.claims?.scope);
}

describe("shared cache entries under the reader's rules", () => {
  it('a replica with max_ttl 1s does not serve what one with max_ttl 10m kept', async () => {
    redis = await startRedis();
    const long = await replica({ max_ttl: '10m' });
    const short = await replica({ max_ttl: '1s' });
    const before = upstreamCalls();
    await issued(long);
    expect(upstreamCalls() - before).toBe(1);
    // The writer's entry stays in Redis until its token is 30 s from expiry (90 s) ...
    const [key] = await redis.client.keys('*');
    expect(await redis.client.pttl(key as string)).toBeGreaterThan(60_000);
    await olderThan(1000);
    // ... and older than the reader's max_ttl: asked again.
    await issued(short);
    expect(upstreamCalls() - before).toBe(2);
    // The writer keeps using what it kept under its own rules.
    await issued(long);
    expect(upstreamCalls() - before).toBe(2);
  });

  it('a replica whose margin the kept token no longer meets asks the upstream', async () => {
    redis = await startRedis();
    const writer = await replica({ max_ttl: '10m', expiry_margin: '30s' });
    const strict = await replica({ max_ttl: '10m', expiry_margin: '5m' });
    const before = upstreamCalls();
    await issued(writer);
    await issued(strict);
    expect(upstreamCalls() - before).toBe(2);
    await issued(writer);
    expect(upstreamCalls() - before).toBe(2);
  });

  it('a reload shortening max_ttl reaches entries already kept, in Redis and in process', async () => {
    redis = await startRedis();
    const gateway = await replica({ max_ttl: '10m' });
    const before = upstreamCalls();
    await issued(gateway);
    await issued(gateway);
    expect(upstreamCalls() - before).toBe(1);
    await gateway.writeConfig({
      ...gateway.config,
      ...cacheConfig({ max_ttl: '1s' }),
    });
    expect(await gateway.instance.reload()).toBe(true);
    await olderThan(1000);
    await issued(gateway);
    expect(upstreamCalls() - before).toBe(2);
  });

  it('a reload shortening max_ttl reaches the in-process backend alone', async () => {
    redis = await startRedis();
    const gateway = await replica({ max_ttl: '10m', backend: 'memory', redis: undefined });
    const before = upstreamCalls();
    await issued(gateway);
    await issued(gateway);
    expect(upstreamCalls() - before).toBe(1);
    await gateway.writeConfig({
      ...gateway.config,
      ...cacheConfig({ max_ttl: '1s', backend: 'memory', redis: undefined }),
    });
    expect(await gateway.instance.reload()).toBe(true);
    await olderThan(1000);
    await issued(gateway);
    expect(upstreamCalls() - before).toBe(2);
  });

  it("a kept answer is narrowed again under the reader's policies", async () => {
    redis = await startRedis();
    const open = await replica({ max_ttl: '10m' });
    // The reader lets nobody but another client have write.
    const governed = await replica(
      { max_ttl: '10m' },
      { scopes: [{ template: 'write', clients: ['someone-else'] }] },
    );
    const before = upstreamCalls();
    expect(await issued(open, 'read write')).toBe('read write');
    expect(await issued(governed, 'read write')).toBe('read');
    // The second answer came from the entry the first replica kept.
    expect(upstreamCalls() - before).toBe(1);
  });
});
