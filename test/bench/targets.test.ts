/**
 * The bench's target checks, on figures made up for each row: each target flips exactly at its
 * threshold, a figure the run could not take makes its target "not measured" (never met), and
 * what it prints names the floor it is compared with.
 */
import { describe, expect, it } from 'vitest';
import type { Throughput } from './run.js';
import { type Figure, figure } from './table.js';
import {
  evaluateTargets,
  HTTP_FLOOR,
  type RunSummary,
  type TargetResult,
  UNDICI_FLOOR,
  type WorkersRun,
} from './targets.js';

const cpu = (cpuMicros: number, rps = 1e6 / cpuMicros): Throughput => ({
  rps,
  bytesPerSec: rps * 1024 * 1024,
  cpuMicros,
});

interface Scenario {
  uncachedMicros: number;
  cachedMicros: number;
  undiciFloorMicros: number;
  limitPerSec: number;
  added: { p50at500: number; p99at500: number };
  passThroughSmallMicros: number;
  nginx: boolean;
  soakPeakMiB: number;
  workers: WorkersRun;
}

const WORKERS: WorkersRun = {
  measured: true,
  placement: 'all unpinned',
  one: { token: cpu(300, 3_000), coldCallsPerThousand: 1, rssPerWorkerMiB: 120 },
  two: { token: cpu(330, 4_200), coldCallsPerThousand: 1, rssPerWorkerMiB: 130 },
};

/** Every row exactly at its threshold: 80% of a 250 µs floor is 312.5 µs per token. */
const PASSING: Scenario = {
  uncachedMicros: 312.5,
  cachedMicros: 125,
  undiciFloorMicros: 250,
  limitPerSec: 9_000,
  added: { p50at500: 0.6, p99at500: 2.5 },
  passThroughSmallMicros: 100,
  nginx: true,
  soakPeakMiB: 150,
  workers: WORKERS,
};

function evaluate(scenario: Scenario): TargetResult[] {
  const figures: Figure[] = [
    figure('crypto limit (per CPU-second)', 'ES256 verify+sign, node:crypto', 'ops/s', [
      scenario.limitPerSec,
    ]),
    figure('token latency, open loop 500 req/s', 'added p50', 'ms', [scenario.added.p50at500]),
    figure('token latency, open loop 500 req/s', 'added p99', 'ms', [scenario.added.p99at500]),
    // The 1,000 req/s rows are in the table but bound no target.
    figure('token latency, open loop 1000 req/s', 'added p50', 'ms', [9]),
    figure('token latency, open loop 1000 req/s', 'added p99', 'ms', [90]),
    figure('memory', 'RSS peak during the soak', 'MiB', [scenario.soakPeakMiB]),
  ];
  const run: RunSummary = {
    uncached: cpu(scenario.uncachedMicros),
    cached: cpu(scenario.cachedMicros),
    floorToken: { undici: cpu(scenario.undiciFloorMicros), http: cpu(280) },
    floorCached: cpu(90),
    passThrough: {
      ...(scenario.nginx ? { nginx: { small: cpu(40), large: cpu(1_000) } } : {}),
      scopegate: { small: cpu(scenario.passThroughSmallMicros), large: cpu(9_000) },
      [UNDICI_FLOOR]: { small: cpu(60), large: cpu(2_000) },
      [HTTP_FLOOR]: { small: cpu(80), large: cpu(3_000) },
    },
    workers: scenario.workers,
  };
  return evaluateTargets(figures, run);
}

const notMet = (results: TargetResult[]) =>
  results.filter((result) => result.state !== 'met').map((result) => result.name);

describe('bench targets', () => {
  it('are all met by a run that meets each threshold exactly', () => {
    const results = evaluate(PASSING);
    expect(results).toHaveLength(7);
    expect(notMet(results)).toEqual([]);
  });

  it.each<[string, Partial<Scenario>, RegExp]>([
    [
      'uncached: below 80% of the undici floor',
      { uncachedMicros: 313 },
      /^token re-issue uncached/,
    ],
    ['uncached: below 35% of the crypto limit', { limitPerSec: 9_200 }, /^token re-issue uncached/],
    ['cached rate', { cachedMicros: 126 }, /^token re-issue from the upstream token cache/],
    [
      'p50 at 500 req/s',
      { added: { ...PASSING.added, p50at500: 0.61 } },
      /^added latency at 500 req\/s/,
    ],
    [
      'p99 at 500 req/s',
      { added: { ...PASSING.added, p99at500: 2.51 } },
      /^added latency at 500 req\/s/,
    ],
    ['pass-through small', { passThroughSmallMicros: 101 }, /^pass-through small/],
    ['RSS of the one process', { soakPeakMiB: 151 }, /^RSS <= 150 MiB per worker/],
    [
      'RSS of a worker',
      { workers: { ...WORKERS, two: { ...WORKERS.two, rssPerWorkerMiB: 151 } } },
      /^RSS <= 150 MiB per worker/,
    ],
    [
      'upstream calls with 2 workers',
      { workers: { ...WORKERS, two: { ...WORKERS.two, coldCallsPerThousand: 2 } } },
      /^upstream calls per 1,000 client requests with the cache, 2 workers/,
    ],
    [
      'speed-up of 2 workers',
      { workers: { ...WORKERS, two: { ...WORKERS.two, token: cpu(330, 4_199) } } },
      /^2 workers >= 1.4x/,
    ],
    [
      'CPU per token with 2 workers',
      { workers: { ...WORKERS, two: { ...WORKERS.two, token: cpu(331, 4_200) } } },
      /^2 workers >= 1.4x/,
    ],
  ])('fails only the target a run misses: %s', (_label, change, failing) => {
    expect(notMet(evaluate({ ...PASSING, ...change }))).toEqual([expect.stringMatching(failing)]);
  });

  it('says "not measured", never met, for the workers rows of a gateway without server.workers', () => {
    const reason = 'not measured: server.workers unsupported (the configuration was refused)';
    const results = evaluate({ ...PASSING, workers: { measured: false, reason } });
    const unmeasured = results.filter((result) => result.state === 'not measured');
    expect(unmeasured.map((result) => result.name)).toEqual([
      expect.stringMatching(/^upstream calls per 1,000/),
      expect.stringMatching(/^2 workers >= 1.4x/),
    ]);
    expect(unmeasured.every((result) => result.measured === reason)).toBe(true);
    // The one process's RSS is still checked.
    expect(results.find((result) => result.name.startsWith('RSS'))?.state).toBe('met');
  });

  it('says "not measured" for the pass-through target without nginx, and for a missing figure', () => {
    const withoutNginx = evaluate({ ...PASSING, nginx: false });
    expect(withoutNginx.find((result) => result.name.startsWith('pass-through'))?.state).toBe(
      'not measured',
    );
    const noLatency = evaluate({ ...PASSING, added: { p50at500: Number.NaN, p99at500: 1 } });
    expect(noLatency.find((result) => result.name.startsWith('added latency'))?.state).toBe(
      'not measured',
    );
  });

  it('names the floors beside the figures they bound', () => {
    const measured = evaluate(PASSING).map((result) => result.measured);
    expect(measured[0]).toContain('80% of the undici floor (4000/s; http.request floor 3571/s)');
    expect(measured[1]).toContain('undici floor answering from a cache: 11111/s');
    expect(measured[2]).toContain('undici floor 60.0 µs');
  });
});
