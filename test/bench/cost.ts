/**
 * The cost of one workload per request, for before/after figures of a change: the CPU the
 * serving process spent per request (from /proc, every thread; what other load on a shared
 * machine distorts least), each repetition and the median, and with `--heap` the heap V8
 * allocated per request (V8's `--trace-gc-nvp`). The target is the gateway (the
 * benchmark's configuration) or one of the Node.js floors (node-floor.ts), pinned as in
 * `npm run bench`.
 *
 *   node dist/test/bench/cost.js uncached|cached|proxy [requests] [repetitions]
 *        [--target gateway|undici|http] [--heap] [--node-flag FLAG]...   (after npm run build)
 *
 * `--node-flag` (repeatable) passes a flag to node for the measured process, e.g. a V8 heap
 * setting; the process's resident set (now and at its peak) is printed at the end.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { prepareBenchConfig } from './bench-config.js';
import { heapPerRequest } from './heap-trace.js';
import { fixedCount } from './load.js';
import { FLOOR_CLIENTS, type FloorClient } from './node-floor.js';
import {
  cpuSeconds,
  pinSelf,
  residentMemory,
  startGateway,
  startNodeFloor,
  startUpstream,
} from './processes.js';
import { figure } from './table.js';
import { WORKLOADS, type WorkloadName } from './workloads.js';

const MODES = Object.keys(WORKLOADS) as WorkloadName[];
type Mode = WorkloadName;
const CONNECTIONS = 32;

function option(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index > 0 ? process.argv[index + 1] : undefined;
}

async function main(): Promise<void> {
  const positional = process.argv.slice(2).filter((arg, index, all) => {
    const previous = all[index - 1];
    return !arg.startsWith('--') && previous !== '--target' && previous !== '--node-flag';
  });
  const mode = (positional[0] ?? 'uncached') as Mode;
  if (!MODES.includes(mode)) throw new Error(`mode: one of ${MODES.join(', ')}`);
  const requests = Number(positional[1] ?? 10_000);
  const repetitions = Number(positional[2] ?? 3);
  const target = option('--target') ?? 'gateway';
  if (target !== 'gateway' && !FLOOR_CLIENTS.includes(target as FloorClient)) {
    throw new Error(`--target: gateway or one of ${FLOOR_CLIENTS.join(', ')}`);
  }
  const heap = process.argv.includes('--heap');
  const nodeFlags = process.argv.flatMap((arg, index, all) =>
    all[index - 1] === '--node-flag' ? [arg] : [],
  );
  const flags = [...nodeFlags, ...(heap ? ['--trace-gc-nvp'] : [])];

  pinSelf();
  const upstream = await startUpstream();
  const prepared = await prepareBenchConfig(upstream.url);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'scopegate-cost-'));
  const server =
    target === 'gateway'
      ? await startGateway(prepared.configFile, dir, { nodeFlags: flags })
      : await startNodeFloor(upstream.url, target as FloorClient, flags);
  const call = WORKLOADS[mode];
  try {
    // The floor answers cache hits from the claims of the first token it re-issued.
    await fixedCount(server.url, WORKLOADS.uncached, 200, 4);
    await fixedCount(server.url, call, 2_000, CONNECTIONS);
    const micros: number[] = [];
    for (let repetition = 0; repetition < repetitions; repetition++) {
      const before = cpuSeconds(server.pid);
      const result = await fixedCount(server.url, call, requests, CONNECTIONS);
      if (result.non2xx > 0 || result.errors > 0) {
        throw new Error(`${result.non2xx} non-2xx answers, ${result.errors} errors`);
      }
      micros.push(((cpuSeconds(server.pid) - before) * 1e6) / result.requests);
      console.log(`${mode} ${target}: ${(micros.at(-1) as number).toFixed(1)} µs CPU per request`);
    }
    const summary = figure('', '', 'µs', micros);
    console.log(
      `${mode} ${target}: median ${summary.median.toFixed(1)} µs CPU per request (${summary.min.toFixed(1)} – ${summary.max.toFixed(1)}, ${repetitions} × ${requests}), Node.js ${process.version}`,
    );
    const memory = residentMemory(server.pid);
    console.log(
      `${mode} ${target}: RSS ${memory.now.toFixed(0)} MiB, peak ${memory.peak.toFixed(0)} MiB${nodeFlags.length > 0 ? ` (${nodeFlags.join(' ')})` : ''}`,
    );
    if (heap) {
      const per = await heapPerRequest(server, call, requests, CONNECTIONS);
      console.log(
        `${mode} ${target}: heap ${per.allocated.toFixed(1)} KB allocated, ${per.promoted.toFixed(2)} KB promoted per request; GC pauses ${per.pauseMs.toFixed(1)} ms per 1,000`,
      );
    }
  } finally {
    await server.stop();
    await upstream.stop();
    await prepared.remove();
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1]?.endsWith('cost.js')) await main();
