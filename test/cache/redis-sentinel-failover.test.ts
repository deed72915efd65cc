/**
 * Redis behind Sentinel, failing over under load: a real primary, replica and three sentinels
 * (test/cache/redis-sentinel.ts), two scopegate replicas whose upstream token cache and
 * revocation list are both configured with the sentinel set. Token requests and revocations run
 * while the primary is killed (SIGKILL, by PID). Every token request is answered 200 (the cache
 * answers from the process, or asks the upstream, while Redis has no primary); after the
 * failover both uses work on the new primary, seen across replicas; the metrics count the switch.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type RunningAuth0Emulator,
  startAuth0Emulator,
} from '../fixtures/auth0-emulator/auth0-emulator.js';
import { postForm, startTestGateway, type TestGateway } from '../support/gateway.js';
import { scrape } from '../support/prometheus.js';
import { waitFor } from '../support/wait.js';
import { everyConnectionSwitched } from './redis-failover.js';
import { startSentinels, type TestSentinels } from './redis-sentinel.js';

const AUDIENCE = 'https://api.example.com';
const CLIENTS = Array.from({ length: 12 }, (_, index) => ({
  clientId: `m2m-${index}`,
  clientSecret: `secret-${index}-value`,
}));
/** Asked only after the failover: its first answer must come from the upstream. */
const LATE_CLIENT = { clientId: 'm2m-late', clientSecret: 'secret-late-value' };
const CACHE_KEY = 'sentinel-test-cache-key-0123456789abcdef01';
/** Bounded load: requests before the kill, and at least this many once the failover is seen. */
const REQUESTS_BEFORE = 120;
const REQUESTS_AFTER = 120;
const MAX_REQUESTS = 3000;
const CONCURRENCY = 4;

let upstream: RunningAuth0Emulator;
let sentinels: TestSentinels;
const replicas: TestGateway[] = [];

beforeAll(async () => {
  upstream = await startAuth0Emulator({
    clients: [...CLIENTS, LATE_CLIENT].map((client) => ({
      ...client,
      grants: { [AUDIENCE]: ['read', 'write'] },
    })),
    defaultAudience: AUDIENCE,
    tokenLifetimeSeconds: 3600,
  });
  sentinels = await startSentinels();
  const redis = {
    sentinel: { name: sentinels.name, nodes: sentinels.nodes },
    timeout: '200ms',
  };
  for (let index = 0; index < 2; index++) {
    replicas.push(
      await startTestGateway({
        upstreamUrl: upstream.url,
        scopeRequest: 'omit',
        config: {
          clients: [...CLIENTS, LATE_CLIENT].map((client) => ({
            client_id: client.clientId,
            cache: true,
          })),
          // Two entries in process: most requests read Redis, so the failover is felt.
          cache: {
            upstream_tokens: {
              key: CACHE_KEY,
              backend: 'redis',
              max_ttl: '10m',
              max_entries: 2,
              redis,
            },
          },
          tokens: { revocation: { store: 'redis', redis } },
        },
      }),
    );
  }
}, 60_000);

afterAll(async () => {
  await Promise.all(replicas.map((replica) => replica.close()));
  await sentinels?.stop();
  await upstream?.close();
});

function ask(replica: TestGateway, client: { clientId: string; clientSecret: string }) {
  return postForm(`${replica.url}/oauth/token`, {
    grant_type: 'client_credentials',
    client_id: client.clientId,
    client_secret: client.clientSecret,
    audience: AUDIENCE,
    scope: 'read',
  });
}

function upstreamCalls(clientId: string): number {
  return upstream.tokenRequests().filter((request) => request.params.client_id === clientId).length;
}

describe('Redis Sentinel failover under load', () => {
  it('keeps every token request 200 and moves the cache and the revocation list to the new primary', async () => {
    const statuses = new Map<number, number>();
    const revocations = { ok: 0, unavailable: 0 };
    let sent = 0;
    let afterFailover = -1;
    const farFuture = Math.floor(Date.now() / 1000) + 3600;
    const worker = async (lane: number) => {
      while (sent < MAX_REQUESTS && (afterFailover < 0 || sent < afterFailover + REQUESTS_AFTER)) {
        const index = sent++;
        const replica = replicas[index % 2] as TestGateway;
        const client = CLIENTS[(index * 7 + lane) % CLIENTS.length] as (typeof CLIENTS)[number];
        const response = await ask(replica, client);
        await response.arrayBuffer();
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        // A revocation and a check beside every fourth request: 503 while there is no primary.
        if (index % 4 === 0) {
          try {
            const revoked = replica.instance.runtime().revokedTokens;
            await revoked.revoke(`load-${index}`, farFuture);
            await revoked.anyRevoked([`load-${index}`, 'never-revoked']);
            revocations.ok++;
          } catch {
            revocations.unavailable++;
          }
        }
      }
    };
    const load = Promise.all(Array.from({ length: CONCURRENCY }, (_, lane) => worker(lane)));

    await waitFor(() => sent >= REQUESTS_BEFORE, 'the load to warm up', 60_000);
    const killedAt = Date.now();
    const killedAfter = sent;
    process.kill(sentinels.primaryPid, 'SIGKILL');
    const newPrimary = await waitFor(
      async () => {
        const port = await sentinels.currentPrimaryPort();
        return port !== sentinels.primaryPort ? port : undefined;
      },
      'the sentinels to promote the replica',
      30_000,
    );
    const promotedMs = Date.now() - killedAt;
    // Both uses on both replicas have reconnected to the new primary.
    await everyConnectionSwitched(replicas, 'every connection to switch to the new primary');
    const switchedMs = Date.now() - killedAt;
    afterFailover = sent;
    await load;

    const total = [...statuses.values()].reduce((sum, count) => sum + count, 0);
    console.info(
      `sentinel failover: ${total} token requests (${killedAfter} before the kill), statuses ${JSON.stringify(Object.fromEntries(statuses))}; ` +
        `revocations ok ${revocations.ok}, 503 ${revocations.unavailable}; ` +
        `new primary named by the sentinels ${promotedMs} ms after the kill, every connection on it after ${switchedMs} ms`,
    );
    expect(newPrimary).toBe(sentinels.replicaPort);
    expect([...statuses.keys()]).toEqual([200]);
    expect(total).toBeGreaterThanOrEqual(REQUESTS_BEFORE + REQUESTS_AFTER);

    // The cache on the new primary: an entry written by one replica is read by the other.
    const [first, second] = replicas as [TestGateway, TestGateway];
    expect((await ask(first, LATE_CLIENT)).status).toBe(200);
    expect((await ask(second, LATE_CLIENT)).status).toBe(200);
    expect(upstreamCalls(LATE_CLIENT.clientId)).toBe(1);
    const promoted = sentinels.clientOf(newPrimary);
    expect((await promoted.keys('scopegate:token:*')).length).toBeGreaterThan(0);

    // The revocation list on the new primary: revoked at one replica, refused at the other.
    await first.instance.runtime().revokedTokens.revoke('after-failover', farFuture);
    expect(await second.instance.runtime().revokedTokens.anyRevoked(['after-failover'])).toBe(true);
    expect(await promoted.exists('scopegate:revoked:after-failover')).toBe(1);

    for (const replica of replicas) {
      const metrics = await scrape(replica.adminUrl);
      for (const use of ['token_cache', 'revocation']) {
        expect(
          metrics.value('scopegate_redis_primary_switches_total', { use }),
        ).toBeGreaterThanOrEqual(1);
        expect(metrics.value('scopegate_redis_reconnects_total', { use })).toBeGreaterThanOrEqual(
          1,
        );
      }
    }
  }, 120_000);
});
