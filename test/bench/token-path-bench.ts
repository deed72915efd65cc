/**
 * Benchmark (not a test): what scopegate adds to a token request and to a proxied request. The
 * upstream (the Auth0 emulator) and scopegate (`scopegate serve`) each run in a process of their
 * own; this process is the client, on loopback only. In the same run it measures:
 * - baseline: token requests straight to the upstream, and proxied requests' upstream route;
 * - through scopegate: the same requests via the gateway (verify, narrow, re-sign; or proxy);
 * and reports latency percentiles, throughput at a fixed concurrency, the ratio against the
 * baseline, and the gateway's resident memory before and after the load.
 * Bounded: a fixed number of requests per phase; it stops by itself.
 *
 *   npm run bench   or   node dist/test/bench/token-path-bench.js   (after npm run build)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { spawnScopegate } from '../support/cli-process.js';
import { prepareTestConfig } from '../support/gateway.js';
import { BENCH_AUDIENCE, BENCH_CLIENT } from './token-path-setup.js';

const REQUESTS = 1500;
const WARMUP = 200;
const CONCURRENCY = 8;

interface PhaseFigures {
  name: string;
  requests: number;
  seconds: number;
  p50: number;
  p90: number;
  p99: number;
}

async function startUpstream(): Promise<{ url: string; child: ChildProcess }> {
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'upstream-process.js');
  const child = spawn(process.execPath, [script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  for await (const line of lines) {
    const { url } = JSON.parse(line) as { url: string };
    return { url, child };
  }
  throw new Error('the upstream process ended before printing its URL');
}

function percentile(sorted: readonly number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? 0;
}

/** Runs `count` requests with `CONCURRENCY` in flight; every answer must be `expectStatus`. */
async function phase(
  name: string,
  count: number,
  request: () => Promise<Response>,
): Promise<PhaseFigures> {
  const latencies: number[] = [];
  let next = 0;
  const started = process.hrtime.bigint();
  const worker = async () => {
    while (next < count) {
      next++;
      const begin = process.hrtime.bigint();
      const response = await request();
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`${name}: status ${response.status}`);
      latencies.push(Number(process.hrtime.bigint() - begin) / 1e6);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  latencies.sort((a, b) => a - b);
  return {
    name,
    requests: count,
    seconds,
    p50: percentile(latencies, 0.5),
    p90: percentile(latencies, 0.9),
    p99: percentile(latencies, 0.99),
  };
}

function tokenRequest(base: string, scope?: string) {
  const body = new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: BENCH_CLIENT.clientId,
    client_secret: BENCH_CLIENT.clientSecret,
    audience: BENCH_AUDIENCE,
    ...(scope ? { scope } : {}),
  }).toString();
  return () =>
    fetch(`${base}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
    });
}

async function residentBytes(adminUrl: string): Promise<number> {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  const line = text.split('\n').find((entry) => entry.startsWith('process_resident_memory_bytes'));
  return Number(line?.split(' ')[1] ?? Number.NaN);
}

function row(figures: PhaseFigures): string {
  const rate = figures.requests / figures.seconds;
  return `  ${figures.name.padEnd(38)} ${rate.toFixed(0).padStart(6)} req/s   p50 ${figures.p50.toFixed(2).padStart(6)} ms   p90 ${figures.p90.toFixed(2).padStart(6)} ms   p99 ${figures.p99.toFixed(2).padStart(6)} ms`;
}

export async function runTokenPathBench(): Promise<void> {
  const upstream = await startUpstream();
  const prepared = await prepareTestConfig({ upstreamUrl: upstream.url, scopeRequest: 'omit' });
  const gateway = await spawnScopegate(prepared.configFile, { env: { NODE_ENV: 'production' } });
  try {
    const admin = gateway.adminUrl as string;
    const direct = tokenRequest(upstream.url);
    const narrowed = tokenRequest(gateway.publicUrl, 'read:claims accounts.read.1234');
    const proxiedDirect = () => fetch(`${upstream.url}/api/echo/bench?x=1`);
    const proxiedGateway = () => fetch(`${gateway.publicUrl}/api/echo/bench?x=1`);

    await phase('warm-up', WARMUP, direct);
    await phase('warm-up', WARMUP, narrowed);
    await phase('warm-up', WARMUP, proxiedGateway);
    const rssBefore = await residentBytes(admin);

    const figures = [
      await phase('token: upstream directly (baseline)', REQUESTS, direct),
      await phase('token: through scopegate (narrowed)', REQUESTS, narrowed),
      await phase('proxy: upstream directly (baseline)', REQUESTS, proxiedDirect),
      await phase('proxy: through scopegate', REQUESTS, proxiedGateway),
    ] as const;
    const rssAfter = await residentBytes(admin);

    console.log(
      `token path: ${REQUESTS} requests per phase, ${CONCURRENCY} in flight, upstream and gateway in their own processes (node ${process.version})`,
    );
    for (const figure of figures) console.log(row(figure));
    const [tokenBase, tokenGateway, proxyBase, proxyGateway] = figures;
    const ratio = (a: PhaseFigures, b: PhaseFigures) => (a.p50 / b.p50).toFixed(2);
    console.log(
      `  token p50 through scopegate / direct:   ${ratio(tokenGateway, tokenBase)}x  (+${(tokenGateway.p50 - tokenBase.p50).toFixed(2)} ms: verify, narrow, re-sign)`,
    );
    console.log(
      `  proxy p50 through scopegate / direct:   ${ratio(proxyGateway, proxyBase)}x  (+${(proxyGateway.p50 - proxyBase.p50).toFixed(2)} ms)`,
    );
    const mib = (bytes: number) => (bytes / 1048576).toFixed(1);
    console.log(
      `  gateway resident memory: ${mib(rssBefore)} MiB after warm-up, ${mib(rssAfter)} MiB after ${REQUESTS * 2} more requests`,
    );
  } finally {
    await gateway.stop();
    upstream.child.stdin?.end();
    upstream.child.kill();
    await rm(prepared.dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await runTokenPathBench();
}
