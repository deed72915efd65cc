/**
 * An upstream that answers 429 (Auth0's and Okta's rate limits and M2M token quotas): counted in
 * `scopegate_upstream_rate_limited_total` by route, for the ScopegateUpstreamRateLimited alert,
 * on proxied requests and on scopegate's own calls (the token endpoint).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postForm, startTestGateway, type TestGateway } from '../support/gateway.js';
import { scrape } from '../support/prometheus.js';

let limited: http.Server;
let gateway: TestGateway;

beforeAll(async () => {
  // Everything is over quota: discovery, keys, the token endpoint and proxied pages alike.
  limited = http.createServer((req, res) => {
    req.resume();
    res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' });
    res.end('{"error":"too_many_requests","error_description":"Global limit has been reached"}');
  });
  await new Promise<void>((resolve) => limited.listen(0, '127.0.0.1', resolve));
  const { port } = limited.address() as AddressInfo;
  gateway = await startTestGateway({
    upstreamUrl: `http://127.0.0.1:${port}`,
    scopeRequest: 'omit',
    config: {
      upstream: { issuer: 'https://tenant.test/', jwks_uri: `http://127.0.0.1:${port}/jwks` },
    },
  });
});

afterAll(async () => {
  await gateway?.close();
  await new Promise((resolve) => limited?.close(resolve));
});

describe('an upstream over its rate limit', () => {
  it('counts its 429 answers by route', async () => {
    const proxied = await fetch(`${gateway.url}/authorize?client_id=x`);
    await proxied.arrayBuffer();
    expect(proxied.status).toBe(429);
    const token = await postForm(`${gateway.url}/oauth/token`, {
      grant_type: 'client_credentials',
      client_id: 'm2m',
      client_secret: 'secret',
    });
    await token.arrayBuffer();
    expect(token.status).toBe(429);
    const metrics = await scrape(gateway.adminUrl);
    expect(metrics.value('scopegate_upstream_rate_limited_total', { route: 'proxy' })).toBe(1);
    expect(metrics.value('scopegate_upstream_rate_limited_total', { route: 'token' })).toBe(1);
    // Routes that saw none are there at zero, for increase().
    expect(
      metrics.find('scopegate_upstream_rate_limited_total', { route: 'introspection' }),
    ).toHaveLength(1);
  });
});
