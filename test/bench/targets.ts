/**
 * The targets, checked against the figures of one run (ratios from the same run).
 */
import type { Figure } from './table.js';

export interface TargetResult {
  name: string;
  met: boolean;
  measured: string;
}

export interface RunSummary {
  uncachedTokensPerSec: number;
  cachedTokensPerSec: number;
  passThrough: Record<string, { small: number; large: number }>;
}

function find(figures: readonly Figure[], section: string, name: string): number {
  const found = figures.find(
    (entry) => entry.section.startsWith(section) && entry.name.startsWith(name),
  );
  return found ? found.median : Number.NaN;
}

const fixed = (value: number, digits = 0) =>
  Number.isFinite(value) ? value.toFixed(digits) : 'n/a';

export function evaluateTargets(figures: readonly Figure[], run: RunSummary): TargetResult[] {
  const limit = find(figures, 'crypto limit', 'ES256 verify+sign, node:crypto');
  const share = run.uncachedTokensPerSec / limit;
  const nginx = run.passThrough.nginx;
  const gateway = run.passThrough.scopegate;
  const results: TargetResult[] = [
    {
      name: 'token re-issue uncached >= 5,000 tokens/s ES256 and >= 50% of the node:crypto verify+sign limit',
      met: run.uncachedTokensPerSec >= 5000 && share >= 0.5,
      measured: `${fixed(run.uncachedTokensPerSec)} tokens/s, ${fixed(share * 100)}% of ${fixed(limit)}/s`,
    },
    {
      name: 'token re-issue from the cache >= 12,000 tokens/s ES256',
      met: run.cachedTokensPerSec >= 12_000,
      measured: `${fixed(run.cachedTokensPerSec)} tokens/s`,
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
    results.push(
      {
        name: "pass-through small >= 50% of nginx's req/s",
        met: gateway.small >= 0.5 * nginx.small,
        measured: `${fixed((gateway.small / nginx.small) * 100)}% (${fixed(gateway.small)} vs ${fixed(nginx.small)} req/s)`,
      },
      {
        name: "pass-through 1 MiB >= 80% of nginx's throughput",
        met: gateway.large >= 0.8 * nginx.large,
        measured: `${fixed((gateway.large / nginx.large) * 100)}% (${fixed(gateway.large / 1e6)} vs ${fixed(nginx.large / 1e6)} MB/s)`,
      },
    );
  }
  const calls = find(figures, 'token path', 'cached (upstream token cache hit): upstream calls');
  const heap = find(figures, 'memory', 'heap allocated per token, uncached');
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
      measured: `${fixed(heap, 1)} KB`,
    },
    {
      name: 'RSS <= 150 MiB under load; < 10% growth over the soak',
      met: peak <= 150 && growth < 10,
      measured: `peak ${fixed(peak, 1)} MiB, growth ${fixed(growth, 1)}%`,
    },
  );
  return results;
}
