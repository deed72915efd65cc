/**
 * A real forward proxy for tests: Debian's tinyproxy (HTTP and CONNECT), on a loopback port
 * taken from the OS, logging every request it relays so that a test can prove which upstream
 * calls went through it. Fails loudly when tinyproxy is not installed: `.ci/run` installs it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { closedPortUrl } from './closed-port.js';
import { waitFor } from './wait.js';

export interface TestForwardProxy {
  /** http://127.0.0.1:<port> */
  url: string;
  /** The `Request (...)` lines of its log: `CONNECT 127.0.0.1:443 HTTP/1.1`, `GET http://...`. */
  requests(): Promise<string[]>;
  /** The log as written, for a failure message or a report. */
  log(): Promise<string>;
  stop(): Promise<void>;
}

const portAccepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

export interface TinyproxyOptions {
  /** Ports CONNECT may reach (default: any); a CONNECT elsewhere is answered 403. */
  connectPorts?: number[];
}

export async function startTinyproxy(options: TinyproxyOptions = {}): Promise<TestForwardProxy> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'scopegate-tinyproxy-'));
  // tinyproxy takes its port from its config file: one the OS just handed out and released.
  const port = Number(new URL(await closedPortUrl()).port);
  const logFile = path.join(dir, 'tinyproxy.log');
  const configFile = path.join(dir, 'tinyproxy.conf');
  // Without ConnectPort lines CONNECT may reach any port (the upstream listens on port 0).
  await writeFile(
    configFile,
    [
      `Port ${port}`,
      'Listen 127.0.0.1',
      'Timeout 30',
      `LogFile "${logFile}"`,
      'LogLevel Connect',
      'MaxClients 100',
      'Allow 127.0.0.1',
      'DisableViaHeader Yes',
      ...(options.connectPorts ?? []).map((port) => `ConnectPort ${port}`),
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn('tinyproxy', ['-d', '-c', configFile], {
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  let failure: Error | undefined;
  child.once('error', (error) => {
    failure = new Error(
      `tinyproxy could not start (apt-get install -y tinyproxy): ${error.message}`,
    );
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitFor(
    async () => {
      if (failure) throw failure;
      if (child.exitCode !== null) throw new Error('tinyproxy exited at start');
      return portAccepts(port);
    },
    'tinyproxy to accept connections',
    15_000,
  );
  const log = () => readFile(logFile, 'utf8').catch(() => '');
  let stopped = false;
  return {
    url: `http://127.0.0.1:${port}`,
    log,
    async requests() {
      const lines = (await log()).split('\n');
      return lines
        .map((line) => /Request \(file descriptor \d+\): (.*)$/.exec(line)?.[1])
        .filter((request): request is string => request !== undefined);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      child.kill('SIGKILL');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
