/**
 * The real `scopegate serve` in a child process (built CLI in dist/), for what only a process
 * shows: signals, exit codes, and the process actually ending.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { packageRoot } from '../../proxy/observability/package-root.js';
import { waitFor } from './wait.js';

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Date.now() when the process exited. */
  at: number;
}

export interface SpawnedScopegate {
  child: ChildProcess;
  publicUrl: string;
  adminUrl: string | undefined;
  /** stdout lines (JSON logs), in order. */
  lines: string[];
  stderr(): string;
  records(): Array<Record<string, unknown>>;
  waitForLog(
    match: (record: Record<string, unknown>) => boolean,
    what: string,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  exited: Promise<ExitStatus>;
  /** Kills the process if it is still running (test clean-up). */
  stop(): Promise<void>;
}

export const CLI_PATH = path.join(packageRoot(), 'dist', 'proxy', 'cli.js');

function parseLine(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

export interface SpawnOptions {
  env?: Record<string, string>;
  /** Called synchronously as the listening line arrives (to signal at that exact moment). */
  onListening?: (child: ChildProcess) => void;
}

export async function spawnScopegate(
  configFile: string,
  options: SpawnOptions = {},
): Promise<SpawnedScopegate> {
  const env = options.env ?? {};
  const child = spawn(process.execPath, [CLI_PATH, 'serve', '--config', configFile], {
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let pending = '';
  let errors = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    const parts = pending.split('\n');
    pending = parts.pop() ?? '';
    for (const line of parts.filter(Boolean)) {
      lines.push(line);
      if (options.onListening && typeof parseLine(line)?.listen === 'string') {
        options.onListening(child);
      }
    }
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    errors += chunk;
  });
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() }));
  });
  let done = false;
  void exited.then(() => {
    done = true;
  });
  const records = () =>
    lines.map(parseLine).filter((record): record is Record<string, unknown> => !!record);
  const waitForLog = (
    match: (record: Record<string, unknown>) => boolean,
    what: string,
    timeoutMs = 5000,
  ) =>
    waitFor(
      () => {
        const found = records().find(match);
        if (found) return found;
        if (done) throw new Error(`scopegate exited while waiting for ${what}: ${errors}`);
        return undefined;
      },
      what,
      timeoutMs,
    );
  const listening = await waitForLog(
    (record) => typeof record.listen === 'string',
    'the listening line',
    10_000,
  );
  return {
    child,
    publicUrl: listening.listen as string,
    adminUrl: listening.admin as string | undefined,
    lines,
    stderr: () => errors,
    records,
    waitForLog,
    exited,
    async stop() {
      if (done) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}
