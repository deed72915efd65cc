/**
 * A real Redis Sentinel deployment for tests: a primary, a replica and three sentinels (quorum 2),
 * each its own redis-server or redis-sentinel process on a loopback TCP port (Sentinel monitors
 * host:port, so unix sockets do not do here). Failure detection and failover are tuned short
 * (down-after 400 ms, failover-timeout 2 s) so a failover completes in a few seconds. Fails
 * loudly when redis-server or redis-sentinel is not installed: `.ci/run` installs both.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freeLoopbackPort } from '../support/free-port.js';
import { waitFor } from '../support/wait.js';
import { REDIS_HOST, type RedisProcess, startRedisProcess } from './redis-process.js';

export const SENTINEL_MASTER_NAME = 'scopegate-primary';
const HOST = REDIS_HOST;

function client(port: number): Redis {
  const redis = new Redis({ host: HOST, port, maxRetriesPerRequest: 0 });
  redis.on('error', () => {});
  return redis;
}

export interface TestSentinels {
  /** host:port of each sentinel, as redis.sentinel.nodes takes them. */
  nodes: string[];
  name: string;
  primaryPort: number;
  replicaPort: number;
  /** PID of the redis-server that is primary at start. */
  primaryPid: number;
  /** The port of the primary the sentinels name now. */
  currentPrimaryPort(): Promise<number>;
  /** A client of the server on `port`, for assertions. */
  clientOf(port: number): Redis;
  stop(): Promise<void>;
}

export async function startSentinels(): Promise<TestSentinels> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'scopegate-sentinel-'));
  const processes: RedisProcess[] = [];
  const clients: Redis[] = [];
  const serverArgs = (port: number, name: string) => [
    '--port',
    String(port),
    '--bind',
    HOST,
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
    '--dbfilename',
    `${name}.rdb`,
  ];
  const stop = async () => {
    for (const redis of clients) redis.disconnect(false);
    for (const process of processes) process.child.kill('SIGKILL');
    await Promise.all(processes.map((process) => process.exited));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const primaryPort = await freeLoopbackPort();
    const primary = await startRedisProcess(
      'redis-server',
      serverArgs(primaryPort, 'primary'),
      primaryPort,
    );
    processes.push(primary);
    const replicaPort = await freeLoopbackPort();
    processes.push(
      await startRedisProcess(
        'redis-server',
        [...serverArgs(replicaPort, 'replica'), '--replicaof', HOST, String(primaryPort)],
        replicaPort,
      ),
    );
    const replica = client(replicaPort);
    clients.push(replica);
    await waitFor(
      async () =>
        (await replica.info('replication')).includes('master_link_status:up') ? true : undefined,
      'the replica to sync with the primary',
      15_000,
    );
    const nodes: string[] = [];
    for (let index = 0; index < 3; index++) {
      const port = await freeLoopbackPort();
      const file = path.join(dir, `sentinel-${index}.conf`);
      // The file is Sentinel's own: it rewrites it with what it learns (replicas, other sentinels).
      await writeFile(
        file,
        [
          `port ${port}`,
          `bind ${HOST}`,
          `dir ${dir}`,
          `sentinel monitor ${SENTINEL_MASTER_NAME} ${HOST} ${primaryPort} 2`,
          `sentinel down-after-milliseconds ${SENTINEL_MASTER_NAME} 400`,
          `sentinel failover-timeout ${SENTINEL_MASTER_NAME} 2000`,
          `sentinel parallel-syncs ${SENTINEL_MASTER_NAME} 1`,
          '',
        ].join('\n'),
      );
      processes.push(await startRedisProcess('redis-sentinel', [file], port));
      nodes.push(`${HOST}:${port}`);
    }
    const sentinels = nodes.map((node) => client(Number(node.split(':')[1])));
    clients.push(...sentinels);
    // A failover needs every sentinel to know the replica and the other sentinels (they find each
    // other through the primary's hello channel, every 2 s).
    await waitFor(
      async () => {
        for (const sentinel of sentinels) {
          const peers = (await sentinel.call(
            'SENTINEL',
            'SENTINELS',
            SENTINEL_MASTER_NAME,
          )) as unknown[];
          const replicas = (await sentinel.call(
            'SENTINEL',
            'REPLICAS',
            SENTINEL_MASTER_NAME,
          )) as unknown[];
          if (peers.length < 2 || replicas.length < 1) return undefined;
        }
        return true;
      },
      'the sentinels to know the replica and each other',
      20_000,
    );
    const first = sentinels[0] as Redis;
    return {
      nodes,
      name: SENTINEL_MASTER_NAME,
      primaryPort,
      replicaPort,
      primaryPid: primary.child.pid as number,
      async currentPrimaryPort() {
        const [, port] = (await first.call(
          'SENTINEL',
          'GET-MASTER-ADDR-BY-NAME',
          SENTINEL_MASTER_NAME,
        )) as [string, string];
        return Number(port);
      },
      clientOf(port: number) {
        const redis = client(port);
        clients.push(redis);
        return redis;
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
