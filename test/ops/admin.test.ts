import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type RunningAuth0Emulator,
  startAuth0Emulator,
} from '../fixtures/auth0-emulator/auth0-emulator.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { scrape } from '../support/prometheus.js';
import { waitFor } from '../support/wait.js';

let upstream: RunningAuth0Emulator;
let gateway: TestGateway | undefined;

beforeEach(async () => {
  upstream = await startAuth0Emulator({ clients: [] });
});

afterEach(async () => {
  await gateway?.close();
  gateway = undefined;
  await upstream.close();
});

async function probe(path: string, init: RequestInit = {}) {
  const response = await fetch(`${gateway?.adminUrl}${path}`, init);
  const text = await response.text();
  return { status: response.status, headers: response.headers, text };
}

describe('admin listener', () => {
  it('answers /healthz, /readyz and /metrics, and nothing else', async () => {
    gateway = await startTestGateway({ upstreamUrl: upstream.url });
    await waitFor(() => gateway?.instance.readiness().ready, 'readiness');

    const health = await probe('/healthz');
    expect(health.status).toBe(200);
    expect(JSON.parse(health.text)).toEqual({ status: 'ok' });

    const ready = await probe('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.headers.get('cache-control')).toBe('no-store');
    expect(JSON.parse(ready.text)).toEqual({
      ready: true,
      checks: {
        config_loaded: true,
        active_signing_key: true,
        upstream_keys_fetched: true,
        not_shutting_down: true,
      },
    });

    const metrics = await probe('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(metrics.text).toContain('scopegate_ready 1');

    expect((await probe('/metrics', { method: 'POST' })).status).toBe(405);
    expect((await probe('/readyz', { method: 'HEAD' })).status).toBe(200);
    expect((await probe('/oauth/token')).status).toBe(404);
    // The admin listener is not the public one: nothing is proxied from it.
    expect((await probe('/api/echo')).status).toBe(404);
  });

  it('is not ready until the upstream keys were fetched once, then ready whatever the upstream does', async () => {
    upstream.setJwksAvailable(false);
    gateway = await startTestGateway({ upstreamUrl: upstream.url });

    const notYet = await probe('/readyz');
    expect(notYet.status).toBe(503);
    expect(JSON.parse(notYet.text).checks).toMatchObject({
      config_loaded: true,
      active_signing_key: true,
      upstream_keys_fetched: false,
    });
    // Alive all the same: a restart would not help.
    expect((await probe('/healthz')).status).toBe(200);
    expect((await scrape(gateway.adminUrl)).value('scopegate_ready')).toBe(0);

    upstream.setJwksAvailable(true);
    await waitFor(async () => (await probe('/readyz')).status === 200, 'readiness', 8000);
    expect((await scrape(gateway.adminUrl)).value('scopegate_ready')).toBe(1);
    expect(gateway.logs.text()).toContain('upstream keys not fetched yet; retrying');

    // A momentary upstream outage does not take the instance (and every replica) out.
    upstream.setJwksAvailable(false);
    expect((await probe('/readyz')).status).toBe(200);
    await upstream.close();
    expect((await probe('/readyz')).status).toBe(200);
  });

  it('turns /readyz and scopegate_ready to not ready as soon as shutdown starts', async () => {
    gateway = await startTestGateway({ upstreamUrl: upstream.url });
    await waitFor(() => gateway?.instance.readiness().ready, 'readiness');
    const slow = fetch(`${gateway.url}/api/slow?ms=500`);
    await waitFor(
      async () => (await scrape(gateway?.adminUrl)).value('scopegate_in_flight_requests') === 1,
      'the slow request in flight',
    );
    const stopping = gateway.instance.shutdown();
    const during = await probe('/readyz');
    expect(during.status).toBe(503);
    expect(JSON.parse(during.text).checks.not_shutting_down).toBe(false);
    expect((await scrape(gateway.adminUrl)).value('scopegate_ready')).toBe(0);
    expect((await probe('/healthz')).status).toBe(200);
    expect((await slow).status).toBe(200);
    await stopping;
  });
});
