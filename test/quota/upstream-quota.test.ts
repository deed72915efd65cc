/**
 * Quota protection for the upstream token endpoint (upstream.quota, clients[].upstream_quota),
 * against a real upstream that counts every call (counting-upstream.ts) and real scopegate
 * instances, one or two replicas sharing a real redis-server. What it proves: the upstream never
 * sees more token calls than the configured rates (per client, in total, across replicas) or
 * concurrency caps allow; a refused client gets 429 + Retry-After + OAuth JSON at once, never the
 * upstream's token and never a hang; cache hits cost no quota; an upstream 429/503 with
 * Retry-After stops upstream calls until then while cached answers are still served.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfigText } from '../../config/load.js';
import { startRedis, type TestRedis } from '../cache/redis-server.js';
import { postForm, startTestGateway, type TestGateway } from '../support/gateway.js';
import { scrape } from '../support/prometheus.js';
import { waitFor } from '../support/wait.js';
import { type CountingUpstream, startCountingUpstream } from './counting-upstream.js';

const CACHE_KEY = 'test-cache-key-0123456789abcdef0123456789';

interface Answer {
  client: string;
  status: number;
  retryAfter: string | null;
  body: Record<string, unknown>;
}

const opened: Array<{ close(): Promise<void> }> = [];
let redis: TestRedis | undefined;

afterEach(async () => {
  for (const thing of opened.splice(0).reverse()) await thing.close();
  await redis?.stop();
  redis = undefined;
});

async function upstreamOf(options: Parameters<typeof startCountingUpstream>[0] = {}) {
  const upstream = await startCountingUpstream(options);
  opened.push(upstream);
  return upstream;
}

async function gatewayOf(
  upstream: CountingUpstream,
  config: Record<string, unknown>,
): Promise<TestGateway> {
  const gateway = await startTestGateway({ upstreamUrl: upstream.url, config });
  opened.push(gateway);
  return gateway;
}

async function ask(gateway: TestGateway, client: string): Promise<Answer> {
  const response = await postForm(`${gateway.url}/oauth/token`, {
    grant_type: 'client_credentials',
    client_id: client,
    client_secret: `${client}-secret`,
    scope: 'read',
  });
  return {
    client,
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    body: (await response.json()) as Record<string, unknown>,
  };
}

/** Every request at once; an answer that does not come within 10 s fails the test (no hangs). */
async function burst(
  requests: Array<[TestGateway, string]>,
): Promise<{ answers: Answer[]; seconds: number }> {
  const started = Date.now();
  const answers = await Promise.all(
    requests.map(([gateway, client]) =>
      Promise.race([
        ask(gateway, client),
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error('a token request hung')), 10_000).unref(),
        ),
      ]),
    ),
  );
  return { answers, seconds: (Date.now() - started) / 1000 };
}

/**
 * The most calls a fixed-window limit lets through in `seconds`: windows start at the first call
 * after the previous one ended, so at most floor(seconds / window) + 1 of them overlap the burst.
 */
function allowed(perWindow: number, windowSeconds: number, seconds: number): number {
  return perWindow * (Math.floor(seconds / windowSeconds) + 1);
}

function expectRefusal(answer: Answer, status = 429): void {
  expect(answer.status).toBe(status);
  expect(Number(answer.retryAfter)).toBeGreaterThanOrEqual(1);
  expect(answer.body.error).toBe('temporarily_unavailable');
  expect(typeof answer.body.error_description).toBe('string');
  expect(answer.body).not.toHaveProperty('access_token');
}

function report(what: string, seen: number, limit: number): void {
  process.stdout.write(`quota figures: ${what}: upstream saw ${seen}, allowed ${limit}\n`);
}

describe('upstream token quota', () => {
  it('holds per-client and total rates and the concurrency cap in a burst from many clients', async () => {
    const upstream = await upstreamOf({ delayMs: 30 });
    const gateway = await gatewayOf(upstream, {
      upstream: { quota: { rate: '8/s', concurrency: 4 } },
      clients: [
        { client_id: 'alpha', upstream_quota: { rate: '3/s', concurrency: 2 } },
        { client_id: 'beta', upstream_quota: { rate: '2/s', burst: 1 } },
      ],
    });
    const clients = ['alpha', 'beta', 'gamma', 'delta', 'epsilon'];
    const requests: Array<[TestGateway, string]> = [];
    for (let round = 0; round < 12; round++) {
      for (const client of clients) requests.push([gateway, client]);
    }
    const { answers, seconds } = await burst(requests);

    const total = allowed(8, 1, seconds);
    report(`one replica, total 8/s over ${seconds.toFixed(2)} s`, upstream.calls(), total);
    expect(upstream.calls()).toBeLessThanOrEqual(total);
    expect(upstream.calls('alpha')).toBeLessThanOrEqual(allowed(3, 1, seconds));
    // beta: 2/s plus a reserve of 1 that refills every 10 s.
    expect(upstream.calls('beta')).toBeLessThanOrEqual(allowed(2, 1, seconds) + 1);
    report('alpha 3/s', upstream.calls('alpha'), allowed(3, 1, seconds));
    report('beta 2/s + burst 1', upstream.calls('beta'), allowed(2, 1, seconds) + 1);
    expect(upstream.maxInFlight).toBeLessThanOrEqual(4);
    report('most in flight (concurrency 4)', upstream.maxInFlight, 4);

    const issued = answers.filter((answer) => answer.status === 200);
    const refused = answers.filter((answer) => answer.status !== 200);
    expect(issued.length).toBe(upstream.calls());
    expect(refused.length).toBeGreaterThan(0);
    for (const answer of refused) expectRefusal(answer);

    const metrics = await scrape(gateway.adminUrl);
    const refusals = metrics.value('scopegate_upstream_quota_refusals_total');
    expect(refusals).toBe(refused.length);
    // Each refusal is counted once, under the scope that refused it: a rule's index or upstream.
    const scopes = new Set(
      metrics
        .find('scopegate_upstream_quota_refusals_total')
        .filter((sample) => sample.value > 0)
        .map((sample) => sample.labels.scope),
    );
    for (const scope of scopes) expect(['upstream', 'clients[0]', 'clients[1]']).toContain(scope);
    // The upstream's own headers, as gauges.
    expect(metrics.value('scopegate_upstream_ratelimit_limit')).toBe(1000);
    expect(metrics.value('scopegate_upstream_ratelimit_remaining')).toBe(1000 - upstream.calls());
    const reset = metrics.value('scopegate_upstream_ratelimit_reset_seconds');
    expect(reset).toBeGreaterThan(20);
    expect(reset).toBeLessThanOrEqual(30);
  });

  it('charges nothing for cache hits: a cached client keeps getting tokens past its rate', async () => {
    const upstream = await upstreamOf();
    const gateway = await gatewayOf(upstream, {
      clients: [
        { client_id: 'cached', cache: true, upstream_quota: { rate: '1/h' } },
        { client_id: 'uncached', upstream_quota: { rate: '1/h' } },
      ],
      cache: { upstream_tokens: { key: CACHE_KEY } },
    });
    for (let index = 0; index < 10; index++) {
      expect((await ask(gateway, 'cached')).status).toBe(200);
    }
    expect(upstream.calls('cached')).toBe(1);
    expect((await ask(gateway, 'uncached')).status).toBe(200);
    const second = await ask(gateway, 'uncached');
    expectRefusal(second);
    // The rest of the hour, give or take a second.
    expect(Number(second.retryAfter)).toBeGreaterThan(3500);
    expect(upstream.calls('uncached')).toBe(1);
  });

  it('stops upstream calls after an upstream 429 with Retry-After, still serving cache hits', async () => {
    const upstream = await upstreamOf({ retryAfter: 120 });
    const gateway = await gatewayOf(upstream, {
      upstream: { quota: { rate: '100/s', max_pause: '1m' } },
      clients: [{ client_id: 'cached', cache: true }],
      cache: { upstream_tokens: { key: CACHE_KEY } },
    });
    expect((await ask(gateway, 'cached')).status).toBe(200);
    upstream.setLimit(1);
    const relayed = await ask(gateway, 'other');
    // The upstream's own 429 reaches the client rebuilt (its Retry-After kept).
    expect(relayed.status).toBe(429);
    expect(relayed.retryAfter).toBe('120');
    const seen = upstream.calls();
    for (const client of ['other', 'third', 'fourth']) {
      const answer = await ask(gateway, client);
      expectRefusal(answer);
      // Cut to max_pause.
      expect(Number(answer.retryAfter)).toBeLessThanOrEqual(60);
      expect(Number(answer.retryAfter)).toBeGreaterThan(50);
    }
    expect(upstream.calls()).toBe(seen);
    expect((await ask(gateway, 'cached')).status).toBe(200);
    expect(upstream.calls()).toBe(seen);
    const metrics = await scrape(gateway.adminUrl);
    expect(
      metrics.value('scopegate_upstream_quota_refusals_total', {
        scope: 'upstream',
        reason: 'paused',
      }),
    ).toBe(3);
  });

  it('pauses only the client that got the 429 under on_upstream_429: client, and all on a 503', async () => {
    const upstream = await upstreamOf({ retryAfter: 30 });
    const gateway = await gatewayOf(upstream, {
      upstream: { quota: { on_upstream_429: 'client' } },
    });
    upstream.setLimit(0);
    expect((await ask(gateway, 'first')).status).toBe(429);
    upstream.setLimit(undefined);
    expectRefusal(await ask(gateway, 'first'));
    expect((await ask(gateway, 'second')).status).toBe(200);
    expect(upstream.calls('first')).toBe(1);

    const unavailable = await upstreamOf({ retryAfter: 30, overStatus: 503, limit: 0 });
    const other = await gatewayOf(unavailable, {
      upstream: { quota: { on_upstream_429: 'client' } },
    });
    expect((await ask(other, 'first')).status).toBe(503);
    expectRefusal(await ask(other, 'second'), 503);
    expect(unavailable.calls()).toBe(1);
  });

  it('opens the breaker after failures in a row; one probe closes it when the upstream is back', async () => {
    const upstream = await upstreamOf({ limit: 0, overStatus: 500 });
    const gateway = await gatewayOf(upstream, {
      upstream: { quota: { breaker: { failures: 3, open_for: '1s' } } },
    });
    for (let index = 0; index < 3; index++) expect((await ask(gateway, 'alpha')).status).toBe(500);
    const refused = await ask(gateway, 'beta');
    expectRefusal(refused, 503);
    expect(upstream.calls()).toBe(3);
    upstream.setLimit(undefined);
    // Refused (without reaching the upstream) until open_for is over; then one probe gets through.
    const answer = await waitFor(
      async () => {
        const next = await ask(gateway, 'beta');
        return next.status === 200 ? next : undefined;
      },
      'the breaker to let a probe through',
      5000,
      50,
    );
    expect(answer.status).toBe(200);
    expect(upstream.calls()).toBe(4);
    expect((await ask(gateway, 'gamma')).status).toBe(200);
    const metrics = await scrape(gateway.adminUrl);
    expect(
      metrics.value('scopegate_upstream_quota_refusals_total', { reason: 'breaker' }),
    ).toBeGreaterThanOrEqual(1);
  });

  it('holds the total across two replicas sharing Redis', async () => {
    redis = await startRedis();
    const upstream = await upstreamOf();
    const config = {
      upstream: {
        quota: { rate: '6/s', store: 'redis', redis: { url: redis.url, timeout: '500ms' } },
      },
      clients: [{ client_id: 'alpha', upstream_quota: { rate: '2/s' } }],
    };
    const first = await gatewayOf(upstream, config);
    const second = await gatewayOf(upstream, config);
    // Until its connection is up a replica counts alone (quota-store.ts): start once both are in.
    await waitFor(
      async () =>
        (await redis?.client.client('LIST'))?.toString().trim().split('\n').length === 3 ||
        undefined,
      'both replicas connected to Redis',
      5000,
    );
    const requests: Array<[TestGateway, string]> = [];
    for (let round = 0; round < 15; round++) {
      for (const client of ['alpha', 'beta', 'gamma']) {
        requests.push([first, client], [second, client]);
      }
    }
    const { answers, seconds } = await burst(requests);
    const total = allowed(6, 1, seconds);
    report(
      `two replicas on Redis, total 6/s over ${seconds.toFixed(2)} s`,
      upstream.calls(),
      total,
    );
    report('two replicas on Redis, alpha 2/s', upstream.calls('alpha'), allowed(2, 1, seconds));
    expect(upstream.calls()).toBeLessThanOrEqual(total);
    expect(upstream.calls('alpha')).toBeLessThanOrEqual(allowed(2, 1, seconds));
    // Each replica alone would have let 6 through: the shared count is what held it.
    expect(upstream.calls()).toBeGreaterThan(0);
    for (const answer of answers.filter((one) => one.status !== 200)) expectRefusal(answer);
    const keys = await redis.client.keys('scopegate:quota:*');
    expect(keys.length).toBeGreaterThan(0);
  });
});

describe('quota configuration', () => {
  function errors(upstream: Record<string, unknown>, clients: unknown[] = []): string[] {
    const config = {
      issuer: 'https://gateway.test',
      upstream: { url: 'https://idp.test', ...upstream },
      signing: { keys: [{ kid: 'k', alg: 'ES256', private_key_file: 'k.pem' }] },
      clients,
    };
    const result = parseConfigText(stringify(config), 'cfg.yaml', {});
    return result.ok ? [] : result.errors;
  }

  it.each([
    [{ quota: { rate: '10/s', burst: 20, concurrency: 4 } }, []],
    [{ quota: { rate: '10/d' } }, ['upstream.quota.rate']],
    [{ quota: { rate: '0/s' } }, ['upstream.quota.rate']],
    [{ quota: { burst: 5 } }, ['burst needs rate']],
    [{ quota: { rate: '1/s', store: 'redis' } }, ['store redis needs redis']],
    [{ quota: { concurrency: 0 } }, ['upstream.quota.concurrency']],
  ])('upstream %j', (upstream, expected) => {
    const found = errors(upstream);
    if (expected.length === 0) expect(found).toEqual([]);
    for (const text of expected) expect(found.join('\n')).toContain(text);
  });

  it('a client rule needs a rate or a concurrency cap', () => {
    expect(errors({}, [{ client_id: 'a', upstream_quota: {} }]).join('\n')).toContain(
      'give rate, concurrency or both',
    );
    expect(errors({}, [{ client_id: 'a', upstream_quota: { concurrency: 2 } }])).toEqual([]);
  });
});
