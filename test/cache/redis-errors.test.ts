/**
 * Redis failing under the upstream token cache is counted (scopegate_token_cache_backend_errors_total)
 * and logged, at most one line per 10 s (proxy/observability/log-rate-limit.ts) with how many were left out:
 * against a real redis-server that goes away, and the limiter itself on a clock the test drives.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../config/load.js';
import { createLogger } from '../../proxy/observability/log.js';
import { RateLimitedWarning } from '../../proxy/observability/log-rate-limit.js';
import { Metrics } from '../../proxy/observability/metrics.js';
import { upstreamTokenCacheFor } from '../../proxy/upstream/token-cache/upstream-token-cache.js';
import { LogCapture } from '../support/gateway.js';
import { waitFor } from '../support/wait.js';
import { startRedis, type TestRedis } from './redis-server.js';

/** Rules under which a test writes an entry: any age, any remaining lifetime. */
const WRITE_RULES = { maxAgeMs: 3_600_000, minRemainingMs: 0, clockToleranceMs: 0 };

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

describe('Redis errors of the upstream token cache', () => {
  it('are counted each time and logged once per interval, with the reason', async () => {
    const parsed = parseConfigText(
      `issuer: "https://auth.example.com"
upstream:
  url: "https://tenant.example.com"
signing:
  keys:
    - kid: "k1"
      alg: ES256
      private_key_file: "k1.pem"
clients:
  - client_id: m2m
    cache: true
cache:
  upstream_tokens:
    key: "a cache key of more than thirty-two characters"
    backend: redis
    redis:
      url: "${redis.url}"
      timeout: 200ms
`,
      'cfg.yaml',
      {},
    );
    if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
    const logs = new LogCapture();
    const metrics = new Metrics();
    const cache = upstreamTokenCacheFor(
      parsed.config,
      metrics,
      createLogger({ level: 'info', format: 'json', destination: logs }),
    );
    if (!cache) throw new Error('expected a token cache');
    try {
      const expires = Math.floor(Date.now() / 1000) + 3600;
      await waitFor(async () => {
        await cache.put(cache.keyFor('warm'), Buffer.from('{}'), expires, WRITE_RULES);
        return (await redis.client.dbsize()) === 1;
      }, 'a working connection');
      const errorCount = async () => {
        const metric = metrics.registry.getSingleMetric(
          'scopegate_token_cache_backend_errors_total',
        );
        const read = (await metric?.get()) as { values: Array<{ value: number }> } | undefined;
        return read?.values[0]?.value ?? 0;
      };
      // Writes before the connection was up count too: start counting from here.
      const before = await errorCount();
      await redis.stop();
      for (let attempt = 0; attempt < 20; attempt++) {
        await cache.put(cache.keyFor(`after-${attempt}`), Buffer.from('{}'), expires, WRITE_RULES);
      }
      expect((await errorCount()) - before).toBe(20);
      // One line for the whole burst: the first failure, the rest only counted.
      const lines = logs.records().filter((line) => line.msg === 'redis cache error');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ level: 40, suppressed: 0 });
      expect(lines[0]?.error).toBeTypeOf('string');
    } finally {
      await cache.close();
    }
  });
});

describe('RateLimitedWarning', () => {
  it('writes the first at once, then one per interval saying how many it left out', () => {
    const logs = new LogCapture();
    let now = 1_000;
    const warning = new RateLimitedWarning(
      createLogger({ level: 'info', format: 'json', destination: logs }),
      'dependency failed',
      10_000,
      () => now,
    );
    warning.warn({ error: 'first' });
    for (let step = 0; step < 5; step++) {
      now += 1_000;
      warning.warn({ error: 'again' });
    }
    expect(logs.records().map((line) => [line.error, line.suppressed])).toEqual([['first', 0]]);
    now = 11_000;
    warning.warn({ error: 'later' });
    expect(logs.records().map((line) => [line.error, line.suppressed])).toEqual([
      ['first', 0],
      ['later', 5],
    ]);
  });
});
