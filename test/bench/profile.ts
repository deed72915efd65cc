/**
 * Where the gateway's CPU goes: runs the pinned gateway under `node --cpu-prof` against the
 * benchmark's upstream, drives one workload, and prints self time grouped by where the code
 * lives (scopegate, jose, pino, prom-client, lru-cache, http-proxy-3, node internals by module,
 * native crypto, GC, idle).
 *
 *   node dist/test/bench/profile.js [uncached|cached|proxy] [requests]   (after npm run build)
 */
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { prepareBenchConfig } from './bench-config.js';
import { fixedCount } from './load.js';
import { pinSelf, startGateway, startUpstream } from './processes.js';
import { WORKLOADS, type WorkloadName } from './workloads.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function category(node: ProfileNode): string {
  const { url, functionName } = node.callFrame;
  if (functionName === '(garbage collector)') return 'GC';
  if (functionName === '(idle)') return 'idle';
  if (functionName === '(program)') return 'program (native, unattributed)';
  for (const name of [
    'jose',
    'pino',
    'prom-client',
    'lru-cache',
    'http-proxy-3',
    'zod',
    'ioredis',
  ]) {
    if (url.includes(`/node_modules/${name}/`)) return name;
  }
  if (url.includes('/node_modules/')) return 'other dependencies';
  if (url.includes('/dist/proxy/'))
    return `scopegate ${url.slice(url.indexOf('/dist/proxy/') + 12)}`;
  if (url.startsWith('node:')) return url.replace(/^node:internal\//, 'node ').replace(/\/.*$/, '');
  if (url === '') return `native ${functionName || '(anonymous)'}`;
  return 'other';
}

const mode = process.argv[2] ?? 'uncached';
const requests = Number(process.argv[3] ?? 20_000);

pinSelf();
const upstream = await startUpstream();
const prepared = await prepareBenchConfig(upstream.url);
const dir = await mkdtemp(path.join(os.tmpdir(), 'scopegate-profile-'));
const gateway = await startGateway(prepared.configFile, dir, {
  nodeFlags: ['--cpu-prof', '--cpu-prof-dir', dir],
});
if (!(mode in WORKLOADS)) throw new Error(`mode: one of ${Object.keys(WORKLOADS).join(', ')}`);
const call = WORKLOADS[mode as WorkloadName];
try {
  await fixedCount(gateway.url, call, 1000, 32);
  const result = await fixedCount(gateway.url, call, requests, 32);
  console.log(
    `${mode}: ${requests} requests at ${result.requestsPerSec.toFixed(0)}/s (profiler on)`,
  );
} finally {
  // The profile is written at a clean exit: SIGTERM lets the gateway drain and exit.
  process.kill(gateway.pid, 'SIGTERM');
  await new Promise((resolve) => setTimeout(resolve, 3000));
  await gateway.stop();
  await upstream.stop();
  await prepared.remove();
}
const file = (await readdir(dir)).find((name) => name.endsWith('.cpuprofile'));
if (!file) throw new Error('no profile written');
const profile = JSON.parse(await readFile(path.join(dir, file), 'utf8')) as CpuProfile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const totals = new Map<string, number>();
let all = 0;
profile.samples.forEach((id, index) => {
  const delta = profile.timeDeltas[index] ?? 0;
  const node = byId.get(id);
  if (!node) return;
  const name = category(node);
  totals.set(name, (totals.get(name) ?? 0) + delta);
  all += delta;
});
const busy = all - (totals.get('idle') ?? 0);
console.log(`self time, % of busy time (${(busy / 1e6).toFixed(1)} s busy):`);
for (const [name, micros] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, 30)) {
  if (name === 'idle') continue;
  console.log(`  ${((micros / busy) * 100).toFixed(1).padStart(5)}%  ${name}`);
}
console.log(`profile: ${path.join(dir, file)}`);
