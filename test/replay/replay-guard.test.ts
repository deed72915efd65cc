/**
 * The replay guard that DPoP proofs and client assertions rely on: a value is accepted once per
 * window, across replicas when they share Redis, and the guard fails closed (503) when it cannot
 * tell.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.js';
import { OAuthError } from '../../proxy/http/oauth-error.js';
import { ReplayGuard } from '../../proxy/runtime/replay-guard.js';
import { SeenInMemory } from '../../proxy/runtime/replay-in-memory.js';
import { startRedis, type TestRedis } from '../cache/redis-server.js';
import { waitFor } from '../support/wait.js';

function settings(replay: Record<string, unknown>) {
  return configSchema.parse({
    listen: '127.0.0.1:0',
    issuer: 'https://gateway.example',
    upstream: { url: 'https://idp.example' },
    signing: { keys: [{ kid: 'k1', alg: 'ES256', private_key_file: 'k1.pem' }] },
    tokens: { replay },
  }).tokens.replay;
}

describe('SeenInMemory', () => {
  it('answers first use once, forgets a value only after its window, and refuses when full', () => {
    let now = 1_000;
    const seen = new SeenInMemory(2, () => now);
    expect(seen.firstUse('a', 2_000)).toBe(true);
    expect(seen.firstUse('a', 2_000)).toBe(false);
    expect(seen.firstUse('b', 3_000)).toBe(true);
    expect(() => seen.firstUse('c', 3_000)).toThrow(/full/);
    now = 2_001; // a's window is over: it may go, and c fits
    expect(seen.firstUse('c', 3_000)).toBe(true);
    expect(seen.firstUse('b', 3_000)).toBe(false);
    expect(seen.size).toBe(2);
  });
});

describe('ReplayGuard', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('keeps proof and assertion values apart', async () => {
    const guard = new ReplayGuard(settings({}));
    const until = Date.now() + 60_000;
    expect(await guard.firstUse('dpop', 'x', until)).toBe(true);
    expect(await guard.firstUse('assertion', 'x', until)).toBe(true);
    expect(await guard.firstUse('dpop', 'x', until)).toBe(false);
  });

  it('refuses at one replica what another saw, and exactly one of two racing replicas wins', async () => {
    const shared = settings({ store: 'redis', redis: { url: redis.url } });
    const [a, b] = [new ReplayGuard(shared), new ReplayGuard(shared)];
    try {
      const until = Date.now() + 60_000;
      // Commands are not queued while a connection opens (fail closed): wait until both answer.
      for (const guard of [a, b]) {
        await waitFor(
          async () =>
            guard.firstUse('dpop', `warm-${Math.random()}`, until).then(
              () => true,
              () => false,
            ),
          'the replay store',
        );
      }
      expect(await a.firstUse('dpop', 'once', until)).toBe(true);
      expect(await b.firstUse('dpop', 'once', until)).toBe(false);
      const raced = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).firstUse('dpop', 'race', until)),
      );
      expect(raced.filter(Boolean)).toHaveLength(1);
      const ttl = await redis.client.pttl('scopegate:seen:dpop:once');
      expect(ttl).toBeGreaterThan(50_000);
      expect(ttl).toBeLessThanOrEqual(60_000);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('keeps what it saw over a reload', async () => {
    const first = new ReplayGuard(settings({}));
    await first.firstUse('assertion', 'kept', Date.now() + 60_000);
    const reloaded = new ReplayGuard(settings({ max_entries: 10 }), first);
    expect(await reloaded.firstUse('assertion', 'kept', Date.now() + 60_000)).toBe(false);
  });

  it('is 503 when Redis cannot be reached or the list is full, and records nothing then', async () => {
    const down = new ReplayGuard(
      settings({
        store: 'redis',
        redis: { url: 'unix:///nonexistent/redis.sock', timeout: '100ms' },
      }),
    );
    try {
      const refused = await down.firstUse('dpop', 'v', Date.now() + 60_000).catch((e) => e);
      expect(refused).toBeInstanceOf(OAuthError);
      expect(refused).toMatchObject({ status: 503, error: 'temporarily_unavailable' });
      expect(down.memory.size).toBe(0);
    } finally {
      await down.close();
    }
    const full = new ReplayGuard(settings({ max_entries: 1 }));
    await full.firstUse('dpop', 'one', Date.now() + 60_000);
    const error = await full.firstUse('dpop', 'two', Date.now() + 60_000).catch((e) => e);
    expect(error).toMatchObject({ status: 503 });
  });
});
