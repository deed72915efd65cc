/**
 * The upstream token cache shared through a real redis-server: three gateway replicas ask the
 * upstream once per client per token lifetime; what Redis holds is HMACed keys and sealed values
 * with a TTL; Redis going away is a metric and an in-process answer, never a client error.
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
import { scrape } from '../support/prometheus.js';
import { startRedis, type TestRedis } from './redis-server.js';

const AUDIENCE = 'https://api.example.com';
const CLIENTS = [
  { clientId: 'm2m-one', clientSecret: 'secret-one-value' },
  { clientId: 'm2m-two', clientSecret: 'secret-two-value' },
];
const CACHE_KEY = 'redis-test-cache-key-0123456789abcdef0123';
const LIFETIME_SECONDS = 3600;

let upstream: RunningAuth0Emulator;
let redis: TestRedis;
let replicas: TestGateway[] = [];

beforeAll(async () => {
  upstream = await startAuth0Emulator({
    clients: CLIENTS.map((client) => ({ ...client, grants: { [AUDIENCE]: ['read', 'write'] } })),
    defaultAudience: AUDIENCE,
    tokenLifetimeSeconds: LIFETIME_SECONDS,
  });
});

afterAll(async () => {
  await upstream?.close();
});

afterEach(async () => {
  await Promise.all(replicas.map((replica) => replica.close()));
  replicas = [];
  await redis?.stop();
});

async function startReplicas(count: number, redisUrl: string): Promise<TestGateway[]> {
  for (let index = 0; index < count; index++) {
    replicas.push(
      await startTestGateway({
        upstreamUrl: upstream.url,
        scopeRequest: 'omit',
        config: {
          clients: CLIENTS.map((client) => ({ client_id: client.clientId, cache: true })),
          cache: {
            upstream_tokens: {
              key: CACHE_KEY,
              backend: 'redis',
              max_ttl: '10m',
              redis: { url: redisUrl, timeout: '500ms' },
            },
          },
        },
      }),
    );
  }
  return replicas;
}

function ask(replica: TestGateway, client: (typeof CLIENTS)[number]) {
  return postForm(`${replica.url}/oauth/token`, {
    grant_type: 'client_credentials',
    client_id: client.clientId,
    client_secret: client.clientSecret,
    audience: AUDIENCE,
    scope: 'read',
  }).then(readTokenAnswer);
}

function upstreamCalls(clientId: string): number {
  return upstream.tokenRequests().filter((request) => request.params.client_id === clientId).length;
}

describe('upstream token cache shared through Redis', () => {
  it('three replicas ask the upstream once per client per token lifetime', async () => {
    redis = await startRedis();
    await startReplicas(3, redis.url);
    const before = CLIENTS.map((client) => upstreamCalls(client.clientId));
    // One replica asks first, so the others find the entry in Redis (concurrent first misses on
    // different replicas each ask the upstream: single-flight is per process).
    for (const client of CLIENTS)
      expect((await ask(replicas[0] as TestGateway, client)).status).toBe(200);
    const jtis = new Set<unknown>();
    for (let round = 0; round < 10; round++) {
      for (const replica of replicas) {
        for (const client of CLIENTS) {
          const answer = await ask(replica, client);
          expect(answer.status).toBe(200);
          expect(answer.claims?.scope).toBe('read');
          expect(answer.claims?.client_id).toBe(client.clientId);
          jtis.add(answer.claims?.jti);
        }
      }
    }
    expect(jtis.size).toBe(60);
    CLIENTS.forEach((client, index) => {
      expect(upstreamCalls(client.clientId) - (before[index] as number)).toBe(1);
    });
  });

  it('keeps only HMACed keys and sealed values, with a TTL within max_ttl', async () => {
    redis = await startRedis();
    const [replica] = await startReplicas(1, redis.url);
    const client = CLIENTS[0] as (typeof CLIENTS)[number];
    expect((await ask(replica as TestGateway, client)).status).toBe(200);
    const keys = await redis.client.keys('*');
    expect(keys).toHaveLength(1);
    const key = keys[0] as string;
    expect(key.startsWith('scopegate:token:')).toBe(true);
    const value = (await redis.client.getBuffer(key)) as Buffer;
    for (const secretish of [client.clientId, client.clientSecret, 'access_token', 'eyJ']) {
      expect(key).not.toContain(secretish);
      expect(value.toString('latin1')).not.toContain(secretish);
    }
    const ttl = await redis.client.pttl(key);
    expect(ttl).toBeGreaterThan(9 * 60_000);
    expect(ttl).toBeLessThanOrEqual(10 * 60_000);
  });

  it('a tampered entry is a miss, not an answer', async () => {
    redis = await startRedis();
    const [first, second] = await startReplicas(2, redis.url);
    const client = CLIENTS[1] as (typeof CLIENTS)[number];
    const before = upstreamCalls(client.clientId);
    expect((await ask(first as TestGateway, client)).status).toBe(200);
    const [key] = await redis.client.keys('*');
    const value = (await redis.client.getBuffer(key as string)) as Buffer;
    value[value.length - 1] = (value[value.length - 1] as number) ^ 1;
    await redis.client.set(key as string, value, 'PX', 60_000);
    expect((await ask(second as TestGateway, client)).status).toBe(200);
    expect(upstreamCalls(client.clientId) - before).toBe(2);
  });

  it('Redis down: clients still get tokens, from the process, and the metric counts it', async () => {
    redis = await startRedis();
    const [replica] = await startReplicas(1, redis.url);
    const gateway = replica as TestGateway;
    const client = CLIENTS[0] as (typeof CLIENTS)[number];
    await redis.stop();
    const before = upstreamCalls(client.clientId);
    for (let index = 0; index < 5; index++) expect((await ask(gateway, client)).status).toBe(200);
    // The in-process backend still answers: one upstream call, not five.
    expect(upstreamCalls(client.clientId) - before).toBe(1);
    const metrics = await scrape(gateway.adminUrl);
    expect(
      metrics.value('scopegate_token_cache_backend_errors_total', { backend: 'redis' }),
    ).toBeGreaterThan(0);
  });
});
