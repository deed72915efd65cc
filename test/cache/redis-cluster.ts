/**
 * A real Redis Cluster for tests: three primaries, each with one replica, every one its own
 * redis-server process on a loopback TCP port (a cluster announces host:port to its clients, so
 * unix sockets do not do here), made into a cluster by `redis-cli --cluster create`. Failure
 * detection is tuned short (cluster-node-timeout 1 s) so a replica is promoted within a few
 * seconds of its primary's death. Fails loudly when redis-server or redis-cli is not installed:
 * `.ci/run` installs redis-server, which brings both.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freeLoopbackPort } from '../support/free-port.js';
import { waitFor } from '../support/wait.js';
import { REDIS_HOST, type RedisProcess, startRedisProcess } from './redis-process.js';

const HOST = REDIS_HOST;
const PRIMARIES = 3;

function client(port: number): Redis {
  const redis = new Redis({ host: HOST, port, maxRetriesPerRequest: 0, lazyConnect: true });
  redis.on('error', () => {});
  return redis;
}

async function startNode(dir: string, port: number): Promise<RedisProcess> {
  // The cluster bus gets a port of its own: port + 10000 is not known to be free.
  const busPort = await freeLoopbackPort();
  return startRedisProcess(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      HOST,
      '--cluster-enabled',
      'yes',
      '--cluster-port',
      String(busPort),
      '--cluster-config-file',
      path.join(dir, `nodes-${port}.conf`),
      '--cluster-node-timeout',
      '1000',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--dbfilename',
      `dump-${port}.rdb`,
    ],
    port,
  );
}

/** Runs redis-cli to its end; its output when it fails. */
async function redisCli(args: string[], timeoutMs: number): Promise<void> {
  const child = spawn('redis-cli', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (exitCode) => resolve(exitCode));
  }).finally(() => clearTimeout(timer));
  if (code !== 0) throw new Error(`redis-cli ${args.join(' ')} failed (${code}):\n${output}`);
}

/** One line of CLUSTER NODES: the node's id and port, whether it is a primary, its primary's id. */
interface ClusterNode {
  id: string;
  port: number;
  primary: boolean;
  primaryId: string;
}

function parseNodes(text: string): ClusterNode[] {
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const [id, address, flags, primaryId] = line.split(' ') as [string, string, string, string];
      return {
        id,
        port: Number(address.split('@')[0]?.split(':')[1]),
        primary: flags.split(',').includes('master'),
        primaryId,
      };
    });
}

export interface TestCluster {
  /** host:port of every node, as redis.cluster.nodes takes them. */
  nodes: string[];
  /** A primary with a replica: its PID, its port and its replica's port. */
  primaryToKill(): Promise<{ pid: number; port: number; replicaPort: number }>;
  /** Whether the node on `port` is a primary now (asked of that node). */
  isPrimary(port: number): Promise<boolean>;
  /** cluster_state:ok, asked of the node on `port`. */
  clusterOk(port: number): Promise<boolean>;
  /** A client of the node on `port`, for assertions. */
  clientOf(port: number): Redis;
  stop(): Promise<void>;
}

export async function startCluster(): Promise<TestCluster> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'scopegate-cluster-'));
  const processes: RedisProcess[] = [];
  const clients: Redis[] = [];
  const stop = async () => {
    for (const redis of clients) redis.disconnect(false);
    for (const process of processes) process.child.kill('SIGKILL');
    await Promise.all(processes.map((process) => process.exited));
    await rm(dir, { recursive: true, force: true });
  };
  const clientOf = (port: number) => {
    const redis = client(port);
    clients.push(redis);
    return redis;
  };
  try {
    for (let index = 0; index < PRIMARIES * 2; index++) {
      processes.push(await startNode(dir, await freeLoopbackPort()));
    }
    const nodes = processes.map((process) => `${HOST}:${process.port}`);
    await redisCli(
      ['--cluster', 'create', ...nodes, '--cluster-replicas', '1', '--cluster-yes'],
      30_000,
    );
    const byPort = new Map(processes.map((process) => [process.port, clientOf(process.port)]));
    const nodeClient = (port: number): Redis => {
      const known = byPort.get(port);
      if (known === undefined) throw new Error(`no cluster node on port ${port}`);
      return known;
    };
    const clusterOk = async (port: number) =>
      ((await nodeClient(port).call('CLUSTER', 'INFO')) as string).includes('cluster_state:ok');
    const clusterNodes = async (port: number) =>
      parseNodes((await nodeClient(port).call('CLUSTER', 'NODES')) as string);
    // Every node sees the cluster whole, and every primary has its replica.
    await waitFor(
      async () => {
        for (const process of processes) {
          if (!(await clusterOk(process.port))) return undefined;
          const known = await clusterNodes(process.port);
          if (known.filter((node) => node.primary).length !== PRIMARIES) return undefined;
          if (known.filter((node) => !node.primary).length !== PRIMARIES) return undefined;
          // A replica that never synced is too stale to be promoted when its primary dies.
          const info = await nodeClient(process.port).info('replication');
          if (info.includes('role:slave') && !info.includes('master_link_status:up')) {
            return undefined;
          }
        }
        return true;
      },
      'the cluster to be ok on every node, each primary with its replica in sync',
      30_000,
      100,
    );
    return {
      nodes,
      async primaryToKill() {
        const first = processes[0] as RedisProcess;
        const known = await clusterNodes(first.port);
        const primary = known.find((node) => node.primary) as ClusterNode;
        const replica = known.find((node) => node.primaryId === primary.id) as ClusterNode;
        const process = processes.find((candidate) => candidate.port === primary.port);
        return { pid: process?.child.pid as number, port: primary.port, replicaPort: replica.port };
      },
      async isPrimary(port) {
        const role = (await nodeClient(port).call('ROLE')) as [string, ...unknown[]];
        return role[0] === 'master';
      },
      clusterOk,
      clientOf,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
