/**
 * Where the gateway's resident memory is, and whether it comes back: the pinned gateway (as the
 * image runs it: its node flags and preloaded allocator) first holds 1 MiB answers for screening
 * on 32 connections, then serves uncached tokens; after each phase it prints the resident set (now
 * and peak), V8's heap and external memory (from /metrics) and the resident set by mapping: the
 * node binary's pages, the C allocator's main heap (`[heap]`) and the other anonymous memory
 * (V8's heap, other allocator arenas).
 *
 *   node dist/test/bench/memory.js [token requests, default 60000] [--node-flag FLAG]...
 *   (after npm run build)
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { prepareBenchConfig } from './bench-config.js';
import { fixedCount } from './load.js';
import {
  allocatorNote,
  pinSelf,
  type RunningGateway,
  residentMemory,
  startGateway,
  startUpstream,
} from './processes.js';
import { LARGE, SMALL, WORKLOADS } from './workloads.js';

const CONNECTIONS = 32;
const MIB = 1024 * 1024;

/** VmRSS and VmHWM (the peak), for a report line. */
function resident(pid: number): string {
  const memory = residentMemory(pid);
  return `RSS ${memory.now.toFixed(0)} MiB (peak ${memory.peak.toFixed(0)})`;
}

/** Resident MiB by mapping name: files by base name, `[heap]`, `[anon]` for the nameless. */
async function residentByMapping(pid: number): Promise<Map<string, number>> {
  const smaps = await readFile(`/proc/${pid}/smaps`, 'utf8');
  const totals = new Map<string, number>();
  let current = '[anon]';
  for (const line of smaps.split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+\s/.test(line)) {
      const name = line.split(/\s+/).slice(5).join(' ');
      current = name === '' ? '[anon]' : name.startsWith('/') ? path.basename(name) : name;
    } else if (line.startsWith('Rss:')) {
      const kib = Number(line.split(/\s+/)[1]);
      totals.set(current, (totals.get(current) ?? 0) + kib / 1024);
    }
  }
  return totals;
}

/** A gauge's value in MiB from the admin listener's /metrics. */
function gaugeMiB(metrics: string, name: string): string {
  const line = metrics.split('\n').find((candidate) => candidate.startsWith(`${name} `));
  return line === undefined ? '?' : (Number(line.slice(name.length + 1)) / MIB).toFixed(1);
}

async function report(gateway: RunningGateway, phase: string): Promise<void> {
  const metrics = await (await fetch(`${gateway.adminUrl}/metrics`)).text();
  const mappings = [...(await residentByMapping(gateway.pid))]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 4)
    .map(([name, mib]) => `${name} ${mib.toFixed(1)}`)
    .join(', ');
  console.log(
    `${phase}: ${resident(gateway.pid)}; V8 heap ${gaugeMiB(metrics, 'nodejs_heap_size_total_bytes')} MiB (${gaugeMiB(metrics, 'nodejs_heap_size_used_bytes')} used), external ${gaugeMiB(metrics, 'nodejs_external_memory_bytes')} MiB; resident by mapping (MiB): ${mappings}`,
  );
}

async function main(): Promise<void> {
  const tokens = Number(process.argv.slice(2).find((arg) => /^\d+$/.test(arg)) ?? 60_000);
  const nodeFlags = process.argv.flatMap((arg, index, all) =>
    all[index - 1] === '--node-flag' ? [arg] : [],
  );
  pinSelf();
  const upstream = await startUpstream();
  const prepared = await prepareBenchConfig(upstream.url);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'scopegate-memory-'));
  const gateway = await startGateway(prepared.configFile, dir, { nodeFlags });
  console.log(`Node.js ${process.version}; allocator: ${allocatorNote()}`);
  try {
    await report(gateway, 'idle');
    await fixedCount(gateway.url, SMALL, 20_000, CONNECTIONS);
    await fixedCount(gateway.url, LARGE, 3_000, CONNECTIONS);
    await report(gateway, 'after 3,000 held 1 MiB answers');
    const step = Math.max(1, Math.ceil(tokens / 3));
    for (let done = 0; done < tokens; done += step) {
      await fixedCount(gateway.url, WORKLOADS.uncached, Math.min(step, tokens - done), CONNECTIONS);
      console.log(
        `after ${Math.min(done + step, tokens).toLocaleString('en-US')} uncached tokens: ${resident(gateway.pid)}`,
      );
    }
    await report(gateway, 'end');
  } finally {
    await gateway.stop();
    await upstream.stop();
    await prepared.remove();
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1]?.endsWith('memory.js')) await main();
