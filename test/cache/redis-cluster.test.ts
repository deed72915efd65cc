/**
 * Redis Cluster: a real three-primary cluster with a replica per primary
 * (test/cache/redis-cluster.ts), two scopegate replicas whose upstream token cache and revocation
 * list are both configured with the cluster's nodes.
 *
 * - The cache is shared across replicas, its entries spread over the primaries by slot.
 * - A revocation recorded at one replica is refused at the other, and a check naming references
 *   whose keys hash to different slots is answered (one EXISTS naming them all is CROSSSLOT).
 * - A primary killed (SIGKILL, by PID) under load: every token request is answered 200 (the cache
 *   answers from the process or asks the upstream while the slots of the dead primary have no
 *   node), revocations may be 503 meanwhile (fail closed, by design); once the replica is promoted
 *   both uses work on it, seen across replicas, and the metrics count the new primary.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type RunningAuth0Emulator,
  startAuth0Emulator,
} from '../fixtures/auth0-emulator/auth0-emulator.js';
import { postForm, startTestGateway, type TestGateway } from '../support/gateway.js';
import { scrape } from '../support/prometheus.js';
import { waitFor } from '../support/wait.js';
import { startCluster, type TestCluster } from './redis-cluster.js';
import { everyConnectionSwitched } from './redis-failover.js';

const AUDIENCE = 'https://api.example.com';
const CLIENTS = Array.from({ length: 12 }, (_, index) => ({
  clientId: `m2m-${index}`,
  clientSecret: `secret-${index}-value`,
}));
/** Asked only once, first at one replica then at the other: one upstream call. */
const SHARED_CLIENT = { clientId: 'm2m-shared', clientSecret: 'secret-shared-value' };
/** Asked only after the failover: its first answer must come from the upstream. */
const LATE_CLIENT = { clientId: 'm2m-late', clientSecret: 'secret-late-value' };
/** One per scopegate replica: asked until its answer is kept in Redis (the connections are up). */
const WARM_UP_CLIENTS = [0, 1].map((index) => ({
  clientId: `m2m-warm-up-${index}`,
  clientSecret: `secret-warm-up-${index}`,
}));
const ALL_CLIENTS = [...CLIENTS, SHARED_CLIENT, LATE_CLIENT, ...WARM_UP_CLIENTS];
const CACHE_KEY = 'cluster-test-cache-key-0123456789abcdef0123';
/** Bounded load: requests before the kill, and at least this many once the failover is seen. */
const REQUESTS_BEFORE = 120;
const REQUESTS_AFTER = 120;
const MAX_REQUESTS = 3000;
const CONCURRENCY = 4;

let upstream: RunningAuth0Emulator;
let cluster: TestCluster;
const replicas: TestGateway[] = [];

beforeAll(async () => {
  upstream = await startAuth0Emulator({
    clients: ALL_CLIENTS.map((client) => ({
      ...client,
      grants: { [AUDIENCE]: ['read', 'write'] },
    })),
    defaultAudience: AUDIENCE,
    tokenLifetimeSeconds: 3600,
  });
  cluster = await startCluster();
  const redis = { cluster: { nodes: cluster.nodes }, timeout: '200ms' };
  for (let index = 0; index < 2; index++) {
    replicas.push(
      await startTestGateway({
        upstreamUrl: upstream.url,
        scopeRequest: 'omit',
        config: {
          clients: ALL_CLIENTS.map((client) => ({ client_id: client.clientId, cache: true })),
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
  // A node's connection opens once the cluster client is ready; commands sent meanwhile fail (and
  // the cache falls back to the process). Wait until each replica's two uses reach Redis.
  for (const [index, replica] of replicas.entries()) {
    await waitFor(
      async () => {
        try {
          await replica.instance.runtime().revokedTokens.anyRevoked(['warm-up']);
        } catch {
          return undefined;
        }
        const client = WARM_UP_CLIENTS[index] as (typeof WARM_UP_CLIENTS)[number];
        await (await ask(replica, client)).arrayBuffer();
        return (await tokenKeys()) >= index + 1;
      },
      'both uses of Redis to reach the cluster',
      20_000,
      100,
    );
  }
}, 90_000);

afterAll(async () => {
  await Promise.all(replicas.map((replica) => replica.close()));
  await cluster?.stop();
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

async function tokenKeys(): Promise<number> {
  return (await keysByPrimary('scopegate:token:*')).reduce((sum, count) => sum + count, 0);
}

/** Keys matching `pattern` on each primary, by port. */
async function keysByPrimary(pattern: string): Promise<number[]> {
  const counts: number[] = [];
  for (const node of cluster.nodes) {
    const port = Number(node.split(':')[1]);
    if (!(await cluster.isPrimary(port).catch(() => false))) continue;
    counts.push((await cluster.clientOf(port).keys(pattern)).length);
  }
  return counts;
}

const farFuture = () => Math.floor(Date.now() / 1000) + 3600;

describe('Redis Cluster', () => {
  it('shares the token cache between replicas, its entries spread over the primaries', async () => {
    const [first, second] = replicas as [TestGateway, TestGateway];
    const before = await tokenKeys();
    expect((await ask(first, SHARED_CLIENT)).status).toBe(200);
    expect((await ask(second, SHARED_CLIENT)).status).toBe(200);
    expect(upstreamCalls(SHARED_CLIENT.clientId)).toBe(1);
    for (const client of CLIENTS) expect((await ask(first, client)).status).toBe(200);
    const spread = await keysByPrimary('scopegate:token:*');
    expect(spread.reduce((sum, count) => sum + count, 0)).toBe(before + CLIENTS.length + 1);
    expect(spread.filter((count) => count > 0).length).toBeGreaterThanOrEqual(2);
  });

  it('refuses at one replica what was revoked at the other, with references on different slots', async () => {
    const [first, second] = replicas as [TestGateway, TestGateway];
    const refs = ['cluster-revoked', 'never-revoked-a', 'never-revoked-b', 'never-revoked-c'];
    // The references' keys are on different slots: one EXISTS naming them all would be CROSSSLOT.
    const probe = cluster.clientOf(Number(cluster.nodes[0]?.split(':')[1]));
    const slots = new Set<unknown>();
    for (const ref of refs)
      slots.add(await probe.call('CLUSTER', 'KEYSLOT', `scopegate:revoked:${ref}`));
    expect(slots.size).toBeGreaterThan(1);

    expect(await second.instance.runtime().revokedTokens.anyRevoked(refs)).toBe(false);
    await first.instance.runtime().revokedTokens.revoke('cluster-revoked', farFuture());
    expect(await second.instance.runtime().revokedTokens.anyRevoked(refs)).toBe(true);
    expect(await second.instance.runtime().revokedTokens.anyRevoked(refs.slice(1))).toBe(false);
  });

  it('keeps every token request 200 while a primary dies, and both uses work on the promoted replica', async () => {
    const victim = await cluster.primaryToKill();
    const statuses = new Map<number, number>();
    const revocations = { ok: 0, unavailable: 0 };
    let sent = 0;
    let afterFailover = -1;
    const worker = async (lane: number) => {
      while (sent < MAX_REQUESTS && (afterFailover < 0 || sent < afterFailover + REQUESTS_AFTER)) {
        const index = sent++;
        const replica = replicas[index % 2] as TestGateway;
        const client = CLIENTS[(index * 7 + lane) % CLIENTS.length] as (typeof CLIENTS)[number];
        const response = await ask(replica, client);
        await response.arrayBuffer();
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        // A revocation and a check beside every fourth request: 503 while its slot has no node.
        if (index % 4 === 0) {
          try {
            const revoked = replica.instance.runtime().revokedTokens;
            await revoked.revoke(`load-${index}`, farFuture());
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
    process.kill(victim.pid, 'SIGKILL');
    await waitFor(
      async () =>
        (await cluster.isPrimary(victim.replicaPort)) &&
        (await cluster.clusterOk(victim.replicaPort)),
      'the cluster to promote the replica',
      30_000,
      50,
    );
    const promotedMs = Date.now() - killedAt;
    // Both uses on both replicas have seen the promoted replica serve slots as a primary.
    await everyConnectionSwitched(replicas, 'every connection to see the new primary');
    const switchedMs = Date.now() - killedAt;
    afterFailover = sent;
    await load;

    const total = [...statuses.values()].reduce((sum, count) => sum + count, 0);
    console.info(
      `cluster failover: ${total} token requests (${killedAfter} before the kill), statuses ${JSON.stringify(Object.fromEntries(statuses))}; ` +
        `revocations ok ${revocations.ok}, 503 ${revocations.unavailable}; ` +
        `replica promoted ${promotedMs} ms after the kill, every connection saw it after ${switchedMs} ms`,
    );
    expect([...statuses.keys()]).toEqual([200]);
    expect(total).toBeGreaterThanOrEqual(REQUESTS_BEFORE + REQUESTS_AFTER);

    // The cache after the failover: an entry written by one replica is read by the other.
    const [first, second] = replicas as [TestGateway, TestGateway];
    expect((await ask(first, LATE_CLIENT)).status).toBe(200);
    expect((await ask(second, LATE_CLIENT)).status).toBe(200);
    expect(upstreamCalls(LATE_CLIENT.clientId)).toBe(1);
    const promoted = cluster.clientOf(victim.replicaPort);
    expect((await promoted.keys('scopegate:token:*')).length).toBeGreaterThan(0);

    // The revocation list after the failover, on every slot: revoked at one replica, refused at
    // the other. Enough references that some hash to the promoted replica's slots.
    const refs = Array.from({ length: 24 }, (_, index) => `after-failover-${index}`);
    for (const ref of refs) await first.instance.runtime().revokedTokens.revoke(ref, farFuture());
    for (const ref of refs) {
      expect(await second.instance.runtime().revokedTokens.anyRevoked([ref])).toBe(true);
    }
    expect((await promoted.keys('scopegate:revoked:after-failover-*')).length).toBeGreaterThan(0);

    for (const replica of replicas) {
      const metrics = await scrape(replica.adminUrl);
      for (const use of ['token_cache', 'revocation']) {
        expect(
          metrics.value('scopegate_redis_primary_switches_total', { use }),
        ).toBeGreaterThanOrEqual(1);
      }
    }
  }, 120_000);
});
