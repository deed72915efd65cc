/**
 * Item 10: caches bounded in bytes and owned by one configuration generation; metric label
 * values only from the configuration.
 */
import { describe, expect, it } from 'vitest';
import type { Config } from '../../config/schema.js';
import { clientLabel, configuredClientIds, Metrics } from '../../proxy/observability/metrics.js';
import { CompiledScopes, compiledScopeBytes } from '../../proxy/scope/compiled-scopes.js';
import { ScopeDecider } from '../../proxy/scope/decider.js';
import { ScopePolicies } from '../../proxy/scope/policies.js';
import { MAX_UPSTREAM_KEYS, UpstreamKeys } from '../../proxy/upstream/upstream-keys.js';
import { newPublicJwk, startJwksServer } from '../support/jwks-server.js';

describe('compiled scopes', () => {
  it('stay within their byte budget whatever the values', () => {
    const limits = { maxEntries: 10_000, maxBytes: 64 * 1024 };
    const cache = new CompiledScopes(limits);
    for (let i = 0; i < 2000; i++) cache.get(`api${i}.${'x'.repeat(i % 500)}.*`);
    expect(cache.bytes).toBeLessThanOrEqual(limits.maxBytes);
    expect(cache.bytes).toBeGreaterThan(limits.maxBytes / 2);
    expect(cache.size).toBeLessThan(2000);
  });

  it('compile but never keep a single oversized value', () => {
    const cache = new CompiledScopes();
    const huge = `a.${'b'.repeat(64 * 1024)}.*`;
    expect(cache.get(huge).source).toBe(huge);
    expect(cache.size).toBe(0);
    expect(compiledScopeBytes(huge)).toBeGreaterThan(64 * 1024);
  });

  it('stay within their entry budget', () => {
    const cache = new CompiledScopes({ maxEntries: 10, maxBytes: 1024 * 1024 });
    for (let i = 0; i < 100; i++) cache.get(`s${i}`);
    expect(cache.size).toBe(10);
  });

  it('belong to one configuration generation: each ScopePolicies has its own', () => {
    const first = new ScopePolicies([]);
    const second = new ScopePolicies([]);
    expect(first.compiledScopes).not.toBe(second.compiledScopes);
    const decider = new ScopeDecider(first);
    decider.decide({
      requested: ['accounts.read.1'],
      granted: ['accounts.*', 'profile'],
      clientId: 'c',
      grantType: 'client_credentials',
      audience: [],
      claims: {},
    });
    expect(first.compiledScopes.size).toBeGreaterThan(0);
    expect(second.compiledScopes.size).toBe(0);
  });
});

describe('metric label values come only from the configuration', () => {
  const config = {
    clients: [{ client_id: 'partner-x' }],
    scopes: [{ template: 'a.*', clients: ['svc-1', 'svc-2'] }, { template: 'b' }],
  } as unknown as Config;
  const known = configuredClientIds(config);

  it.each<[string | undefined, string]>([
    ['partner-x', 'partner-x'],
    ['svc-2', 'svc-2'],
    ['made-up-1', 'other'],
    ['', 'other'],
    [undefined, 'unknown'],
  ])('client %s counts as %s', (clientId, label) => {
    expect(clientLabel(clientId, known)).toBe(label);
  });

  it('a flood of unknown client ids adds one series', async () => {
    const metrics = new Metrics(true);
    for (let i = 0; i < 500; i++) {
      metrics.countToken('issued', 'client_credentials', clientLabel(`attacker-${i}`, known));
    }
    metrics.countToken('issued', 'client_credentials', clientLabel('partner-x', known));
    const family = (await metrics.registry.getMetricsAsJSON()).find(
      (metric) => metric.name === 'scopegate_token_requests_total',
    );
    const clients = (family?.values ?? []).map((value) => value.labels.client_id);
    expect(clients.sort()).toEqual(['other', 'partner-x']);
  });
});

describe('upstream keys', () => {
  it(`take a JWKS of ${MAX_UPSTREAM_KEYS} keys and refuse one more`, async () => {
    const jwk = await newPublicJwk('k');
    const keysNamed = (count: number) =>
      Array.from({ length: count }, (_, i) => ({ ...jwk, kid: `k${i}` }));
    const server = await startJwksServer(keysNamed(MAX_UPSTREAM_KEYS + 1));
    try {
      const keys = new UpstreamKeys({
        jwksUri: async () => server.url,
        maxAgeMs: 60_000,
        cooldownMs: 1000,
        staleIfErrorMs: 0,
        timeoutMs: 10_000,
      });
      await expect(keys.refresh()).rejects.toThrow(`more than ${MAX_UPSTREAM_KEYS} keys`);
      expect(keys.loaded).toBe(false);
      server.setKeys(keysNamed(MAX_UPSTREAM_KEYS));
      await keys.refresh();
      expect(keys.loaded).toBe(true);
    } finally {
      await server.close();
    }
  });
});
