/**
 * The benchmark's processes: the gateway pinned to one core, the upstream (and this process, the
 * load generator) on the other, nginx as the reference reverse proxy; and what /proc says about
 * a process (CPU time, resident memory). Loopback only.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../../proxy/observability/package-root.js';
import { CLI_PATH } from '../support/cli-process.js';
import { waitFor } from '../support/wait.js';
import type { FloorClient } from './node-floor.js';

export const GATEWAY_CORE = 0;
export const LOAD_CORE = 1;

const TASKSET = ['/usr/bin/taskset', '/bin/taskset'].find((file) => existsSync(file));
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

export function pinningNote(): string {
  return TASKSET
    ? `gateway and nginx pinned to core ${GATEWAY_CORE}; upstream and load generator on core ${LOAD_CORE}`
    : 'taskset not found: processes are not pinned (apt-get install util-linux)';
}

/** argv prefixed with taskset for `core`, when taskset exists. */
function pinned(core: number, argv: string[]): [string, string[]] {
  if (!TASKSET) return [argv[0] as string, argv.slice(1)];
  return [TASKSET, ['-c', String(core), ...argv]];
}

/** Pins this process (the load generator) to the load core, or to `cores` (taskset's list). */
export function pinSelf(cores = String(LOAD_CORE)): void {
  if (TASKSET) execFileSync(TASKSET, ['-cp', cores, String(process.pid)]);
}

/** CPU seconds (user + system) the process has used. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** The ids of `pid`'s descendants (a cluster primary's workers), from /proc. */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // ended since the listing
    }
    const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const siblings = children.get(parent) ?? [];
    siblings.push(Number(entry));
    children.set(parent, siblings);
  }
  const found: number[] = [];
  const walk = (id: number) => {
    for (const child of children.get(id) ?? []) {
      found.push(child);
      walk(child);
    }
  };
  walk(pid);
  return found;
}

/** CPU seconds of `pid` and of every process below it (a cluster's primary and its workers). */
export function treeCpuSeconds(pid: number): number {
  let total = cpuSeconds(pid);
  for (const child of descendants(pid)) {
    try {
      total += cpuSeconds(child);
    } catch {
      // ended since the listing
    }
  }
  return total;
}

/** Resident set size in MiB. */
export function residentMiB(pid: number): number {
  return residentMemory(pid).now;
}

/** VmRSS and VmHWM (the peak) of a process, in MiB. */
export function residentMemory(pid: number): { now: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const mib = (field: string) =>
    Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? Number.NaN) / 1024;
  return { now: mib('VmRSS'), peak: mib('VmHWM') };
}

export interface RunningProcess {
  pid: number;
  url: string;
  stop(): Promise<void>;
}

function stopper(child: ChildProcess, after?: () => Promise<void>): () => Promise<void> {
  return async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
    await after?.();
  };
}

/**
 * A benchmark script of this directory that prints `{"url": ...}` once listening. What it prints
 * after that (V8's GC traces, when asked for with `nodeFlags`) is kept for `output()`.
 */
async function startScript(
  script: string,
  core: number | undefined,
  args: string[],
  nodeFlags: string[] = [],
): Promise<RunningProcess & { output(): string }> {
  const file = path.join(path.dirname(fileURLToPath(import.meta.url)), script);
  const node = [process.execPath, ...nodeFlags, file, ...args];
  const [command, argv] =
    core === undefined ? [node[0] as string, node.slice(1)] : pinned(core, node);
  const child = spawn(command, argv, { stdio: ['pipe', 'pipe', 'inherit'] });
  let printed = '';
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const url = await new Promise<string>((resolve, reject) => {
    let found: string | undefined;
    lines.on('line', (line) => {
      printed += `${line}\n`;
      if (found === undefined && line.startsWith('{"url"')) {
        found = (JSON.parse(line) as { url: string }).url;
        resolve(found);
      }
    });
    lines.once('close', () => reject(new Error(`${script} ended before printing its URL`)));
  });
  return { pid: child.pid as number, url, stop: stopper(child), output: () => printed };
}

/** The fast upstream, on the load core (`pinnedToLoadCore: false`: free to run on any core). */
export function startUpstream(pinnedToLoadCore = true): Promise<RunningProcess> {
  return startScript('fast-upstream.js', pinnedToLoadCore ? LOAD_CORE : undefined, []);
}

/**
 * A Node.js floor (node-floor.ts) in front of `upstreamUrl` with the given upstream client,
 * pinned to the gateway's core: the least a Node.js process does for the same workloads.
 */
export function startNodeFloor(
  upstreamUrl: string,
  client: FloorClient,
  nodeFlags: string[] = [],
): Promise<RunningProcess & { output(): string }> {
  return startScript('node-floor.js', GATEWAY_CORE, [upstreamUrl, client], nodeFlags);
}

export interface RunningGateway extends RunningProcess {
  adminUrl: string;
  /** The gateway's stdout (JSON logs, and GC traces when asked for), as written so far. */
  output(): Promise<string>;
}

/** The configuration was refused: the gateway exited before it listened. */
export class GatewayRefused extends Error {}

export interface GatewayStart {
  /** Flags for node itself (`--cpu-prof`, `--trace-gc-nvp`). */
  nodeFlags?: string[];
  /** Pinned to the gateway core (the default); false: free to use every core (workers runs). */
  pinned?: boolean;
}

/** deploy/Dockerfile, where the image says how it runs the gateway. */
function shippedDockerfile(): string {
  return readFileSync(path.join(packageRoot(), 'deploy', 'Dockerfile'), 'utf8');
}

/**
 * The flags the container image gives node before the CLI (deploy/Dockerfile's ENTRYPOINT, between
 * `node` and `dist/proxy/cli.js`): the benchmark measures the gateway as it ships.
 */
export function shippedNodeFlags(): string[] {
  const dockerfile = shippedDockerfile();
  const entrypoint = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(dockerfile)?.[1];
  const argv: unknown = entrypoint === undefined ? undefined : JSON.parse(entrypoint);
  if (!Array.isArray(argv) || argv[0] !== 'node' || argv.at(-1) !== 'dist/proxy/cli.js') {
    throw new Error('deploy/Dockerfile: ENTRYPOINT is not ["node", ...flags, "dist/proxy/cli.js"]');
  }
  return argv.slice(1, -1) as string[];
}

/** The shared library the image preloads (deploy/Dockerfile's `LD_PRELOAD`), by file name. */
function shippedPreload(): string | undefined {
  const dockerfile = shippedDockerfile();
  const preload = /^\s*LD_PRELOAD=(\S+)/m.exec(dockerfile)?.[1];
  return preload === undefined ? undefined : path.basename(preload);
}

/** Where this machine has `library` (ldconfig's cache, as ld.so finds it), if anywhere. */
function installedLibrary(library: string): string | undefined {
  let cache: string;
  try {
    cache = execFileSync('/sbin/ldconfig', ['-p']).toString();
  } catch {
    return undefined;
  }
  // Lines read `\tlibjemalloc.so.2 (libc6,x86-64) => /lib/x86_64-linux-gnu/libjemalloc.so.2`.
  const ownArch = process.arch === 'x64' ? 'x86-64' : process.arch === 'arm64' ? 'AArch64' : '';
  for (const line of cache.split('\n')) {
    const entry = /^\s*(\S+)\s+\(([^)]*)\)\s+=>\s+(\S+)\s*$/.exec(line);
    if (entry?.[1] !== library || !(entry[2] ?? '').includes(ownArch)) continue;
    if (existsSync(entry[3] as string)) return entry[3];
  }
  return undefined;
}

/**
 * The environment the image gives the process that matters to its figures: the allocator it
 * preloads, taken from this machine's copy of the same library. undefined when this machine lacks
 * it (allocatorNote() says so).
 */
function shippedEnvironment(): Record<string, string> {
  const library = shippedPreload();
  const location = library === undefined ? undefined : installedLibrary(library);
  return location === undefined ? {} : { LD_PRELOAD: location };
}

/** Which allocator the gateway runs with, for the top of the report. */
export function allocatorNote(): string {
  const library = shippedPreload();
  if (library === undefined) return "glibc's malloc, as the image ships";
  const location = installedLibrary(library);
  return location === undefined
    ? `glibc's malloc: ${library}, which the image preloads, is not installed here (apt-get install libjemalloc2), so memory figures are not the image's`
    : `${library} preloaded, as the image does`;
}

/**
 * `scopegate serve` pinned to the gateway core, unless `start` says otherwise. Its stdout goes to
 * a file (as a container's log would go to a pipe drained by the runtime), not through this
 * process.
 */
export async function startGateway(
  configFile: string,
  dir: string,
  start: GatewayStart = {},
): Promise<RunningGateway> {
  const logFile = path.join(dir, `gateway-${Date.now()}.log`);
  const fd = openSync(logFile, 'w');
  const node = [
    process.execPath,
    // Later flags win: `nodeFlags` may override the shipped ones (cost.js --node-flag).
    ...shippedNodeFlags(),
    ...(start.nodeFlags ?? []),
    CLI_PATH,
    'serve',
    '--config',
    configFile,
  ];
  const [command, args] =
    start.pinned === false ? [node[0] as string, node.slice(1)] : pinned(GATEWAY_CORE, node);
  const child = spawn(command, args, {
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', ...shippedEnvironment() },
    // stderr too: why a configuration was refused is part of what a refused start reports.
    stdio: ['ignore', fd, fd],
  });
  const output = () => readFile(logFile, 'utf8');
  const listening = await waitFor(
    async () => {
      if (child.exitCode !== null) throw new GatewayRefused(`scopegate exited: ${await output()}`);
      for (const line of (await output()).split('\n')) {
        if (!line.startsWith('{')) continue;
        const record = JSON.parse(line) as { listen?: string; admin?: string };
        if (typeof record.listen === 'string') return record;
      }
      return undefined;
    },
    'the gateway to listen',
    20_000,
    50,
  );
  return {
    pid: child.pid as number,
    url: listening.listen as string,
    adminUrl: listening.admin as string,
    output,
    stop: stopper(child),
  };
}

/** A loopback port the OS reports free (for servers that cannot listen on 0 and say where). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export const NGINX_INSTALL_HINT =
  'nginx not found: install it (Debian/Ubuntu: apt-get install -y nginx-light) to get the reverse-proxy reference rows';

export function nginxBinary(): string | undefined {
  return ['/usr/sbin/nginx', '/usr/bin/nginx', '/usr/local/sbin/nginx'].find((file) =>
    existsSync(file),
  );
}

/**
 * nginx as a reverse proxy in front of `upstreamUrl`: one worker, pinned like the gateway,
 * keep-alive to the upstream, no access log. Not a daemon; its files live in `dir`.
 */
export async function startNginx(
  binary: string,
  upstreamUrl: string,
  dir: string,
): Promise<RunningProcess> {
  const upstream = new URL(upstreamUrl);
  const prefix = path.join(dir, 'nginx');
  await mkdir(prefix, { recursive: true });
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const conf = path.join(prefix, 'nginx.conf');
    await writeFile(
      conf,
      `worker_processes 1;
daemon off;
master_process off;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  keepalive_requests 1000000;
  upstream idp { server ${upstream.hostname}:${upstream.port}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://idp;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering on;
    }
  }
}
`,
    );
    const [command, args] = pinned(GATEWAY_CORE, [binary, '-p', prefix, '-c', conf]);
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let errors = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      errors += chunk;
    });
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitFor(
        async () => {
          if (child.exitCode !== null) throw new Error(`nginx exited: ${errors}`);
          try {
            const response = await fetch(`${url}/small`);
            await response.arrayBuffer();
            return response.status === 200;
          } catch {
            return undefined;
          }
        },
        'nginx to answer',
        10_000,
        50,
      );
      return { pid: child.pid as number, url, stop: stopper(child) };
    } catch (error) {
      await stopper(child)();
      // Another process took the port between our check and nginx's bind: try another one.
      if (attempt < 5 && /Address already in use/.test(errors)) continue;
      throw error;
    }
  }
}
