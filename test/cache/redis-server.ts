/**
 * A real redis-server for tests, listening only on a unix socket in a temporary directory (no TCP
 * port to guess or collide on). Fails loudly when redis-server is not installed: `.ci/run`
 * installs it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { waitFor } from '../support/wait.js';

export interface TestRedis {
  /** unix:///.../redis.sock, as cache.upstream_tokens.redis.url takes it */
  url: string;
  socket: string;
  /** A client for assertions (raw keys and values). */
  client: Redis;
  stop(): Promise<void>;
}

export async function startRedis(): Promise<TestRedis> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'scopegate-redis-'));
  const socket = path.join(dir, 'redis.sock');
  const child: ChildProcess = spawn(
    'redis-server',
    [
      '--port',
      '0',
      '--unixsocket',
      socket,
      '--unixsocketperm',
      '700',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let failure: Error | undefined;
  child.once('error', (error) => {
    failure = new Error(
      `redis-server could not start (apt-get install -y redis-server): ${error.message}`,
    );
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const client = new Redis({ path: socket, lazyConnect: true, maxRetriesPerRequest: 0 });
  client.on('error', () => {});
  await waitFor(
    async () => {
      if (failure) throw failure;
      if (child.exitCode !== null) throw new Error('redis-server exited at start');
      try {
        if (client.status !== 'ready') await client.connect();
        return (await client.ping()) === 'PONG' ? true : undefined;
      } catch {
        return undefined;
      }
    },
    'redis-server to answer PING',
    15_000,
  );
  let stopped = false;
  return {
    url: `unix://${socket}`,
    socket,
    client,
    async stop() {
      if (stopped) return;
      stopped = true;
      client.disconnect(false);
      child.kill('SIGKILL');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
