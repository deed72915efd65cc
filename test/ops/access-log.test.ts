/**
 * The access line (proxy/observability/access-log.ts): every request on the public listener writes exactly one,
 * whatever its route (token, JWKS, discovery, userinfo, introspection, revocation, proxied, not
 * served, refused), with the request id, route, method, path, status, duration, bytes, peer and
 * the upstream's status where there was one; proxied successes are sampled by
 * `log.access.sample_proxied`, errors never are; and the request-duration histogram counts every
 * request under its route class, sampled or not.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessLog } from '../../proxy/observability/access-log.js';
import { Metrics } from '../../proxy/observability/metrics.js';
import { type LoginUpstream, M2M_CLIENT, startLoginUpstream } from '../oidc/login-upstream.js';
import { type SelfIssuedGateway, startSelfIssuedGateway } from '../oidc/self-issued-gateway.js';
import { postForm } from '../support/gateway.js';
import { scrape } from '../support/prometheus.js';
import { rawRequest } from '../support/raw-http.js';
import { waitFor } from '../support/wait.js';

let upstream: LoginUpstream;
let gateway: SelfIssuedGateway;
let endpoints: Record<string, string>;

beforeAll(async () => {
  upstream = await startLoginUpstream({ userinfoTokens: true });
  gateway = await startSelfIssuedGateway({
    upstreamUrl: upstream.url,
    tokenPath: upstream.tokenPath,
    config: {
      upstream: {
        token_format: 'auto',
        introspection: { client_id: M2M_CLIENT.client_id, client_secret: M2M_CLIENT.client_secret },
        blocked_paths: ['/blocked'],
      },
      tokens: {
        refresh_token_key: randomBytes(32).toString('base64url'),
        upstream_token_key: randomBytes(32).toString('base64url'),
      },
    },
  });
  const discovery = await fetch(`${gateway.issuer}/.well-known/openid-configuration`);
  endpoints = (await discovery.json()) as Record<string, string>;
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

type Line = Record<string, unknown>;

/** The access lines (generic and token) of one request id, once its response has closed. */
async function linesOf(requestId: string): Promise<Line[]> {
  const of = () =>
    gateway.logs
      .records()
      .filter(
        (line) =>
          line.requestId === requestId && (line.msg === 'request' || line.msg === 'token request'),
      );
  await waitFor(() => of().length > 0, `the access line of ${requestId}`);
  return of();
}

let counter = 0;
const newId = () => `access-${++counter}`;

describe('one access line per request, on every route', () => {
  it.each([
    ['jwks', 'GET', '/.well-known/jwks.json', 200],
    ['discovery', 'GET', '/.well-known/openid-configuration', 200],
    ['proxy', 'GET', '/.well-known/no-such-document', 404],
    ['not_served', 'GET', '/blocked/below', 404],
  ] as const)('%s: %s %s', async (route, method, path, status) => {
    const requestId = newId();
    const response = await fetch(`${gateway.url}${path}`, {
      method,
      headers: { 'x-request-id': requestId },
    });
    const body = await response.arrayBuffer();
    expect(response.status).toBe(status);
    const lines = await linesOf(requestId);
    expect(lines).toHaveLength(1);
    const line = lines[0] as Line;
    expect(line).toMatchObject({ msg: 'request', level: 30, route, method, path, status });
    expect(line.durationMs).toBeTypeOf('number');
    // Status line, headers and body: at least the body.
    expect(line.bytes).toBeGreaterThanOrEqual(body.byteLength);
    expect(line.peer).toMatch(/127\.0\.0\.1/);
    if (route === 'proxy') expect(line.upstreamStatus).toBe(404);
    else expect(line.upstreamStatus).toBeUndefined();
  });

  it.each([
    ['userinfo', 'userinfo_endpoint'],
    ['introspection', 'introspection_endpoint'],
    ['revocation', 'revocation_endpoint'],
  ] as const)("%s: scopegate's own endpoint", async (route, member) => {
    const requestId = newId();
    const url = endpoints[member];
    expect(url, `${member} is advertised`).toBeTypeOf('string');
    const response = await fetch(url as string, {
      method: 'POST',
      headers: { 'x-request-id': requestId, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'token=not-a-token',
    });
    await response.arrayBuffer();
    const lines = await linesOf(requestId);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      msg: 'request',
      route,
      method: 'POST',
      status: response.status,
    });
  });

  it('token: the token endpoint fields and the common ones, in one line', async () => {
    const requestId = newId();
    const response = await postForm(
      `${gateway.url}${upstream.tokenPath}`,
      {
        grant_type: 'client_credentials',
        client_id: M2M_CLIENT.client_id,
        client_secret: M2M_CLIENT.client_secret,
        scope: 'api:read',
      },
      { 'x-request-id': requestId },
    );
    await response.arrayBuffer();
    const lines = await linesOf(requestId);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      msg: 'token request',
      route: 'token',
      method: 'POST',
      path: upstream.tokenPath,
      status: response.status,
      grantType: 'client_credentials',
      clientIdHint: M2M_CLIENT.client_id,
    });
    expect((lines[0] as Line).upstreamStatus).toBeTypeOf('number');
    expect((lines[0] as Line).bytes).toBeGreaterThan(0);
  });

  it('refused: a target without a canonical form', async () => {
    const requestId = newId();
    const answer = await rawRequest(
      gateway.url,
      `GET /a/%2e%2e%2fb HTTP/1.1\r\nHost: x\r\nX-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n`,
    );
    expect(answer.status).toBe(400);
    const lines = await linesOf(requestId);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ route: 'refused', method: 'GET', status: 400, path: '' });
  });

  it('counts every request in the duration histogram under its route class', async () => {
    const metrics = await scrape(gateway.adminUrl);
    const count = (route: string, statusClass: string) =>
      metrics.value('scopegate_request_duration_seconds_count', {
        route,
        status_class: statusClass,
      });
    expect(count('jwks', '2xx')).toBeGreaterThanOrEqual(1);
    expect(count('not_served', '4xx')).toBeGreaterThanOrEqual(1);
    expect(count('refused', '4xx')).toBeGreaterThanOrEqual(1);
    expect(count('token', '2xx') + count('token', '4xx')).toBeGreaterThanOrEqual(1);
    const routes = new Set(
      metrics.find('scopegate_request_duration_seconds_count').map((s) => s.labels.route),
    );
    // Route classes only: never a path.
    for (const route of routes) {
      expect([
        'token',
        'jwks',
        'discovery',
        'userinfo',
        'introspection',
        'revocation',
        'proxy',
        'not_served',
        'refused',
      ]).toContain(route);
    }
  });
});

describe('sampling proxied successes (log.access.sample_proxied)', () => {
  it('at 0 drops proxied successes only: errors and other routes keep their line, every request is counted', async () => {
    await gateway.writeConfig({
      ...gateway.config,
      issuer: gateway.issuer,
      log: { access: { sample_proxied: 0 } },
    });
    expect(await gateway.instance.reload()).toBe(true);
    const proxiedSuccesses = async () =>
      (await scrape(gateway.adminUrl)).value('scopegate_request_duration_seconds_count', {
        route: 'proxy',
        status_class: '2xx',
      });
    const before = await proxiedSuccesses();
    // The upstream's own JWKS is not intercepted: a proxied request that succeeds.
    const upstreamDiscovery = await fetch(`${upstream.url}/.well-known/openid-configuration`);
    const upstreamJwks = new URL(
      ((await upstreamDiscovery.json()) as { jwks_uri: string }).jwks_uri,
    );
    const success = newId();
    const proxied = await fetch(`${gateway.url}${upstreamJwks.pathname}`, {
      headers: { 'x-request-id': success },
    });
    await proxied.arrayBuffer();
    expect(proxied.status).toBe(200);

    const failure = newId();
    const missing = await fetch(`${gateway.url}/.well-known/none`, {
      headers: { 'x-request-id': failure },
    });
    await missing.arrayBuffer();
    expect(missing.status).toBe(404);
    expect(await linesOf(failure)).toHaveLength(1);
    const jwks = newId();
    const own = await fetch(`${gateway.url}/.well-known/jwks.json`, {
      headers: { 'x-request-id': jwks },
    });
    await own.arrayBuffer();
    expect(await linesOf(jwks)).toHaveLength(1);
    // The lines after it are written, so the success's would be too by now.
    expect(gateway.logs.records().filter((line) => line.requestId === success)).toEqual([]);
    expect(await proxiedSuccesses()).toBe(before + 1);
  });

  it('writes the chosen share of proxied successes, and every error', () => {
    const lines: string[] = [];
    const logger = { info: (_line: unknown, msg: string) => lines.push(msg) };
    let draw = 0;
    // A fixed sequence stands in for Math.random: 0.0, 0.1, ..., 0.9, repeated.
    const access = new AccessLog(logger as never, new Metrics(), () => (draw++ % 10) / 10);
    const finish = (status: number) => {
      const socket = { bytesWritten: 0, remoteAddress: '127.0.0.1' };
      const listeners: Array<() => void> = [];
      const res = {
        req: { socket, method: 'GET' },
        headersSent: true,
        statusCode: status,
        writableFinished: true,
        once: (_event: string, listener: () => void) => listeners.push(listener),
      };
      access.begin(res as never, 'id', 0.3);
      for (const listener of listeners) listener.call(res);
    };
    for (let index = 0; index < 100; index++) finish(200);
    expect(lines).toHaveLength(30);
    for (let index = 0; index < 20; index++) finish(502);
    expect(lines).toHaveLength(50);
  });
});
