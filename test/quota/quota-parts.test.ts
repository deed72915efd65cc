/**
 * The quota's small parts, as tables: Retry-After as upstreams send it, the upstream's rate-limit
 * headers as gauges, and the circuit breaker's states on a clock the test moves (no timers).
 */
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../proxy/observability/metrics.js';
import { CircuitBreaker } from '../../proxy/upstream/token-quota/circuit-breaker.js';
import { observeRateLimitHeaders } from '../../proxy/upstream/token-quota/rate-limit-headers.js';
import { retryAfterHeader, retryAfterMs } from '../../proxy/upstream/token-quota/retry-after.js';

const NOW = Date.parse('2026-01-01T00:00:00Z');

describe('Retry-After', () => {
  it.each<[string | string[] | undefined, number | undefined]>([
    ['30', 30_000],
    [' 5 ', 5000],
    ['0', undefined],
    ['-1', undefined],
    ['1.5', undefined],
    ['9999999999', undefined],
    ['Thu, 01 Jan 2026 00:01:00 GMT', 60_000],
    ['Wed, 31 Dec 2025 23:59:00 GMT', undefined],
    ['2026-01-01T00:01:00Z', undefined],
    ['soon', undefined],
    [['12', '40'], 12_000],
    [undefined, undefined],
  ])('%j waits %j ms', (value, expected) => {
    expect(retryAfterMs(value, NOW)).toBe(expected);
  });

  it.each([
    [1, '1'],
    [999, '1'],
    [1001, '2'],
    [0, '1'],
    [60_000, '60'],
  ])('%d ms is Retry-After %s', (ms, header) => {
    expect(retryAfterHeader(ms)).toBe(header);
  });
});

describe('upstream rate-limit headers', () => {
  async function gauges(headers: Record<string, string>) {
    const metrics = new Metrics();
    observeRateLimitHeaders(headers, metrics, NOW);
    const read = async (name: string) =>
      (await metrics.registry.getSingleMetric(name)?.get())?.values[0]?.value;
    return [
      await read('scopegate_upstream_ratelimit_limit'),
      await read('scopegate_upstream_ratelimit_remaining'),
      await read('scopegate_upstream_ratelimit_reset_seconds'),
    ];
  }

  it.each<[Record<string, string>, Array<number | undefined>]>([
    // Auth0: reset is epoch seconds.
    [
      {
        'x-ratelimit-limit': '30',
        'x-ratelimit-remaining': '2',
        'x-ratelimit-reset': String(NOW / 1000 + 12),
      },
      [30, 2, 12],
    ],
    // A delta in seconds.
    [
      { 'x-ratelimit-limit': '100', 'x-ratelimit-remaining': '99', 'x-ratelimit-reset': '60' },
      [100, 99, 60],
    ],
    // A reset in the past is 0, never negative.
    [{ 'x-ratelimit-reset': String(NOW / 1000 - 5) }, [0, 0, 0]],
    // Not integers: not believed.
    [
      { 'x-ratelimit-limit': '10.5', 'x-ratelimit-remaining': '-1', 'x-ratelimit-reset': 'soon' },
      [0, 0, 0],
    ],
    [{}, [0, 0, 0]],
  ])('%j', async (headers, expected) => {
    expect(await gauges(headers)).toEqual(expected);
  });
});

describe('circuit breaker', () => {
  function breaker() {
    let now = 0;
    const subject = new CircuitBreaker(3, 10_000, () => now);
    return {
      subject,
      advance: (ms: number) => {
        now += ms;
      },
    };
  }

  it('opens after the configured failures in a row, and a success in between resets the count', () => {
    const { subject } = breaker();
    subject.report(false, false);
    subject.report(false, false);
    subject.report(false, true);
    subject.report(false, false);
    subject.report(false, false);
    expect(subject.state).toBe('closed');
    subject.report(false, false);
    expect(subject.state).toBe('open');
    expect(subject.admit()).toEqual({ allowed: false, waitMs: 10_000 });
  });

  it('lets one probe through when the time is up, refuses the rest until it answers', () => {
    const { subject, advance } = breaker();
    for (let index = 0; index < 3; index++) subject.report(false, false);
    advance(4000);
    expect(subject.admit()).toEqual({ allowed: false, waitMs: 6000 });
    advance(6000);
    expect(subject.state).toBe('half_open');
    expect(subject.admit()).toEqual({ allowed: true, probe: true });
    for (let index = 0; index < 5; index++) {
      expect(subject.admit()).toEqual({ allowed: false, waitMs: 1000 });
    }
    // A late success of a call admitted before the breaker opened does not close it.
    subject.report(false, true);
    expect(subject.admit().allowed).toBe(false);
    subject.report(true, true);
    expect(subject.state).toBe('closed');
    expect(subject.admit()).toEqual({ allowed: true, probe: false });
  });

  it('a failed probe opens it again for the whole time; an abandoned probe frees the slot', () => {
    const { subject, advance } = breaker();
    for (let index = 0; index < 3; index++) subject.report(false, false);
    advance(10_000);
    expect(subject.admit()).toEqual({ allowed: true, probe: true });
    subject.report(true, false);
    expect(subject.admit()).toEqual({ allowed: false, waitMs: 10_000 });
    advance(10_000);
    expect(subject.admit()).toEqual({ allowed: true, probe: true });
    subject.abandon(true);
    expect(subject.admit()).toEqual({ allowed: true, probe: true });
  });
});
