/**
 * One redis-server or redis-sentinel process for the multi-process Redis harnesses (Sentinel,
 * Cluster): started on a loopback port it is told, and handed back only once it answers PING.
 * Fails loudly when the command is not installed (`.ci/run` installs both) or exits at start.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { waitFor } from '../support/wait.js';

export const REDIS_HOST = '127.0.0.1';

export interface RedisProcess {
  port: number;
  child: ChildProcess;
  exited: Promise<void>;
}

export async function startRedisProcess(
  command: 'redis-server' | 'redis-sentinel',
  args: string[],
  port: number,
): Promise<RedisProcess> {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let failure: Error | undefined;
  child.once('error', (error) => {
    failure = new Error(
      `${command} could not start (apt-get install -y ${command}): ${error.message}`,
    );
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const probe = new Redis({ host: REDIS_HOST, port, lazyConnect: true, maxRetriesPerRequest: 0 });
  probe.on('error', () => {});
  try {
    await waitFor(
      async () => {
        if (failure) throw failure;
        if (child.exitCode !== null) throw new Error(`${command} on port ${port} exited at start`);
        try {
          if (probe.status !== 'ready') await probe.connect();
          return (await probe.ping()) === 'PONG' ? true : undefined;
        } catch {
          return undefined;
        }
      },
      `${command} on port ${port} to answer PING`,
      15_000,
    );
  } finally {
    probe.disconnect(false);
  }
  return { port, child, exited };
}
