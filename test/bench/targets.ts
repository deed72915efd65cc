/**
 * The performance targets, checked against the figures of one run (ratios from the same run).
 */
import type { Throughput } from './run.js';
import type { Figure } from './table.js';

export interface TargetResult {
  name: string;
  met: boolean;
  measured: string;
}

/** The pass-through row of the Node.js floor (node-floor.ts). */
export const NODE_FLOOR = 'Node.js floor (http.request pipe)';

export interface RunSummary {
  uncached: Throughput;
  cached: Throughput;
  /** The Node.js floor on the token path: the same HTTP legs and crypto, nothing else. */
  floorToken: Throughput;
  /** The Node.js floor answering from a cache: request read, ES256 sign, answer written. */
  floorCached: Throughput;
  passThrough: Record<string, { small: Throughput; large: Throughput }>;
}

function find(figures: readonly Figure[], section: string, name: string): number {
  const found = figures.find(
    (entry) => entry.section.startsWith(section) && entry.name.startsWith(name),
  );
  return found ? found.median : Number.NaN;
}

const fixed = (value: number, digits = 0) =>
  Number.isFinite(value) ? value.toFixed(digits) : 'n/a';

/**
 * Rates are per CPU-second of the gateway (1e6 / CPU µs per request): one core's capacity, which
 * other load on a shared machine does not distort; wall-clock rates are in the table beside them.
 */
export function evaluateTargets(figures: readonly Figure[], run: RunSummary): TargetResult[] {
  const limit = find(figures, 'crypto limit', 'ES256 verify+sign, node:crypto');
  const uncached = 1e6 / run.uncached.cpuMicros;
  const cached = 1e6 / run.cached.cpuMicros;
  const share = uncached / limit;
  const nginx = run.passThrough.nginx;
  const gateway = run.passThrough.scopegate;
  const floor = run.passThrough[NODE_FLOOR];
  const results: TargetResult[] = [
    {
      name: 'token re-issue uncached >= 5,000 tokens/s ES256 and >= 50% of the node:crypto verify+sign limit',
      met: uncached >= 5000 && share >= 0.5,
      measured: `${fixed(uncached)} tokens per CPU-second, ${fixed(share * 100)}% of ${fixed(limit)}/s (Node.js floor with the same HTTP legs and crypto: ${fixed(1e6 / run.floorToken.cpuMicros)}/s)`,
    },
    {
      name: 'token re-issue from the cache >= 12,000 tokens/s ES256',
      met: cached >= 12_000,
      measured: `${fixed(cached)} tokens per CPU-second (Node.js floor answering from a cache: ${fixed(1e6 / run.floorCached.cpuMicros)}/s)`,
    },
  ];
  const latency = (rate: number, percentile: string) =>
    find(figures, `token latency, open loop ${rate} `, `added ${percentile}`);
  const p50at500 = latency(500, 'p50');
  const p99at500 = latency(500, 'p99');
  const p99at1000 = latency(1000, 'p99');
  results.push(
    {
      name: 'added latency at 500 req/s: p50 <= 0.5 ms, p99 <= 2 ms',
      met: p50at500 <= 0.5 && p99at500 <= 2,
      measured: `p50 +${fixed(p50at500, 2)} ms, p99 +${fixed(p99at500, 2)} ms`,
    },
    {
      name: 'added latency at 1,000 req/s: p99 <= 3 ms',
      met: p99at1000 <= 3,
      measured: `p99 +${fixed(p99at1000, 2)} ms`,
    },
  );
  if (nginx && gateway) {
    const small = nginx.small.cpuMicros / gateway.small.cpuMicros;
    const large = nginx.large.cpuMicros / gateway.large.cpuMicros;
    results.push(
      {
        name: "pass-through small >= 50% of nginx's req/s",
        met: small >= 0.5,
        measured: `${fixed(small * 100)}% per CPU-second (${fixed(gateway.small.cpuMicros, 1)} vs ${fixed(nginx.small.cpuMicros, 1)} µs CPU per request; Node.js floor ${fixed(floor?.small.cpuMicros ?? Number.NaN, 1)} µs); wall clock ${fixed((gateway.small.rps / nginx.small.rps) * 100)}%`,
      },
      {
        name: "pass-through 1 MiB >= 80% of nginx's throughput",
        met: large >= 0.8,
        measured: `${fixed(large * 100)}% per CPU-second (${fixed(gateway.large.cpuMicros)} vs ${fixed(nginx.large.cpuMicros)} µs CPU per MiB; Node.js floor ${fixed(floor?.large.cpuMicros ?? Number.NaN)} µs); wall clock ${fixed((gateway.large.bytesPerSec / nginx.large.bytesPerSec) * 100)}%`,
      },
    );
  }
  const calls = find(figures, 'token path', 'cached: upstream calls');
  const heap = find(figures, 'memory', 'heap allocated per token, uncached');
  const floorHeap = find(figures, 'memory', 'heap allocated per token, uncached, Node.js floor');
  const peak = find(figures, 'memory', 'RSS peak during the soak');
  const growth = find(figures, 'memory', 'RSS growth over the soak');
  results.push(
    {
      name: 'upstream calls with the cache <= 1 per 1,000 client requests (steady client)',
      met: calls <= 1,
      measured: `${fixed(calls, 3)} per 1,000 (3 replicas sharing Redis: test/cache/redis-token-cache.test.ts)`,
    },
    {
      name: 'heap allocated per re-issued token <= 25 KB',
      met: heap <= 25,
      measured: `${fixed(heap, 1)} KB (Node.js floor with the same HTTP legs and crypto: ${fixed(floorHeap, 1)} KB)`,
    },
    {
      name: 'RSS <= 150 MiB under load; < 10% growth over the soak',
      met: peak <= 150 && growth < 10,
      measured: `peak ${fixed(peak, 1)} MiB, growth ${fixed(growth, 1)}%`,
    },
  );
  return results;
}
