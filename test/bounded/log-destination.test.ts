/**
 * A broken log destination never wedges the process. The real `scopegate serve` in a child
 * process, its standard output a real socket or pipe whose reader goes away or stops reading.
 *
 * The regression: a gateway idle since its stdout reader exited meets the broken pipe only when
 * it logs its shutdown; pino's exit hook then flushed synchronously through sonic-boom, whose
 * flushSync retries EPIPE every 100 ms for ever, and the process never ended.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type RunningAuth0Emulator,
  startAuth0Emulator,
} from '../fixtures/auth0-emulator/auth0-emulator.js';
import { CLI_PATH } from '../support/cli-process.js';
import { prepareTestConfig, type TestConfig } from '../support/gateway.js';
import { scrape } from '../support/prometheus.js';
import { waitFor } from '../support/wait.js';

const API = 'https://api.example.com';
const GRACE_MS = 2000;
/** The hard deadline: shutdown_grace plus the watchdog's margin, plus slack for a loaded CI. */
const EXIT_DEADLINE_MS = GRACE_MS + 5000 + 3000;

let upstream: RunningAuth0Emulator;
let prepared: TestConfig;
let child: ChildProcess | undefined;

beforeAll(async () => {
  upstream = await startAuth0Emulator({
    clients: [{ clientId: 'm2m', clientSecret: 'm2m-secret', grants: { [API]: ['read:claims'] } }],
    defaultAudience: API,
  });
  prepared = await prepareTestConfig({
    upstreamUrl: upstream.url,
    scopeRequest: 'omit',
    config: {
      server: { watch_config: false, shutdown_grace: `${GRACE_MS}ms` },
      log: { level: 'info', format: 'json', buffer_bytes: 65536 },
    },
  });
});

afterAll(async () => {
  await upstream?.close();
  await prepared?.remove();
});

afterEach(() => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  child = undefined;
});

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Starts `serve` with the given descriptor (or socket) as its standard output. */
function serveWithStdout(stdout: number | net.Socket): {
  child: ChildProcess;
  exited: Promise<Exit>;
} {
  const started = spawn(process.execPath, [CLI_PATH, 'serve', '--config', prepared.configFile], {
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production' },
    stdio: ['ignore', stdout, 'pipe'],
  });
  started.stderr?.resume();
  child = started;
  const exited = new Promise<Exit>((resolve) => {
    started.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return { child: started, exited };
}

function listeningLine(text: string): { listen: string; admin: string } | undefined {
  for (const line of text.split('\n')) {
    if (!line.includes('"listen"')) continue;
    const record = JSON.parse(line) as { listen?: string; admin?: string };
    if (record.listen && record.admin) return { listen: record.listen, admin: record.admin };
  }
  return undefined;
}

/** Exit status, or 'still running' once the hard deadline has passed. */
function exitWithin(exited: Promise<Exit>, ms: number): Promise<Exit | 'still running'> {
  return Promise.race([
    exited,
    new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), ms)),
  ]);
}

function invalidTokenRequest(url: string): Promise<number> {
  return fetch(`${url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials&scope=a&scope=b',
  }).then(async (response) => {
    await response.arrayBuffer();
    return response.status;
  });
}

/**
 * `serve` whose stdout is a TCP socket this process reads until the gateway listens;
 * readerLeaves() then closes the reading end, as a log collector that exits would.
 */
async function serveWithSocketStdout() {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const writer = net.connect((server.address() as AddressInfo).port, '127.0.0.1');
  await new Promise((resolve) => writer.once('connect', resolve));
  const reader = await accepted;
  let text = '';
  reader.setEncoding('utf8').on('data', (chunk: string) => {
    text += chunk;
  });
  const { exited } = serveWithStdout(writer);
  // Only the child holds the writing end from now on.
  writer.destroy();
  const urls = await waitFor(() => listeningLine(text), 'the listening line', 15_000);
  const readerLeaves = () => {
    reader.destroy();
    server.close();
  };
  return { exited, urls, readerLeaves };
}

describe('stdout a socket whose reader went away', () => {
  it('exits 0 on SIGTERM when the reader left while the gateway was idle', async () => {
    const { exited, urls, readerLeaves } = await serveWithSocketStdout();
    expect((await fetch(`${urls.admin}/healthz`)).status).toBe(200);
    // The reader exits; nothing is logged until the signal.
    readerLeaves();
    await new Promise((resolve) => setTimeout(resolve, 500));
    child?.kill('SIGTERM');
    expect(await exitWithin(exited, EXIT_DEADLINE_MS)).toEqual({ code: 0, signal: null });
  });

  it('keeps serving when the reader leaves under traffic, then exits 0', async () => {
    const { exited, urls, readerLeaves } = await serveWithSocketStdout();
    readerLeaves();
    for (let round = 0; round < 20; round++) {
      expect(await invalidTokenRequest(urls.listen)).toBe(400);
    }
    const metrics = await scrape(urls.admin);
    // Every line after the reader left is dropped, and counted.
    expect(metrics.value('scopegate_log_lines_dropped_total')).toBeGreaterThanOrEqual(19);
    child?.kill('SIGTERM');
    expect(await exitWithin(exited, EXIT_DEADLINE_MS)).toEqual({ code: 0, signal: null });
  });
});

describe('stdout a pipe whose reader stopped reading', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('drops and counts lines instead of blocking, answers every request, exits 0', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'scopegate-fifo-'));
    const fifo = path.join(dir, 'stdout');
    execFileSync('mkfifo', [fifo]);
    // The reader end, held open by this process, read only until the gateway is listening.
    const readFd = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    const writeFd = fs.openSync(fifo, 'w');
    const { exited } = serveWithStdout(writeFd);
    fs.closeSync(writeFd);
    let text = '';
    const chunk = Buffer.alloc(65536);
    const urls = await waitFor(
      () => {
        try {
          const n = fs.readSync(readFd, chunk);
          text += chunk.subarray(0, n).toString('utf8');
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
        }
        return listeningLine(text);
      },
      'the listening line',
      15_000,
    );
    try {
      // Each request logs one access line (~300 bytes): 1000 lines are more than twice what the
      // 64 KiB pipe and the 64 KiB buffer hold.
      const statuses = new Map<number, number>();
      for (let batch = 0; batch < 25; batch++) {
        const answers = await Promise.all(
          Array.from({ length: 40 }, () => invalidTokenRequest(urls.listen)),
        );
        for (const status of answers) statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
      expect(Object.fromEntries(statuses)).toEqual({ 400: 1000 });
      expect((await fetch(`${urls.admin}/healthz`)).status).toBe(200);
      const metrics = await scrape(urls.admin);
      expect(metrics.value('scopegate_log_lines_dropped_total')).toBeGreaterThan(0);
      child?.kill('SIGTERM');
      expect(await exitWithin(exited, EXIT_DEADLINE_MS)).toEqual({ code: 0, signal: null });
    } finally {
      fs.closeSync(readFd);
    }
  }, 60_000);
});
