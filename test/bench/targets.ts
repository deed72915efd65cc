/**
 * The performance targets, checked against the figures of one run (ratios from the same run).
 * A target whose figures the run could not take (no nginx, a configuration without
 * `server.workers`) is "not measured", never met by default.
 */
import type { Throughput } from './run.js';
import type { Figure } from './table.js';

export type TargetState = 'met' | 'not met' | 'not measured';

export interface TargetResult {
  name: string;
  state: TargetState;
  measured: string;
}

/** The floors' rows (node-floor.ts): the undici floor is the one the targets compare with. */
export const UNDICI_FLOOR = 'Node.js floor (undici)';
export const HTTP_FLOOR = 'Node.js floor (http.request)';

/** One gateway configuration of the workers runs, on the whole machine. */
export interface WorkersFigures {
  /** Wall-clock uncached tokens per second, and CPU per token of the primary and its workers. */
  token: Throughput;
  /** Upstream token calls per 1,000 cached-client requests, starting from an empty cache. */
  coldCallsPerThousand: number;
  /** The largest resident set of one worker (or of the one process), MiB. */
  rssPerWorkerMiB: number;
}

export type WorkersRun =
  | { measured: true; placement: string; one: WorkersFigures; two: WorkersFigures }
  | { measured: false; reason: string };

export interface RunSummary {
  uncached: Throughput;
  cached: Throughput;
  /** The floors on the token path: the same HTTP legs and crypto, nothing else. */
  floorToken: { undici: Throughput; http: Throughput };
  /** The undici floor answering from a cache: request read, ES256 sign, answer written. */
  floorCached: Throughput;
  /** Keyed by row label: 'scopegate', 'nginx', UNDICI_FLOOR, HTTP_FLOOR, 'direct'. */
  passThrough: Record<string, { small: Throughput; large: Throughput }>;
  workers: WorkersRun;
}

/** Two workers "leave the CPU per token unchanged" within this factor of one worker's. */
export const UNCHANGED_CPU_FACTOR = 1.1;

function find(figures: readonly Figure[], section: string, name: string): number {
  const found = figures.find(
    (entry) => entry.section.startsWith(section) && entry.name.startsWith(name),
  );
  return found ? found.median : Number.NaN;
}

const fixed = (value: number, digits = 0) =>
  Number.isFinite(value) ? value.toFixed(digits) : 'n/a';

const stateOf = (met: boolean): TargetState => (met ? 'met' : 'not met');

/** Every figure a target reads must exist: a missing one is "not measured", not a pass. */
function checked(name: string, values: number[], met: () => boolean, measured: () => string) {
  if (values.some((value) => !Number.isFinite(value))) {
    return { name, state: 'not measured' as const, measured: 'a figure it needs is missing' };
  }
  return { name, state: stateOf(met()), measured: measured() };
}

/**
 * Rates are per CPU-second of the gateway (1e6 / CPU µs per request): one core's capacity, which
 * other load on a shared machine does not distort; wall-clock rates are in the table beside them.
 */
export function evaluateTargets(figures: readonly Figure[], run: RunSummary): TargetResult[] {
  const limit = find(figures, 'crypto limit', 'ES256 verify+sign, node:crypto');
  const uncached = 1e6 / run.uncached.cpuMicros;
  const cached = 1e6 / run.cached.cpuMicros;
  const undiciFloor = 1e6 / run.floorToken.undici.cpuMicros;
  const httpFloor = 1e6 / run.floorToken.http.cpuMicros;
  const results: TargetResult[] = [
    checked(
      'token re-issue uncached >= 80% of the undici floor and >= 35% of the node:crypto ES256 verify+sign limit',
      [uncached, undiciFloor, limit],
      () => uncached >= 0.8 * undiciFloor && uncached >= 0.35 * limit,
      () =>
        `${fixed(uncached)} tokens per CPU-second: ${fixed((uncached / undiciFloor) * 100)}% of the undici floor (${fixed(undiciFloor)}/s; http.request floor ${fixed(httpFloor)}/s), ${fixed((uncached / limit) * 100)}% of ${fixed(limit)}/s`,
    ),
    checked(
      'token re-issue from the upstream token cache >= 8,000 tokens per CPU-second',
      [cached],
      () => cached >= 8_000,
      () =>
        `${fixed(cached)} tokens per CPU-second (undici floor answering from a cache: ${fixed(1e6 / run.floorCached.cpuMicros)}/s)`,
    ),
  ];
  const nginx = run.passThrough.nginx;
  const gateway = run.passThrough.scopegate;
  const name = 'pass-through small >= 0.4x nginx per CPU-second';
  if (nginx && gateway) {
    const ratio = nginx.small.cpuMicros / gateway.small.cpuMicros;
    const floor = run.passThrough[UNDICI_FLOOR]?.small.cpuMicros ?? Number.NaN;
    results.push(
      checked(
        name,
        [ratio],
        () => ratio >= 0.4,
        () =>
          `${fixed(ratio, 2)}x (${fixed(gateway.small.cpuMicros, 1)} vs ${fixed(nginx.small.cpuMicros, 1)} µs CPU per request; undici floor ${fixed(floor, 1)} µs); wall clock ${fixed(gateway.small.rps / nginx.small.rps, 2)}x`,
      ),
    );
  } else {
    results.push({ name, state: 'not measured', measured: 'nginx is not installed' });
  }
  const p50 = find(figures, 'token latency, open loop 500 ', 'added p50');
  const p99 = find(figures, 'token latency, open loop 500 ', 'added p99');
  const soakPeak = find(figures, 'memory', 'RSS peak during the soak');
  results.push(
    checked(
      'added latency at 500 req/s: p50 <= 0.6 ms, p99 <= 2.5 ms',
      [p50, p99],
      () => p50 <= 0.6 && p99 <= 2.5,
      () => `p50 +${fixed(p50, 2)} ms, p99 +${fixed(p99, 2)} ms`,
    ),
  );
  results.push(...workerTargets(run.workers, soakPeak));
  return results;
}

function workerTargets(workers: WorkersRun, soakPeak: number): TargetResult[] {
  const names = {
    rss: 'RSS <= 150 MiB per worker',
    calls: 'upstream calls per 1,000 client requests with the cache, 2 workers <= 1',
    scaling: `2 workers >= 1.4x one worker's whole-machine token throughput, CPU per token within ${UNCHANGED_CPU_FACTOR}x`,
  };
  if (!workers.measured) {
    return [
      checked(
        names.rss,
        [soakPeak],
        () => soakPeak <= 150,
        () =>
          `one process: peak ${fixed(soakPeak, 1)} MiB over the soak; workers ${workers.reason}`,
      ),
      { name: names.calls, state: 'not measured', measured: workers.reason },
      { name: names.scaling, state: 'not measured', measured: workers.reason },
    ];
  }
  const { one, two, placement } = workers;
  const rss = Math.max(soakPeak, one.rssPerWorkerMiB, two.rssPerWorkerMiB);
  const speedup = two.token.rps / one.token.rps;
  const cpuFactor = two.token.cpuMicros / one.token.cpuMicros;
  return [
    checked(
      names.rss,
      [rss],
      () => rss <= 150,
      () =>
        `one process: peak ${fixed(soakPeak, 1)} MiB over the soak; largest worker ${fixed(Math.max(one.rssPerWorkerMiB, two.rssPerWorkerMiB), 1)} MiB`,
    ),
    checked(
      names.calls,
      [two.coldCallsPerThousand],
      () => two.coldCallsPerThousand <= 1,
      () =>
        `${fixed(two.coldCallsPerThousand, 2)} per 1,000 from an empty cache (1 worker: ${fixed(one.coldCallsPerThousand, 2)})`,
    ),
    checked(
      names.scaling,
      [speedup, cpuFactor],
      () => speedup >= 1.4 && cpuFactor <= UNCHANGED_CPU_FACTOR,
      () =>
        `${fixed(speedup, 2)}x (${fixed(two.token.rps)} vs ${fixed(one.token.rps)} tokens/s); CPU per token ${fixed(two.token.cpuMicros)} vs ${fixed(one.token.cpuMicros)} µs (${fixed(cpuFactor, 2)}x); ${placement}`,
    ),
  ];
}
