/**
 * `npm run bench` (about 7 minutes; `npm run bench -- --quick` about 2½): scopegate isolated on
 * loopback. The upstream answers from pre-signed tokens (no per-request crypto); the gateway
 * (and nginx, the reference reverse proxy) run pinned to one core, the upstream and this process
 * (the load generator) on the other. Every figure is measured in the same run, 3 repetitions,
 * median and spread. Prints one table and writes the same figures as JSON
 * (`--out FILE`, default in the temp directory) so runs can be compared.
 *
 * The floors (node-floor.ts) are the least a Node.js process does for the same work, with the
 * cheapest upstream client Node.js has (undici) and with `http.request`; nginx is the reference
 * reverse proxy. The workers runs put `server.workers: 1` and `2` on the whole machine.
 *
 * It asserts nothing: timings depend on the machine and on what else runs on it (the Node.js
 * version, the CPU and the load average at start and end are in the output).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { prepareBenchConfig } from './bench-config.js';
import type { CryptoFigure } from './crypto-bench.js';
import { runDecisionBench } from './decision-bench.js';
import { heapPerRequest } from './heap-trace.js';
import { closedLoop, fixedCount, type HttpCall, type OpenLoopResult, openLoop } from './load.js';
import {
  allocatorNote,
  cpuSeconds,
  descendants,
  GatewayRefused,
  NGINX_INSTALL_HINT,
  nginxBinary,
  pinningNote,
  pinSelf,
  type RunningGateway,
  type RunningProcess,
  residentMiB,
  startGateway,
  startNginx,
  startNodeFloor,
  startUpstream,
  treeCpuSeconds,
} from './processes.js';
import { type Figure, figure, renderTable } from './table.js';
import {
  evaluateTargets,
  HTTP_FLOOR,
  UNDICI_FLOOR,
  type WorkersFigures,
  type WorkersRun,
} from './targets.js';
import {
  CACHED_CLIENT,
  LARGE,
  LARGE_BYTES,
  SMALL,
  tokenCall,
  UNCACHED_CLIENT,
} from './workloads.js';

const quick = process.argv.includes('--quick');
const outIndex = process.argv.indexOf('--out');
const outFile =
  outIndex > 0
    ? path.resolve(process.argv[outIndex + 1] as string)
    : path.join(
        os.tmpdir(),
        `scopegate-bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`,
      );

const PLAN = quick
  ? {
      seconds: 1.5,
      repetitions: 3,
      latencySeconds: 2,
      growth: 10_000,
      soakSeconds: 10,
      cryptoSeconds: 0.15,
      heapTokens: 4_000,
    }
  : {
      seconds: 4,
      repetitions: 3,
      latencySeconds: 5,
      growth: 100_000,
      soakSeconds: 60,
      cryptoSeconds: 0.4,
      heapTokens: 20_000,
    };
const CONNECTIONS = 32;

const figures: Figure[] = [];
const notes: string[] = [];
const begun = Date.now();
const log = (line: string) =>
  process.stderr.write(`[${((Date.now() - begun) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);

async function upstreamTokenCalls(upstreamUrl: string): Promise<number> {
  const response = await fetch(`${upstreamUrl}/__token_calls`);
  return ((await response.json()) as { calls: number }).calls;
}

async function cryptoLimits(): Promise<void> {
  log('crypto limits ...');
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'crypto-bench.js');
  const args = [script, String(PLAN.cryptoSeconds), String(PLAN.repetitions)];
  const taskset = ['/usr/bin/taskset', '/bin/taskset'].find((file) => {
    try {
      execFileSync(file, ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  });
  const [command, argv] = taskset
    ? [taskset, ['-c', '0', process.execPath, ...args]]
    : [process.execPath, args];
  const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
  let text = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    text += chunk;
  });
  await new Promise((resolve) => child.once('exit', resolve));
  for (const entry of JSON.parse(text) as CryptoFigure[]) {
    figures.push({
      section: 'crypto limit (per CPU-second)',
      name: entry.name,
      unit: 'ops/s',
      median: entry.opsPerSec,
      min: entry.min,
      max: entry.max,
      repetitions: PLAN.repetitions,
    });
  }
}

export interface Throughput {
  /** Wall-clock requests per second (bounded by whatever else runs on the machine). */
  rps: number;
  bytesPerSec: number;
  /** CPU the serving process spent per request, µs, all its threads. */
  cpuMicros: number;
}

const median = (values: number[]) => figure('', '', '', values).median;

/**
 * Closed-loop throughput, and the serving process's CPU per request: 1e6 / that is what one
 * core would serve with nothing else competing for it (the "per CPU-second" rows).
 */
async function throughput(
  section: string,
  label: string,
  target: string,
  call: HttpCall,
  cpuPid: number,
  /** The CPU seconds to count: the process's own by default (a cluster counts its workers). */
  cpuOf: (pid: number) => number = cpuSeconds,
): Promise<Throughput> {
  const rates: number[] = [];
  const bytes: number[] = [];
  const cpu: number[] = [];
  for (let repetition = 0; repetition < PLAN.repetitions; repetition++) {
    const cpuBefore = cpuOf(cpuPid);
    const result = await closedLoop(target, call, PLAN.seconds, CONNECTIONS);
    if (result.non2xx > 0 || result.errors > 0) {
      throw new Error(`${section} ${label}: ${result.non2xx} non-2xx, ${result.errors} errors`);
    }
    rates.push(result.requestsPerSec);
    bytes.push(result.bytesPerSec);
    cpu.push(((cpuOf(cpuPid) - cpuBefore) * 1e6) / result.requests);
  }
  const large = call === LARGE;
  const perCpuSecond = cpu.map((micros) => 1e6 / micros);
  figures.push(
    large
      ? figure(
          section,
          `${label}, wall clock`,
          'MB/s',
          bytes.map((value) => value / 1e6),
        )
      : figure(section, `${label}, wall clock`, 'req/s', rates),
    figure(section, `${label}, CPU per request`, 'µs', cpu),
    large
      ? figure(
          section,
          `${label}, per CPU-second`,
          'MB/s',
          perCpuSecond.map((value) => (value * LARGE_BYTES) / 1e6),
        )
      : figure(section, `${label}, per CPU-second`, 'req/s', perCpuSecond),
  );
  return { rps: median(rates), bytesPerSec: median(bytes), cpuMicros: median(cpu) };
}

/** Upstream token calls per 1,000 client requests, over an exact number of requests. */
async function upstreamCallsPerThousand(
  gatewayUrl: string,
  upstreamUrl: string,
  clientId: string,
  label: string,
): Promise<void> {
  const amount = quick ? 2_000 : 10_000;
  const before = await upstreamTokenCalls(upstreamUrl);
  const result = await fixedCount(gatewayUrl, tokenCall(clientId), amount, CONNECTIONS);
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${label}: failed requests`);
  const calls = (await upstreamTokenCalls(upstreamUrl)) - before;
  figures.push(
    figure('token path', `${label}: upstream calls per 1,000 client requests`, 'calls', [
      (calls * 1000) / amount,
    ]),
  );
}

async function latency(
  target: string,
  call: HttpCall,
  rate: number,
): Promise<{ p50: number; p99: number; p999: number; failed: number }> {
  const runs: OpenLoopResult[] = [];
  for (let repetition = 0; repetition < PLAN.repetitions; repetition++) {
    const result = await openLoop(target, call, rate, PLAN.latencySeconds);
    // An overloaded gateway answers some requests with 503/504: counted, not hidden.
    runs.push(result);
  }
  const pick = (key: 'p50' | 'p99' | 'p999') =>
    figure(
      '',
      '',
      '',
      runs.map((run) => run[key]),
    );
  return {
    p50: pick('p50').median,
    p99: pick('p99').median,
    p999: pick('p999').median,
    failed: runs.reduce((sum, run) => sum + run.failed, 0),
  };
}

async function addedLatency(upstream: RunningProcess, gateway: RunningGateway): Promise<void> {
  for (const rate of [500, 1000]) {
    log(`latency at ${rate} req/s ...`);
    const call = tokenCall(UNCACHED_CLIENT);
    const direct = await latency(upstream.url, call, rate);
    const through = await latency(gateway.url, call, rate);
    const section = `token latency, open loop ${rate} req/s`;
    for (const key of ['p50', 'p99', 'p999'] as const) {
      const name = key === 'p999' ? 'p99.9' : key;
      figures.push(figure(section, `direct ${name}`, 'ms', [direct[key]]));
      figures.push(figure(section, `through scopegate ${name}`, 'ms', [through[key]]));
      figures.push(figure(section, `added ${name}`, 'ms', [through[key] - direct[key]]));
    }
    figures.push(
      figure(section, 'failed requests through scopegate (all repetitions)', 'requests', [
        through.failed,
      ]),
    );
  }
}

/**
 * Heap per request, V8's own count (--trace-gc-nvp), for the gateway and for the undici floor
 * doing the same HTTP legs and crypto (what Node.js itself allocates).
 */
async function heapPerToken(configFile: string, dir: string, upstreamUrl: string): Promise<void> {
  log('heap allocated per token ...');
  const measure = async (
    target: { url: string; output(): string | Promise<string>; stop(): Promise<void> },
    suffix: string,
  ) => {
    try {
      for (const [label, call] of [
        ['token, uncached', tokenCall(UNCACHED_CLIENT)],
        ['token, cached', tokenCall(CACHED_CLIENT)],
        ['pass-through request, small', SMALL],
      ] as const) {
        const { allocated, promoted, pauseMs } = await heapPerRequest(
          target,
          call,
          PLAN.heapTokens,
          CONNECTIONS,
        );
        figures.push(
          figure('memory', `heap allocated per ${label}${suffix}`, 'KB', [allocated]),
          figure('memory', `promoted to the old generation per ${label}${suffix}`, 'KB', [
            promoted,
          ]),
          figure('memory', `GC pauses per 1,000 of: ${label}${suffix}`, 'ms', [pauseMs]),
        );
      }
    } finally {
      await target.stop();
    }
  };
  await measure(await startGateway(configFile, dir, { nodeFlags: ['--trace-gc-nvp'] }), '');
  await measure(
    await startNodeFloor(upstreamUrl, 'undici', ['--trace-gc-nvp']),
    ', Node.js floor (undici)',
  );
}

/** Where the processes of the workers runs are, as the target's line states it. */
const WORKERS_PLACEMENT =
  'gateway (primary and workers), upstream and load generator all unpinned on the same cores';

/**
 * One gateway configuration with `server.workers: count`, on the whole machine beside the
 * upstream and the load generator: upstream calls from an empty cache, wall-clock uncached token
 * throughput with the CPU per token of the primary and its workers, and each worker's RSS.
 * undefined when the configuration is refused or starts no workers.
 */
async function workersFigures(
  count: number,
  upstream: RunningProcess,
  dir: string,
): Promise<WorkersFigures | string> {
  const prepared = await prepareBenchConfig(upstream.url, { server: { workers: count } });
  try {
    let gateway: RunningGateway;
    try {
      gateway = await startGateway(prepared.configFile, dir, { pinned: false });
    } catch (error) {
      if (!(error instanceof GatewayRefused)) throw error;
      return 'not measured: server.workers unsupported (the configuration was refused)';
    }
    try {
      const workers = descendants(gateway.pid);
      if (count > 1 && workers.length < count) {
        return `not measured: server.workers: ${count} started ${workers.length} worker processes`;
      }
      // The first requests of a cached client, each worker's cache empty: N workers must not
      // mean N upstream calls.
      const amount = 1_000;
      const before = await upstreamTokenCalls(upstream.url);
      await fixedCount(gateway.url, tokenCall(CACHED_CLIENT), amount, CONNECTIONS);
      const calls = (await upstreamTokenCalls(upstream.url)) - before;
      await fixedCount(gateway.url, tokenCall(UNCACHED_CLIENT), 1_000, CONNECTIONS);
      const token = await throughput(
        'workers (whole machine)',
        `server.workers: ${count}, uncached tokens`,
        gateway.url,
        tokenCall(UNCACHED_CLIENT),
        gateway.pid,
        treeCpuSeconds,
      );
      const rss = Math.max(...[gateway.pid, ...descendants(gateway.pid)].map(residentMiB));
      const coldCallsPerThousand = (calls * 1000) / amount;
      figures.push(
        figure(
          'workers (whole machine)',
          `server.workers: ${count}, upstream calls per 1,000 cached-client requests from an empty cache`,
          'calls',
          [coldCallsPerThousand],
        ),
        figure(
          'workers (whole machine)',
          `server.workers: ${count}, RSS of the largest process`,
          'MiB',
          [rss],
        ),
      );
      return { token, coldCallsPerThousand, rssPerWorkerMiB: rss };
    } finally {
      // Its workers are found while the primary still lives: they are not left running.
      const left = descendants(gateway.pid);
      await gateway.stop();
      for (const pid of left) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already ended with its primary
        }
      }
    }
  } finally {
    await prepared.remove();
  }
}

/**
 * The workers rows: one and two workers with the upstream and this process (the load generator)
 * free to run on every core, as a pod's containers share its node.
 */
async function workersRuns(dir: string): Promise<WorkersRun> {
  log('workers (whole machine) ...');
  pinSelf(`0-${os.cpus().length - 1}`);
  const upstream = await startUpstream(false);
  try {
    const one = await workersFigures(1, upstream, dir);
    if (typeof one === 'string') return { measured: false, reason: one };
    const two = await workersFigures(2, upstream, dir);
    if (typeof two === 'string') return { measured: false, reason: two };
    return { measured: true, placement: WORKERS_PLACEMENT, one, two };
  } finally {
    await upstream.stop();
    pinSelf();
  }
}

async function main(): Promise<void> {
  pinSelf();
  const loadStart = os.loadavg();
  const started = Date.now();
  log(
    `scopegate benchmark (${quick ? 'quick' : 'full'}): Node.js ${process.version} on ${os.cpus()[0]?.model ?? 'unknown'}; ${pinningNote()}; allocator: ${allocatorNote()}`,
  );

  const decision = runDecisionBench(() => {}, quick ? 0.2 : 1);
  for (const entry of decision) {
    figures.push({
      section: 'scope decision (200 templates)',
      name: entry.name,
      unit: 'µs/op',
      median: entry.microsPerOp,
      min: entry.microsPerOp,
      max: entry.microsPerOp,
      repetitions: 1,
    });
  }
  await cryptoLimits();

  const upstream = await startUpstream();
  const prepared = await prepareBenchConfig(upstream.url);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'scopegate-bench-'));
  const cleanup: Array<() => Promise<unknown>> = [
    () => upstream.stop(),
    () => prepared.remove(),
    () => rm(dir, { recursive: true, force: true }),
  ];
  try {
    const gateway = await startGateway(prepared.configFile, dir);
    cleanup.unshift(() => gateway.stop());
    await fixedCount(gateway.url, tokenCall(UNCACHED_CLIENT), 300, 4);
    await fixedCount(gateway.url, SMALL, 300, 4);
    const idle = residentMiB(gateway.pid);

    log('token path ...');
    const uncached = await throughput(
      'token path',
      'uncached (ES256 verify + ES256 sign)',
      gateway.url,
      tokenCall(UNCACHED_CLIENT),
      gateway.pid,
    );
    const cached = await throughput(
      'token path',
      'cached (upstream token cache hit)',
      gateway.url,
      tokenCall(CACHED_CLIENT),
      gateway.pid,
    );
    // The floors run only while they are measured: they share the gateway's core.
    const floors = {
      undici: await startNodeFloor(upstream.url, 'undici'),
      http: await startNodeFloor(upstream.url, 'http'),
    };
    cleanup.unshift(
      () => floors.undici.stop(),
      () => floors.http.stop(),
    );
    const floorToken = {
      undici: await throughput(
        'token path',
        `${UNDICI_FLOOR}: same HTTP legs (undici Pool) and ES256 verify + sign, nothing else`,
        floors.undici.url,
        tokenCall(UNCACHED_CLIENT),
        floors.undici.pid,
      ),
      http: await throughput(
        'token path',
        `${HTTP_FLOOR}: same HTTP legs (http.request) and ES256 verify + sign, nothing else`,
        floors.http.url,
        tokenCall(UNCACHED_CLIENT),
        floors.http.pid,
      ),
    };
    // After the uncached run: the floor signs its cache hits from the claims it verified first.
    const floorCached = await throughput(
      'token path',
      `${UNDICI_FLOOR} from the cache: request read, ES256 sign, answer written, nothing else`,
      floors.undici.url,
      tokenCall(CACHED_CLIENT),
      floors.undici.pid,
    );
    await upstreamCallsPerThousand(gateway.url, upstream.url, UNCACHED_CLIENT, 'uncached');
    await upstreamCallsPerThousand(gateway.url, upstream.url, CACHED_CLIENT, 'cached');
    const underLoad = residentMiB(gateway.pid);
    await addedLatency(upstream, gateway);

    log('pass-through ...');
    const nginx = nginxBinary();
    let nginxProcess: RunningProcess | undefined;
    if (nginx) {
      nginxProcess = await startNginx(nginx, upstream.url, dir);
      const stop = nginxProcess;
      cleanup.unshift(() => stop.stop());
    } else {
      notes.push(NGINX_INSTALL_HINT);
      log(NGINX_INSTALL_HINT);
    }
    const passThrough: Record<string, { small: Throughput; large: Throughput }> = {};
    // "direct": the upstream's own CPU per request is the reference for a server doing nothing.
    for (const [label, target, pid] of [
      ['direct', upstream.url, upstream.pid],
      ['scopegate', gateway.url, gateway.pid],
      [UNDICI_FLOOR, floors.undici.url, floors.undici.pid],
      [HTTP_FLOOR, floors.http.url, floors.http.pid],
      ...(nginxProcess ? [['nginx', nginxProcess.url, nginxProcess.pid] as const] : []),
    ] as const) {
      const small = await throughput('pass-through, small response', label, target, SMALL, pid);
      const large = await throughput('pass-through, 1 MiB response', label, target, LARGE, pid);
      passThrough[label] = { small, large };
    }

    log(
      `memory: ${PLAN.growth.toLocaleString('en-US')} requests, then a ${PLAN.soakSeconds} s soak ...`,
    );
    await fixedCount(gateway.url, tokenCall(UNCACHED_CLIENT), PLAN.growth, CONNECTIONS);
    const afterGrowth = residentMiB(gateway.pid);
    const soakStart = residentMiB(gateway.pid);
    const soakSamples: number[] = [];
    const soakEnd = Date.now() + PLAN.soakSeconds * 1000;
    while (Date.now() < soakEnd) {
      await closedLoop(
        gateway.url,
        tokenCall(UNCACHED_CLIENT),
        Math.min(10, PLAN.soakSeconds),
        CONNECTIONS,
      );
      soakSamples.push(residentMiB(gateway.pid));
    }
    const afterSoak = residentMiB(gateway.pid);
    figures.push(
      figure('memory', 'RSS idle (after start and 600 requests)', 'MiB', [idle]),
      figure('memory', 'RSS after the token-path runs', 'MiB', [underLoad]),
      figure(
        'memory',
        `RSS after ${PLAN.growth.toLocaleString('en-US')} more token requests`,
        'MiB',
        [afterGrowth],
      ),
      figure('memory', `RSS after a ${PLAN.soakSeconds} s soak`, 'MiB', [afterSoak]),
      figure('memory', 'RSS growth over the soak', '%', [
        ((afterSoak - soakStart) / soakStart) * 100,
      ]),
      figure('memory', 'RSS peak during the soak', 'MiB', [Math.max(...soakSamples, afterSoak)]),
    );
    await gateway.stop();
    await floors.undici.stop();
    await floors.http.stop();
    await heapPerToken(prepared.configFile, dir, upstream.url);
    const workers = await workersRuns(dir);
    if (!workers.measured) notes.push(`workers rows: ${workers.reason}`);

    const targets = evaluateTargets(figures, {
      uncached,
      cached,
      passThrough,
      floorToken,
      floorCached,
      workers,
    });
    const machine = {
      cpu: os.cpus()[0]?.model ?? 'unknown',
      cores: os.cpus().length,
      node: process.version,
      kernel: os.release(),
      loadAverageAtStart: loadStart,
      loadAverageAtEnd: os.loadavg(),
      pinning: pinningNote(),
      allocator: allocatorNote(),
    };
    const table = renderTable(figures);
    console.log(
      `scopegate benchmark (${quick ? 'quick' : 'full'}, ${((Date.now() - started) / 1000).toFixed(0)} s): Node.js ${machine.node} on ${machine.cpu}, ${machine.cores} cores; ${machine.pinning}; allocator: ${machine.allocator}; load average ${loadStart.map((value) => value.toFixed(1)).join(' ')} at start, ${machine.loadAverageAtEnd.map((value) => value.toFixed(1)).join(' ')} at end`,
    );
    console.log(table);
    console.log('\nTargets (per CPU-second of the gateway unless said, ratios from this run):');
    const marks = {
      met: 'met         ',
      'not met': 'NOT met     ',
      'not measured': 'not measured',
    };
    for (const target of targets) {
      console.log(`  ${marks[target.state]}  ${target.name}: ${target.measured}`);
    }
    for (const note of notes) console.log(`\nnote: ${note}`);
    await writeFile(
      outFile,
      `${JSON.stringify({ date: new Date().toISOString(), quick, machine, plan: PLAN, figures, targets, notes }, null, 2)}\n`,
    );
    console.log(`\nJSON: ${outFile}`);
  } finally {
    for (const step of cleanup) await step().catch(() => {});
  }
}

await main();
