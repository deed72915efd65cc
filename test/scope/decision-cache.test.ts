import { describe, expect, it } from 'vitest';
import type { ScopePolicyConfig } from '../../config/schema.js';
import { Metrics } from '../../proxy/observability/metrics.js';
import { CachingDecider, cachedDecider, decisionKey } from '../../proxy/runtime/decision-cache.js';
import { type DecisionInput, ScopeDecider } from '../../proxy/scope/decider.js';
import { ScopePolicies } from '../../proxy/scope/policies.js';

const POLICIES: ScopePolicyConfig[] = [
  { template: 'tenants.*', params: [{ claim: 'tenant' }] },
  { template: 'accounts.*', grant_types: ['client_credentials'] },
];

const BASE: DecisionInput = {
  requested: ['accounts.read', 'tenants.t1'],
  granted: ['accounts.*', 'tenants.*'],
  clientId: 'c1',
  grantType: 'client_credentials',
  audience: ['https://api.example.com'],
  claims: { tenant: 't1', unrelated: 'x' },
};

async function counts(metrics: Metrics): Promise<{ hits: number; misses: number }> {
  const value = async (name: string) => {
    const metric = await metrics.registry.getSingleMetric(name)?.get();
    return metric?.values.find((entry) => entry.labels.cache === 'decision')?.value ?? 0;
  };
  return {
    hits: await value('scopegate_cache_hits_total'),
    misses: await value('scopegate_cache_misses_total'),
  };
}

function setup(options: { generation?: number; now?: () => number; maxEntries?: number } = {}) {
  const metrics = new Metrics();
  const inner = new ScopeDecider(new ScopePolicies(POLICIES));
  let calls = 0;
  const counting = Object.assign(Object.create(inner) as ScopeDecider, {
    decide(input: DecisionInput) {
      calls += 1;
      return inner.decide(input);
    },
  });
  const cache = new CachingDecider(counting, {
    generation: options.generation ?? 1,
    maxEntries: options.maxEntries ?? 100,
    ttlMs: 60_000,
    metrics,
    ...(options.now ? { now: options.now } : {}),
  });
  return { cache, metrics, calls: () => calls };
}

describe('decision cache', () => {
  it('answers a repeated decision from the cache and counts hits and misses', async () => {
    const { cache, metrics, calls } = setup();
    const first = cache.decide(BASE);
    const second = cache.decide({ ...BASE, claims: { ...BASE.claims } });
    expect(second).toBe(first);
    expect(calls()).toBe(1);
    expect(first.issued).toEqual(['accounts.read', 'tenants.t1']);
    expect(await counts(metrics)).toEqual({ hits: 1, misses: 1 });
  });

  it.each<[string, Partial<DecisionInput>]>([
    ['client', { clientId: 'c2' }],
    ['no client', { clientId: undefined }],
    ['grant type', { grantType: 'authorization_code' }],
    ['audience', { audience: ['https://other.example.com'] }],
    ['granted set', { granted: ['accounts.*'] }],
    ['requested set', { requested: ['accounts.read'] }],
    ['requested order', { requested: ['tenants.t1', 'accounts.read'] }],
    ['nothing requested', { requested: undefined }],
    ['a claim a validator reads', { claims: { tenant: 't2', unrelated: 'x' } }],
    ['a claim going missing', { claims: { unrelated: 'x' } }],
  ])('keys on the %s', (_what, change) => {
    const { cache, calls } = setup();
    const first = cache.decide(BASE);
    const second = cache.decide({ ...BASE, ...change });
    expect(calls()).toBe(2);
    if (change.claims?.tenant === 't2') {
      expect(first.issued).toContain('tenants.t1');
      expect(second.issued).not.toContain('tenants.t1');
    }
  });

  it('ignores claims no validator reads', () => {
    const { cache, calls } = setup();
    cache.decide(BASE);
    cache.decide({ ...BASE, claims: { tenant: 't1', unrelated: 'y', jti: 'another' } });
    expect(calls()).toBe(1);
  });

  it('never shares keys between config generations', () => {
    const claimsRead = ['tenant'];
    expect(decisionKey(1, claimsRead, BASE)).not.toBe(decisionKey(2, claimsRead, BASE));
    // and keys are unambiguous: scopes cannot be shifted between fields
    expect(decisionKey(1, [], { ...BASE, granted: ['a b'], requested: ['c'] })).not.toBe(
      decisionKey(1, [], { ...BASE, granted: ['a'], requested: ['b c'] }),
    );
  });

  it('expires decisions after the TTL', () => {
    let now = 1_000;
    const { cache, calls } = setup({ now: () => now });
    cache.decide(BASE);
    now += 59_000;
    cache.decide(BASE);
    expect(calls()).toBe(1);
    now += 2_000;
    cache.decide(BASE);
    expect(calls()).toBe(2);
  });

  it('is bounded in entries', () => {
    const { cache } = setup({ maxEntries: 5 });
    for (let index = 0; index < 50; index++) cache.decide({ ...BASE, clientId: `c${index}` });
    expect(cache.size).toBe(5);
  });

  it('does not keep an oversized decision', () => {
    const { cache, calls } = setup();
    const huge = { ...BASE, requested: Array.from({ length: 2000 }, (_, i) => `accounts.${i}`) };
    cache.decide(huge);
    cache.decide(huge);
    expect(calls()).toBe(2);
    expect(cache.size).toBe(0);
  });

  it('shares only frozen decisions', () => {
    const { cache } = setup();
    const decision = cache.decide(BASE);
    expect(Object.isFrozen(decision)).toBe(true);
    expect(Object.isFrozen(decision.issued)).toBe(true);
    expect(Object.isFrozen(decision.verdicts[0]?.policy?.matches)).toBe(true);
    expect(() => (decision.issued as string[]).push('admin')).toThrow();
  });

  it('is off when the config sets no entries or no TTL', () => {
    const inner = new ScopeDecider();
    expect(cachedDecider(inner, { generation: 1, maxEntries: 0, ttlMs: 1000 })).toBe(inner);
    expect(cachedDecider(inner, { generation: 1, maxEntries: 10, ttlMs: 0 })).toBe(inner);
    expect(cachedDecider(inner, { generation: 1, maxEntries: 10, ttlMs: 1000 })).toBeInstanceOf(
      CachingDecider,
    );
  });
});
