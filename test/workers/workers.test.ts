/**
 * `server.workers: 2`: the real `scopegate serve` (built CLI), a primary and two workers sharing
 * the public listener, in front of a real upstream. Every request goes on a connection of its own,
 * so node:cluster's round robin spreads them over both workers; which worker answered is read from
 * its access line (every worker's log line names it), matched by the response's x-request-id.
 *
 * - Token requests are served by both workers; /metrics adds their counters up; /readyz is the
 *   whole's.
 * - A worker killed with SIGKILL is started again: a log line and a metric, and requests keep
 *   being answered; the replacement serves the configuration in force even after the config
 *   and key files on disk went bad.
 * - SIGHUP with a changed configuration: every worker issues with the new key; with an invalid one
 *   nothing changes anywhere.
 * - SIGTERM while a slow upstream call is in flight: that request is answered, then exit 0.
 * - The in-process upstream token cache is shared: concurrent requests for one client spread
 *   over both workers make one upstream call.
 * - A token revoked through one worker is refused at the other.
 * - The upstream quota (rate and concurrency, in process) is the pod's, not each worker's.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type SpawnedScopegate, spawnScopegate } from '../support/cli-process.js';
import {
  type CustomTokenHandler,
  type CustomTokenRequest,
  type CustomUpstream,
  startCustomUpstream,
} from '../support/custom-upstream.js';
import { jwtHeader, prepareTestConfig, type TestConfig } from '../support/gateway.js';
import { scrape } from '../support/prometheus.js';
import { sleep, waitFor } from '../support/wait.js';

const CLIENTS: Record<string, string> = { cached: 'cached-secret', plain: 'plain-secret' };
const CACHE_KEY = 'workers-cache-key-0123456789abcdef012345';
const basic = (id: string) =>
  `Basic ${Buffer.from(`${id}:${CLIENTS[id] ?? ''}`).toString('base64')}`;

let upstream: CustomUpstream;
/** Token calls that reached the upstream, by client. */
const tokenCalls = new Map<string, number>();
let tokenDelayMs = 0;
/** When set, the upstream refuses token requests (an answer the cache never keeps). */
let tokenRefused = false;
const revokedUpstream = new Set<string>();

function callerOf(request: CustomTokenRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header?.startsWith('Basic ')) return undefined;
  const [id, secret] = Buffer.from(header.slice(6), 'base64').toString('utf8').split(':');
  return id !== undefined && CLIENTS[id] === secret ? id : undefined;
}

const tokenEndpoint: CustomTokenHandler = async (request, idp) => {
  const client = callerOf(request);
  if (client === undefined) return { status: 401, body: { error: 'invalid_client' } };
  tokenCalls.set(client, (tokenCalls.get(client) ?? 0) + 1);
  if (tokenDelayMs > 0) await sleep(tokenDelayMs);
  if (tokenRefused) return { status: 400, body: { error: 'invalid_scope' } };
  return idp.tokenResponse({ sub: `${client}-sub`, client_id: client, scope: 'openid read' });
};

beforeAll(async () => {
  upstream = await startCustomUpstream({
    alg: 'ES256',
    handler: tokenEndpoint,
    routes: {
      '/oauth/revoke': (request) => {
        revokedUpstream.add(request.params.token ?? '');
        return { body: '' };
      },
      '/oauth/introspect': (request) => ({
        body: { active: (request.params.token ?? '').startsWith('eyJ') },
      }),
    },
    document: (url) => ({
      revocation_endpoint: `${url}/oauth/revoke`,
      introspection_endpoint: `${url}/oauth/introspect`,
    }),
  });
});

afterAll(async () => {
  await upstream?.close();
});

interface Answer {
  status: number;
  body: string;
  requestId: string | undefined;
}

/** A form POST on a connection of its own (no keep-alive): the next worker in turn takes it. */
function post(url: string, form: Record<string, string>, authorization?: string): Promise<Answer> {
  const body = new URLSearchParams(form).toString();
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent: false,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          ...(authorization ? { authorization } : {}),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: text,
            requestId: res.headers['x-request-id'] as string | undefined,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const tokenFor = (target: SpawnedScopegate, client: string) =>
  post(
    `${target.publicUrl}/oauth/token`,
    { grant_type: 'client_credentials', scope: 'openid read' },
    basic(client),
  );

/** The worker whose access line carries `requestId`. */
async function workerOf(target: SpawnedScopegate, answer: Answer): Promise<number> {
  const line = await target.waitForLog(
    (record) => record.requestId === answer.requestId && typeof record.worker === 'number',
    `the access line of ${answer.requestId}`,
  );
  return line.worker as number;
}

async function readyz(target: SpawnedScopegate) {
  const response = await fetch(`${target.adminUrl}/readyz`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function whenReady(target: SpawnedScopegate): Promise<void> {
  await waitFor(async () => (await readyz(target)).status === 200, 'readiness', 10_000);
}

function workerConfig(extra: Record<string, unknown> = {}): Promise<TestConfig> {
  return prepareTestConfig({
    upstreamUrl: upstream.url,
    config: {
      server: { workers: 2, watch_config: false, shutdown_grace: '5s' },
      tokens: {
        refresh_token_key: randomBytes(32).toString('base64url'),
        upstream_token_key: randomBytes(32).toString('base64url'),
      },
      clients: [{ client_id: 'cached', cache: true }],
      cache: { upstream_tokens: { key: CACHE_KEY } },
      ...extra,
    },
  });
}

describe('server.workers: 2, the real process', () => {
  let child: SpawnedScopegate | undefined;
  let prepared: TestConfig | undefined;

  afterEach(async () => {
    tokenDelayMs = 0;
    tokenRefused = false;
    await child?.stop();
    await prepared?.remove();
    child = undefined;
  });

  it('serves tokens from both workers, sums their metrics, and answers readiness for the whole', async () => {
    prepared = await workerConfig();
    child = await spawnScopegate(prepared.configFile);
    const target = child;
    await whenReady(target);
    const report = await readyz(target);
    expect(report.body.checks).toMatchObject({ every_worker_up: true, every_worker_ready: true });

    const answers = await Promise.all(Array.from({ length: 10 }, () => tokenFor(target, 'plain')));
    expect(answers.map((answer) => answer.status)).toEqual(Array(10).fill(200));
    const workers = new Set(await Promise.all(answers.map((answer) => workerOf(target, answer))));
    expect(workers.size).toBe(2);

    const metrics = await scrape(target.adminUrl);
    expect(
      metrics.value('scopegate_token_requests_total', { grant_type: 'client_credentials' }),
    ).toBe(10);
    expect(metrics.value('scopegate_workers', { state: 'expected' })).toBe(2);
    expect(metrics.value('scopegate_workers', { state: 'ready' })).toBe(2);
    expect(metrics.value('scopegate_ready')).toBe(1);
    expect(metrics.value('scopegate_config_generation')).toBe(1);
    expect(metrics.value('scopegate_worker_restarts_total')).toBe(0);
    // Build info is one series with the value 1, not one per worker added up.
    expect(metrics.find('scopegate_build_info').map((sample) => sample.value)).toEqual([1]);
  });

  it('starts a killed worker again, counts and logs it, and keeps answering', async () => {
    prepared = await workerConfig();
    child = await spawnScopegate(prepared.configFile);
    const target = child;
    await whenReady(target);
    const serving = target.records().filter((record) => record.msg === 'worker serving');
    expect(serving).toHaveLength(2);
    const victim = serving[0] as { worker: number; pid: number };
    // The files on disk go bad meanwhile: the replacement still serves what is in force, because
    // it gets the configuration (keys included) from the primary, never from the files.
    await prepared.writeConfig({ ...prepared.config, unknown_setting: true });
    await rm(path.join(prepared.dir, 'test-key.pem'));

    process.kill(victim.pid, 'SIGKILL');
    const exit = await target.waitForLog(
      (record) => record.msg === 'worker exited unexpectedly; starting another',
      'the crash line',
    );
    expect(exit).toMatchObject({ worker: victim.worker, signal: 'SIGKILL', role: 'primary' });
    // Requests while the replacement starts are answered by the worker left. (Not before the
    // primary saw the exit: a connection node:cluster's round robin handed to the worker in the
    // instant it died is lost with it.)
    const during = await Promise.all(Array.from({ length: 6 }, () => tokenFor(target, 'plain')));
    expect(during.map((answer) => answer.status)).toEqual(Array(6).fill(200));
    await waitFor(
      () => target.records().filter((record) => record.msg === 'worker serving').length === 3,
      'the new worker',
    );
    await whenReady(target);
    const metrics = await scrape(target.adminUrl);
    expect(metrics.value('scopegate_worker_restarts_total')).toBe(1);
    expect(metrics.value('scopegate_workers', { state: 'up' })).toBe(2);

    const after = await Promise.all(Array.from({ length: 6 }, () => tokenFor(target, 'plain')));
    expect(after.map((answer) => answer.status)).toEqual(Array(6).fill(200));
    for (const answer of after) {
      expect(jwtHeader(JSON.parse(answer.body).access_token).kid).toBe('test-key');
    }
    const workers = new Set(await Promise.all(after.map((answer) => workerOf(target, answer))));
    expect(workers.size).toBe(2);
    expect(workers.has(victim.worker)).toBe(false);
  });

  it('SIGHUP: every worker switches to the new configuration; an invalid one changes nothing', async () => {
    prepared = await workerConfig();
    child = await spawnScopegate(prepared.configFile);
    const target = child;
    const config = prepared;
    await whenReady(target);

    // Invalid: nothing changes anywhere.
    await config.writeConfig({ ...config.config, unknown_setting: true });
    target.child.kill('SIGHUP');
    const failure = await target.waitForLog(
      (record) => record.msg === 'config reload failed; keeping the current config',
      'the failed reload',
    );
    expect(String(failure.errors)).toMatch(/unknown_setting/);
    const before = await Promise.all(Array.from({ length: 8 }, () => tokenFor(target, 'plain')));
    for (const answer of before) {
      expect(jwtHeader(JSON.parse(answer.body).access_token).kid).toBe('test-key');
    }
    expect(new Set(await Promise.all(before.map((a) => workerOf(target, a)))).size).toBe(2);

    // Valid: a new active key, the old one published as retired.
    const keyFile = await config.addKey({ kid: 'next-key' });
    const signing = config.config.signing as { keys: Array<Record<string, unknown>> };
    await config.writeConfig({
      ...config.config,
      signing: {
        keys: [
          { ...signing.keys[0], status: 'retired' },
          { kid: 'next-key', alg: 'ES256', private_key_file: keyFile, status: 'active' },
        ],
      },
    });
    target.child.kill('SIGHUP');
    await target.waitForLog(
      (record) => record.msg === 'config reloaded' && record.role === 'primary',
      'the reload',
    );
    const after = await Promise.all(Array.from({ length: 8 }, () => tokenFor(target, 'plain')));
    for (const answer of after) {
      expect(jwtHeader(JSON.parse(answer.body).access_token).kid).toBe('next-key');
    }
    expect(new Set(await Promise.all(after.map((a) => workerOf(target, a)))).size).toBe(2);
    const metrics = await scrape(target.adminUrl);
    // The lowest generation any worker serves: every one of them is at 2.
    expect(metrics.value('scopegate_config_generation')).toBe(2);
    expect(metrics.value('scopegate_config_reloads_total', { result: 'success' })).toBe(1);
    expect(metrics.value('scopegate_config_reloads_total', { result: 'failure' })).toBe(1);
  });

  it('SIGTERM: the slow token request in flight is answered, then the process exits 0', async () => {
    prepared = await workerConfig();
    child = await spawnScopegate(prepared.configFile);
    const target = child;
    await whenReady(target);
    tokenDelayMs = 1500;
    const slow = tokenFor(target, 'plain');
    await waitFor(
      async () =>
        (await scrape(target.adminUrl)).value('scopegate_in_flight_requests', {
          listener: 'public',
        }) === 1,
      'the slow request in flight',
    );
    target.child.kill('SIGTERM');
    await waitFor(async () => (await readyz(target)).status === 503, 'readiness off', 1000);
    const answer = await slow;
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body).access_token).toBeTypeOf('string');
    const exit = await target.exited;
    expect(exit).toMatchObject({ code: 0, signal: null });
    const messages = target.records().map((record) => record.msg);
    expect(messages).toContain('scopegate stopped');
    expect(messages).not.toContain('worker exited unexpectedly; starting another');
  });

  it('the in-process token cache is shared: concurrent requests on both workers make one upstream call', async () => {
    prepared = await workerConfig();
    child = await spawnScopegate(prepared.configFile);
    const target = child;
    await whenReady(target);
    tokenCalls.clear();
    tokenDelayMs = 400;
    const answers = await Promise.all(Array.from({ length: 12 }, () => tokenFor(target, 'cached')));
    expect(answers.map((answer) => answer.status)).toEqual(Array(12).fill(200));
    expect(new Set(await Promise.all(answers.map((a) => workerOf(target, a)))).size).toBe(2);
    expect(tokenCalls.get('cached')).toBe(1);
    // And later requests, on either worker, are answered from the cache.
    tokenDelayMs = 0;
    const later = await Promise.all(Array.from({ length: 6 }, () => tokenFor(target, 'cached')));
    expect(later.map((answer) => answer.status)).toEqual(Array(6).fill(200));
    expect(tokenCalls.get('cached')).toBe(1);
    const metrics = await scrape(target.adminUrl);
    expect(metrics.value('scopegate_upstream_token_calls_saved_total')).toBe(17);
  });

  it('an answer the cache does not keep lets the other worker ask at once, not when the lease runs out', async () => {
    // The lease is upstream.timeout and a second: 21 s here, far beyond what the test waits.
    prepared = await workerConfig({ upstream: { timeout: '20s' } });
    child = await spawnScopegate(prepared.configFile);
    const target = child;
    await whenReady(target);
    tokenCalls.clear();
    tokenDelayMs = 400;
    tokenRefused = true;
    const started = Date.now();
    const answers = await Promise.all(Array.from({ length: 8 }, () => tokenFor(target, 'cached')));
    const elapsedMs = Date.now() - started;
    expect(answers.map((answer) => answer.status)).toEqual(Array(8).fill(400));
    expect(new Set(await Promise.all(answers.map((a) => workerOf(target, a)))).size).toBe(2);
    // One call per worker at most: the holder's, then the released waiter's.
    expect(tokenCalls.get('cached')).toBeLessThanOrEqual(2);
    expect(elapsedMs).toBeLessThan(10_000);
  });

  it('a token revoked through one worker is refused at the other', async () => {
    prepared = await workerConfig();
    child = await spawnScopegate(prepared.configFile);
    const target = child;
    await whenReady(target);
    const issued = await tokenFor(target, 'plain');
    const access = JSON.parse(issued.body).access_token as string;
    const introspect = () =>
      post(`${target.publicUrl}/oauth/introspect`, { token: access }, basic('plain'));
    // Active at both workers before.
    const first = await Promise.all(Array.from({ length: 4 }, introspect));
    expect(first.map((answer) => JSON.parse(answer.body).active)).toEqual(Array(4).fill(true));

    const revoked = await post(
      `${target.publicUrl}/oauth/revoke`,
      { token: access },
      basic('plain'),
    );
    expect(revoked.status).toBe(200);
    const revokedAt = await workerOf(target, revoked);
    const answers = await Promise.all(Array.from({ length: 6 }, introspect));
    const workers = await Promise.all(answers.map((answer) => workerOf(target, answer)));
    expect(workers.some((worker) => worker !== revokedAt)).toBe(true);
    for (const answer of answers) expect(JSON.parse(answer.body)).toEqual({ active: false });
  });

  it('the in-process upstream rate limit is the pod’s, not each worker’s', async () => {
    prepared = await workerConfig({ upstream: { quota: { rate: '4/h' } } });
    child = await spawnScopegate(prepared.configFile);
    const target = child;
    await whenReady(target);
    tokenCalls.clear();
    const answers: Answer[] = [];
    for (let index = 0; index < 10; index++) answers.push(await tokenFor(target, 'plain'));
    expect(new Set(await Promise.all(answers.map((a) => workerOf(target, a)))).size).toBe(2);
    expect(tokenCalls.get('plain')).toBe(4);
    expect(answers.filter((answer) => answer.status === 429)).toHaveLength(6);
  });

  it('the upstream concurrency limit is the pod’s', async () => {
    prepared = await workerConfig({ upstream: { quota: { concurrency: 1 } } });
    child = await spawnScopegate(prepared.configFile);
    const target = child;
    await whenReady(target);
    tokenCalls.clear();
    tokenDelayMs = 600;
    const answers = await Promise.all(Array.from({ length: 6 }, () => tokenFor(target, 'plain')));
    expect(new Set(await Promise.all(answers.map((a) => workerOf(target, a)))).size).toBe(2);
    expect(tokenCalls.get('plain')).toBe(1);
    expect(answers.filter((answer) => answer.status === 200)).toHaveLength(1);
    expect(answers.filter((answer) => answer.status === 429)).toHaveLength(5);
    // The slot is given back: the next call goes through.
    tokenDelayMs = 0;
    expect((await tokenFor(target, 'plain')).status).toBe(200);
  });
});
