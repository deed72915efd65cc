import { readFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GRANT_TYPES } from '../../config/schema.js';
import { TOKEN_OUTCOMES } from '../../proxy/observability/metrics.js';
import { packageRoot } from '../../proxy/observability/package-root.js';
import {
  type RunningAuth0Emulator,
  startAuth0Emulator,
} from '../fixtures/auth0-emulator/auth0-emulator.js';
import { postForm, startTestGateway, type TestGateway } from '../support/gateway.js';
import { type Scrape, scrape } from '../support/prometheus.js';
import { waitFor } from '../support/wait.js';

const API = 'https://api.example.com';
let upstream: RunningAuth0Emulator;
let gateway: TestGateway;

const client = { client_id: 'm2m', client_secret: 'm2m-secret', audience: API };

beforeAll(async () => {
  upstream = await startAuth0Emulator({
    clients: [
      {
        clientId: 'm2m',
        clientSecret: 'm2m-secret',
        grants: { [API]: ['read:claims', 'write:claims', 'read:reports'] },
      },
    ],
    defaultAudience: API,
  });
  // Discovery is not pinned: the upstream issuer and JWKS URI come from the discovery document.
  gateway = await startTestGateway({ upstreamUrl: upstream.url, scopeRequest: 'omit' });
  await waitFor(() => gateway.instance.readiness().ready, 'readiness');
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

function token(params: Record<string, string>) {
  return postForm(`${gateway.url}/oauth/token`, { grant_type: 'client_credentials', ...params });
}

/** What changed between two scrapes for one series. */
function delta(before: Scrape, after: Scrape, name: string, labels: Record<string, string> = {}) {
  return after.value(name, labels) - before.value(name, labels);
}

describe('metrics move with traffic', () => {
  it('counts token requests by grant type and outcome, and scopes removed', async () => {
    const before = await scrape(gateway.adminUrl);
    expect((await token({ ...client, scope: 'read:claims' })).status).toBe(200);
    expect((await token({ ...client })).status).toBe(200);
    expect((await token({ ...client, scope: 'read:claims admin:all' })).status).toBe(400);
    expect((await token({ ...client, client_secret: 'wrong' })).status).toBe(401);
    const odd = await postForm(`${gateway.url}/oauth/token`, {
      grant_type: 'urn:example:made-up',
      ...client,
    });
    expect(odd.status).toBe(400);
    const badType = await fetch(`${gateway.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'x',
    });
    expect(badType.status).toBe(400);
    const after = await scrape(gateway.adminUrl);

    const requests = 'scopegate_token_requests_total';
    const cc = { grant_type: 'client_credentials' };
    expect(delta(before, after, requests, { ...cc, outcome: 'narrowed' })).toBe(1);
    expect(delta(before, after, requests, { ...cc, outcome: 'issued' })).toBe(1);
    expect(delta(before, after, requests, { ...cc, outcome: 'rejected' })).toBe(1);
    expect(delta(before, after, requests, { ...cc, outcome: 'upstream_error' })).toBe(1);
    // A grant type outside the known list cannot mint a new series.
    expect(delta(before, after, requests, { grant_type: 'other', outcome: 'upstream_error' })).toBe(
      1,
    );
    expect(delta(before, after, requests, { grant_type: 'none', outcome: 'invalid_request' })).toBe(
      1,
    );
    const removed = 'scopegate_scopes_removed_total';
    expect(delta(before, after, removed, { reason: 'not_requested' })).toBe(2);
    expect(delta(before, after, removed, { reason: 'not_granted' })).toBe(1);

    const duration = 'scopegate_upstream_request_duration_seconds_count';
    expect(delta(before, after, duration, { route: 'token', status_class: '2xx' })).toBe(3);
    expect(delta(before, after, duration, { route: 'token', status_class: '4xx' })).toBe(2);
    // Re-issue: the two issued tokens and the refused request all went through verification.
    expect(delta(before, after, 'scopegate_reissue_duration_seconds_count')).toBe(3);
  });

  it('keeps every label of the token counter inside its fixed sets', async () => {
    const after = await scrape(gateway.adminUrl);
    const grants = new Set<string>([...GRANT_TYPES, 'other', 'none']);
    const outcomes = new Set<string>(TOKEN_OUTCOMES);
    const series = after.find('scopegate_token_requests_total');
    expect(series.length).toBeGreaterThan(0);
    for (const sample of series) {
      expect(Object.keys(sample.labels).sort()).toEqual(['grant_type', 'outcome']);
      expect(grants.has(sample.labels.grant_type as string)).toBe(true);
      expect(outcomes.has(sample.labels.outcome as string)).toBe(true);
    }
  });

  it('measures upstream requests of the reverse proxy, JWKS and discovery', async () => {
    const before = await scrape(gateway.adminUrl);
    expect((await fetch(`${gateway.url}/api/echo/x`)).status).toBe(200);
    expect((await fetch(`${gateway.url}/api/status/503`)).status).toBe(503);
    const after = await scrape(gateway.adminUrl);
    const duration = 'scopegate_upstream_request_duration_seconds_count';
    expect(delta(before, after, duration, { route: 'proxy', status_class: '2xx' })).toBe(1);
    expect(delta(before, after, duration, { route: 'proxy', status_class: '5xx' })).toBe(1);
    // Warm-up fetched the discovery document and the JWKS once each.
    expect(after.value(duration, { route: 'discovery', status_class: '2xx' })).toBeGreaterThan(0);
    expect(after.value(duration, { route: 'jwks', status_class: '2xx' })).toBeGreaterThan(0);
    expect(after.value('scopegate_upstream_jwks_fetches_total', { result: 'success' })).toBe(1);
    expect(after.value('scopegate_upstream_jwks_fetches_total', { result: 'error' })).toBe(0);
  });

  it('counts cache hits and misses per cache', async () => {
    const before = await scrape(gateway.adminUrl);
    for (let i = 0; i < 3; i++) {
      expect((await token({ ...client, scope: 'read:reports' })).status).toBe(200);
    }
    const after = await scrape(gateway.adminUrl);
    const hits = 'scopegate_cache_hits_total';
    const misses = 'scopegate_cache_misses_total';
    // Each request's upstream token is verified once: against a cached upstream key, or answered
    // by the verified-token memo when the upstream handed out the same token again.
    expect(
      delta(before, after, hits, { cache: 'upstream_jwks' }) +
        delta(before, after, hits, { cache: 'verified_token' }),
    ).toBe(3);
    // The upstream issuer comes from the cached discovery document on every token request.
    expect(delta(before, after, hits, { cache: 'discovery' })).toBeGreaterThanOrEqual(3);
    // The decision cache: one miss, then hits for the same input.
    expect(delta(before, after, misses, { cache: 'decision' })).toBe(1);
    expect(delta(before, after, hits, { cache: 'decision' })).toBe(2);
  });

  it('shows requests in flight while they are served', async () => {
    const agent = new http.Agent({ keepAlive: false });
    const slow = new Promise<number>((resolve, reject) => {
      http
        .get(`${gateway.url}/api/slow?ms=600`, { agent }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        })
        .on('error', reject);
    });
    const during = await waitFor(async () => {
      const current = await scrape(gateway.adminUrl);
      return current.value('scopegate_in_flight_requests', { listener: 'public' }) >= 1 && current;
    }, 'an in-flight request');
    expect(during.value('scopegate_in_flight_requests', { listener: 'public' })).toBe(1);
    expect(await slow).toBe(200);
    await waitFor(
      async () =>
        (await scrape(gateway.adminUrl)).value('scopegate_in_flight_requests', {
          listener: 'public',
        }) === 0,
      'no request in flight',
    );
  });

  it('publishes signing key info, readiness, config generation and process metrics', async () => {
    const current = await scrape(gateway.adminUrl);
    expect(
      current.value('scopegate_signing_key_info', {
        kid: 'test-key',
        alg: 'ES256',
        status: 'active',
      }),
    ).toBe(1);
    expect(current.value('scopegate_ready')).toBe(1);
    expect(current.value('scopegate_config_generation')).toBe(1);
    // The version of the package and the Node.js this process runs on, one series.
    const manifest = JSON.parse(
      await readFile(path.join(packageRoot(), 'package.json'), 'utf8'),
    ) as { version: string };
    expect(current.find('scopegate_build_info')).toEqual([
      {
        name: 'scopegate_build_info',
        labels: { version: manifest.version, node_version: process.versions.node },
        value: 1,
      },
    ]);
    expect(current.has('process_cpu_user_seconds_total')).toBe(true);
    expect(current.has('process_resident_memory_bytes')).toBe(true);
    expect(current.has('nodejs_eventloop_lag_seconds')).toBe(true);
    // Alerts use increase() on these: they exist at zero before the first event.
    expect(current.find('scopegate_config_reloads_total', { result: 'failure' })).toHaveLength(1);
    expect(
      current.find('scopegate_upstream_jwks_fetches_total', { result: 'stale_served' }),
    ).toHaveLength(1);
  });

  it('counts config reloads by result and follows the key set', async () => {
    const before = await scrape(gateway.adminUrl);
    const keyFile = await gateway.addKey({ kid: 'second' });
    const config = structuredClone(gateway.config) as {
      signing: { keys: Array<Record<string, unknown>> };
    };
    config.signing.keys.push({
      kid: 'second',
      alg: 'ES256',
      private_key_file: keyFile,
      status: 'next',
    });
    await gateway.writeConfig(config);
    expect(await gateway.instance.reload()).toBe(true);
    await gateway.writeConfig({ ...config, unknown_key: true });
    expect(await gateway.instance.reload()).toBe(false);
    const after = await scrape(gateway.adminUrl);
    expect(delta(before, after, 'scopegate_config_reloads_total', { result: 'success' })).toBe(1);
    expect(delta(before, after, 'scopegate_config_reloads_total', { result: 'failure' })).toBe(1);
    expect(after.value('scopegate_config_generation')).toBe(2);
    expect(after.value('scopegate_signing_key_info', { kid: 'second', status: 'next' })).toBe(1);
    expect(after.value('scopegate_signing_key_info', { kid: 'test-key', status: 'active' })).toBe(
      1,
    );
    await gateway.writeConfig(gateway.config);
    expect(await gateway.instance.reload()).toBe(true);
    // A key taken out of the config leaves no series behind.
    const last = await scrape(gateway.adminUrl);
    expect(last.find('scopegate_signing_key_info', { kid: 'second' })).toEqual([]);
  });
});
