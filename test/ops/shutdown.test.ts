import http from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type RunningAuth0Emulator,
  startAuth0Emulator,
} from '../fixtures/auth0-emulator/auth0-emulator.js';
import { type SpawnedScopegate, spawnScopegate } from '../support/cli-process.js';
import {
  postForm,
  prepareTestConfig,
  startTestGateway,
  type TestConfig,
  type TestGateway,
} from '../support/gateway.js';
import { scrape } from '../support/prometheus.js';
import { waitFor } from '../support/wait.js';

const API = 'https://api.example.com';
let upstream: RunningAuth0Emulator;

beforeAll(async () => {
  upstream = await startAuth0Emulator({
    clients: [{ clientId: 'm2m', clientSecret: 'm2m-secret', grants: { [API]: ['read:claims'] } }],
    defaultAudience: API,
  });
});

afterAll(async () => {
  await upstream?.close();
});

interface Answer {
  status: number;
  body: string;
  connection: string | undefined;
}

/** A GET on its own keep-alive agent, so the connection outlives the response. */
function get(url: string, agent: http.Agent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body, connection: res.headers.connection }),
        );
      })
      .on('error', reject);
  });
}

async function inFlight(adminUrl: string | undefined): Promise<number> {
  return (await scrape(adminUrl)).value('scopegate_in_flight_requests', { listener: 'public' });
}

describe('graceful shutdown of the real process (SIGTERM)', () => {
  let child: SpawnedScopegate | undefined;
  let prepared: TestConfig | undefined;

  afterEach(async () => {
    await child?.stop();
    await prepared?.remove();
  });

  it('turns /readyz 503 at once, finishes the in-flight request, closes keep-alive connections, exits 0', async () => {
    prepared = await configFor({ shutdown_grace: '6s' });
    child = await spawnScopegate(prepared.configFile);
    const admin = child.adminUrl;
    await waitFor(async () => (await fetch(`${admin}/readyz`)).status === 200, 'readiness');

    const agent = new http.Agent({ keepAlive: true });
    // An idle keep-alive connection, and a token request served before the signal.
    expect((await get(`${child.publicUrl}/api/echo/warm`, agent)).status).toBe(200);
    const issued = await postForm(`${child.publicUrl}/oauth/token`, {
      grant_type: 'client_credentials',
      client_id: 'm2m',
      client_secret: 'm2m-secret',
    });
    expect(issued.status).toBe(200);

    const slow = get(`${child.publicUrl}/api/slow?ms=1500`, new http.Agent({ keepAlive: true }));
    upstream.setDelay(1200);
    const slowToken = postForm(`${child.publicUrl}/oauth/token`, {
      grant_type: 'client_credentials',
      client_id: 'm2m',
      client_secret: 'm2m-secret',
    });
    await waitFor(async () => (await inFlight(admin)) === 2, 'two slow requests in flight');

    const signalledAt = Date.now();
    child.child.kill('SIGTERM');
    await waitFor(async () => (await fetch(`${admin}/readyz`)).status === 503, 'readyz 503', 500);

    expect(await slow).toMatchObject({ status: 200, body: 'slow' });
    const token = await slowToken;
    upstream.setDelay(0);
    expect(token.status).toBe(200);
    expect(((await token.json()) as { access_token?: string }).access_token).toBeTypeOf('string');
    // A response started during the drain tells the client its connection ends with it.
    expect(token.headers.get('connection')).toBe('close');

    const exit = await child.exited;
    expect(exit.code).toBe(0);
    expect(exit.signal).toBeNull();
    // Exits right after the slow request, not after keep_alive_timeout or the grace period.
    expect(exit.at - signalledAt).toBeLessThan(4000);
    expect(exit.at - signalledAt).toBeGreaterThanOrEqual(1000);
    const messages = child.records().map((record) => record.msg);
    expect(messages).toContain('shutting down: draining requests');
    expect(messages).toContain('scopegate stopped');
    expect(messages).not.toContain('shutdown grace period over: closing remaining connections');
    agent.destroy();
  });

  it('cuts what is left when the grace period is over, and still exits 0', async () => {
    prepared = await configFor({ shutdown_grace: '1s' });
    child = await spawnScopegate(prepared.configFile);
    await waitFor(
      async () => (await fetch(`${child?.adminUrl}/readyz`)).status === 200,
      'readiness',
    );
    const tooSlow = get(`${child.publicUrl}/api/slow?ms=10000`, new http.Agent()).catch(
      (error: Error) => error,
    );
    await waitFor(async () => (await inFlight(child?.adminUrl)) === 1, 'the slow request');
    const signalledAt = Date.now();
    child.child.kill('SIGTERM');
    const exit = await child.exited;
    expect(exit.code).toBe(0);
    expect(exit.at - signalledAt).toBeGreaterThanOrEqual(900);
    expect(exit.at - signalledAt).toBeLessThan(3000);
    expect(await tooSlow).toBeInstanceOf(Error);
    expect(child.records().map((record) => record.msg)).toContain(
      'shutdown grace period over: closing remaining connections',
    );
  });
});

describe('signals during start-up', () => {
  let prepared: TestConfig | undefined;

  afterEach(async () => {
    await prepared?.remove();
  });

  it('a SIGTERM as soon as it listens is a graceful shutdown, not a kill', async () => {
    prepared = await configFor({ shutdown_grace: '2s' });
    const child = await spawnScopegate(prepared.configFile, {
      onListening: (process) => process.kill('SIGTERM'),
    });
    const exit = await child.exited;
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(child.records().map((record) => record.msg)).toContain('scopegate stopped');
  });
});

/** Config and keys for a spawned CLI; keep-alive idle connections would hold a naive close()
 * for 30s, far beyond the grace period. */
function configFor(server: Record<string, unknown>): Promise<TestConfig> {
  return prepareTestConfig({
    upstreamUrl: upstream.url,
    scopeRequest: 'omit',
    config: { server: { watch_config: false, keep_alive_timeout: '30s', ...server } },
  });
}

describe('graceful shutdown in process', () => {
  let gateway: TestGateway | undefined;

  afterEach(async () => {
    await gateway?.close();
    gateway = undefined;
  });

  it('lets every admitted request finish: proxied and token requests alike', async () => {
    gateway = await startTestGateway({
      upstreamUrl: upstream.url,
      scopeRequest: 'omit',
      config: { server: { watch_config: false, shutdown_grace: '5s', keep_alive_timeout: '30s' } },
    });
    const instance = gateway.instance;
    await waitFor(() => instance.readiness().ready, 'readiness');
    upstream.setDelay(400);
    try {
      const requests = [
        ...Array.from({ length: 5 }, (_, i) =>
          get(`${gateway?.url}/api/slow?ms=${300 + i * 50}`, new http.Agent({ keepAlive: true })),
        ),
        ...Array.from({ length: 3 }, () =>
          postForm(`${gateway?.url}/oauth/token`, {
            grant_type: 'client_credentials',
            client_id: 'm2m',
            client_secret: 'm2m-secret',
          }).then(async (response) => ({
            status: response.status,
            body: await response.text(),
            connection: response.headers.get('connection') ?? undefined,
          })),
        ),
      ];
      await waitFor(async () => (await inFlight(gateway?.adminUrl)) === 8, 'eight in flight');
      const started = Date.now();
      await instance.shutdown();
      const answers = await Promise.all(requests);
      expect(answers.map((answer) => answer.status)).toEqual([
        200, 200, 200, 200, 200, 200, 200, 200,
      ]);
      // Keep-alive connections closed as their responses ended, not 30s later.
      expect(Date.now() - started).toBeLessThan(2000);
      expect(gateway.logs.text()).not.toContain('shutdown grace period over');
    } finally {
      upstream.setDelay(0);
    }
  });

  it('refuses new connections once shutdown started', async () => {
    gateway = await startTestGateway({ upstreamUrl: upstream.url });
    const url = gateway.url;
    await gateway.instance.shutdown();
    await expect(fetch(`${url}/api/echo`)).rejects.toThrow();
  });
});
