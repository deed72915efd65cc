import { errors, type JWK } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Metrics } from '../../proxy/observability/metrics.js';
import { UpstreamKeys, UpstreamKeysUnavailable } from '../../proxy/upstream/upstream-keys.js';
import { type JwksServer, newPublicJwk, startJwksServer } from '../support/jwks-server.js';

const SECOND = 1000;
const MAX_AGE = 10 * SECOND;
const COOLDOWN = 5 * SECOND;
const STALE = 60 * SECOND;

let server: JwksServer;
let keyA: JWK;
let clock: number;
let metrics: Metrics;

function keysCache(overrides: Partial<ConstructorParameters<typeof UpstreamKeys>[0]> = {}) {
  return new UpstreamKeys({
    jwksUri: async () => server.url,
    maxAgeMs: MAX_AGE,
    cooldownMs: COOLDOWN,
    staleIfErrorMs: STALE,
    timeoutMs: 2 * SECOND,
    metrics,
    now: () => clock,
    ...overrides,
  });
}

const header = (kid: string) => ({ alg: 'ES256', kid });

async function jwksFetches(result: string): Promise<number> {
  const families = await metrics.registry.getMetricsAsJSON();
  const family = families.find((f) => f.name === 'scopegate_upstream_jwks_fetches_total');
  const sample = family?.values.find((value) => value.labels.result === result);
  return Number(sample?.value ?? 0);
}

beforeEach(async () => {
  keyA = await newPublicJwk('key-a');
  server = await startJwksServer([keyA]);
  clock = 1_000_000;
  metrics = new Metrics();
});

afterEach(async () => {
  await server.close();
});

describe('upstream keys: single flight', () => {
  it('shares one fetch among concurrent verifications on a cold cache', async () => {
    const keys = keysCache();
    server.setDelay(100);
    const results = await Promise.all(
      Array.from({ length: 25 }, () => keys.resolve(header('key-a'))),
    );
    expect(results).toHaveLength(25);
    expect(server.requests()).toBe(1);
    expect(keys.loaded).toBe(true);
  });

  it('shares one refetch among concurrent requests for a new kid (upstream rotation)', async () => {
    const keys = keysCache();
    await keys.resolve(header('key-a'));
    const keyB = await newPublicJwk('key-b');
    server.setKeys([keyB]);
    server.setDelay(100);
    clock += COOLDOWN;
    const results = await Promise.allSettled(
      Array.from({ length: 25 }, () => keys.resolve(header('key-b'))),
    );
    // Every request waits for the one refetch instead of failing because the cooldown started.
    expect(results.filter((result) => result.status === 'rejected')).toEqual([]);
    expect(server.requests()).toBe(2);
  });
});

describe('upstream keys: unknown kid cooldown', () => {
  it('refetches on an unknown kid at most once per cooldown', async () => {
    const keys = keysCache();
    await keys.resolve(header('key-a'));
    expect(server.requests()).toBe(1);

    // Within the cooldown of the first fetch: no refetch, the kid is unknown.
    await expect(keys.resolve(header('forged-1'))).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
    expect(server.requests()).toBe(1);

    clock += COOLDOWN;
    await expect(keys.resolve(header('forged-2'))).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
    expect(server.requests()).toBe(2);

    // A flood of forged kids inside the next cooldown costs the upstream nothing.
    for (let i = 0; i < 50; i++) {
      clock += 50;
      await expect(keys.resolve(header(`forged-${i + 3}`))).rejects.toBeInstanceOf(
        errors.JWKSNoMatchingKey,
      );
    }
    expect(server.requests()).toBe(2);

    clock += COOLDOWN;
    await expect(keys.resolve(header('forged-x'))).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
    expect(server.requests()).toBe(3);
    // Known keys keep resolving from the cache throughout.
    await keys.resolve(header('key-a'));
    expect(server.requests()).toBe(3);
  });

  it('finds a key the upstream added, once the cooldown allows the refetch', async () => {
    const keys = keysCache();
    await keys.resolve(header('key-a'));
    const keyB = await newPublicJwk('key-b');
    server.setKeys([keyA, keyB]);
    await expect(keys.resolve(header('key-b'))).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
    clock += COOLDOWN;
    await expect(keys.resolve(header('key-b'))).resolves.toBeDefined();
  });
});

describe('upstream keys: stale-if-error', () => {
  it('serves stale keys while the JWKS endpoint is down, for a bounded window only', async () => {
    const keys = keysCache();
    await keys.resolve(header('key-a'));
    expect(server.requests()).toBe(1);
    server.setAvailable(false);

    // Fresh: no fetch at all.
    clock += MAX_AGE - 1;
    await keys.resolve(header('key-a'));
    expect(server.requests()).toBe(1);

    // Past max age: a refetch fails, the stale keys still verify.
    clock += 2;
    await keys.resolve(header('key-a'));
    expect(server.requests()).toBe(2);
    expect(await jwksFetches('error')).toBe(1);
    expect(await jwksFetches('stale_served')).toBe(1);

    // Right after a failure, requests are served stale without waiting on the upstream again.
    for (let i = 0; i < 10; i++) {
      clock += 100;
      await keys.resolve(header('key-a'));
    }
    expect(server.requests()).toBe(2);

    // After the cooldown the refetch is tried again (and fails again).
    clock += COOLDOWN;
    await keys.resolve(header('key-a'));
    expect(server.requests()).toBe(3);

    // The window ends at max age + stale-if-error after the last successful fetch: fail closed.
    clock = 1_000_000 + MAX_AGE + STALE - 1;
    await keys.resolve(header('key-a'));
    clock = 1_000_000 + MAX_AGE + STALE;
    await expect(keys.resolve(header('key-a'))).rejects.toBeInstanceOf(UpstreamKeysUnavailable);
    clock += COOLDOWN;
    await expect(keys.resolve(header('key-a'))).rejects.toBeInstanceOf(UpstreamKeysUnavailable);

    // The endpoint comes back: keys are fetched and verification resumes.
    server.setAvailable(true);
    await expect(keys.resolve(header('key-a'))).resolves.toBeDefined();
    expect(keys.age()).toBe(0);
  });

  it('with a zero stale window, fails closed as soon as the keys are past max age', async () => {
    const keys = keysCache({ staleIfErrorMs: 0 });
    await keys.resolve(header('key-a'));
    server.setAvailable(false);
    clock += MAX_AGE;
    await expect(keys.resolve(header('key-a'))).rejects.toBeInstanceOf(UpstreamKeysUnavailable);
  });

  it('fails closed when the keys were never fetched', async () => {
    server.setAvailable(false);
    const keys = keysCache();
    await expect(keys.resolve(header('key-a'))).rejects.toBeInstanceOf(UpstreamKeysUnavailable);
    expect(keys.loaded).toBe(false);
  });
});

describe('upstream keys: what is trusted', () => {
  it('ignores symmetric and private keys in the upstream JWKS', async () => {
    const secret: JWK = { kty: 'oct', k: 'c2VjcmV0LXNlY3JldC1zZWNyZXQ', kid: 'hmac', alg: 'HS256' };
    const privateish: JWK = { ...(await newPublicJwk('leaky')), d: 'AAAA' };
    server.setKeys([keyA, secret, privateish]);
    const keys = keysCache();
    await expect(keys.resolve({ alg: 'HS256', kid: 'hmac' })).rejects.toBeInstanceOf(
      errors.JOSEError,
    );
    await expect(keys.resolve(header('leaky'))).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
    await expect(keys.resolve(header('key-a'))).resolves.toBeDefined();
  });

  it('counts cache hits and misses', async () => {
    const keys = keysCache();
    await keys.resolve(header('key-a'));
    await keys.resolve(header('key-a'));
    await keys.resolve(header('key-a'));
    const families = await metrics.registry.getMetricsAsJSON();
    const value = (name: string) =>
      Number(
        families
          .find((f) => f.name === name)
          ?.values.find((v) => v.labels.cache === 'upstream_jwks')?.value ?? 0,
      );
    expect(value('scopegate_cache_misses_total')).toBe(1);
    expect(value('scopegate_cache_hits_total')).toBe(2);
  });
});
