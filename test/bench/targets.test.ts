/**
 * The bench's target checks, on figures made up for each row: each target flips exactly at its
 * threshold, and what it prints names the floor it is compared with.
 */
import { describe, expect, it } from 'vitest';
import type { Throughput } from './run.js';
import { type Figure, figure } from './table.js';
import { evaluateTargets, NODE_FLOOR, type RunSummary } from './targets.js';

const cpu = (cpuMicros: number, rps = 1e6 / cpuMicros): Throughput => ({
  rps,
  bytesPerSec: rps * 1024 * 1024,
  cpuMicros,
});

interface Scenario {
  uncachedMicros: number;
  cachedMicros: number;
  limitPerSec: number;
  added: { p50at500: number; p99at500: number; p99at1000: number };
  passThroughMicros: { small: number; large: number };
  callsPerThousand: number;
  heapKb: number;
  rss: { peak: number; growth: number };
}

const PASSING: Scenario = {
  uncachedMicros: 190,
  cachedMicros: 80,
  limitPerSec: 10_000,
  added: { p50at500: 0.4, p99at500: 1.9, p99at1000: 2.9 },
  passThroughMicros: { small: 70, large: 1_100 },
  callsPerThousand: 0.5,
  heapKb: 24,
  rss: { peak: 140, growth: 5 },
};

function evaluate(scenario: Scenario) {
  const figures: Figure[] = [
    figure('crypto limit (per CPU-second)', 'ES256 verify+sign, node:crypto', 'ops/s', [
      scenario.limitPerSec,
    ]),
    figure('token latency, open loop 500 req/s', 'added p50', 'ms', [scenario.added.p50at500]),
    figure('token latency, open loop 500 req/s', 'added p99', 'ms', [scenario.added.p99at500]),
    figure('token latency, open loop 1000 req/s', 'added p50', 'ms', [1]),
    figure('token latency, open loop 1000 req/s', 'added p99', 'ms', [scenario.added.p99at1000]),
    figure('token path', 'cached: upstream calls per 1,000 client requests', 'calls', [
      scenario.callsPerThousand,
    ]),
    figure('memory', 'heap allocated per token, uncached', 'KB', [scenario.heapKb]),
    figure('memory', 'heap allocated per token, uncached, Node.js floor', 'KB', [31]),
    figure('memory', 'RSS peak during the soak', 'MiB', [scenario.rss.peak]),
    figure('memory', 'RSS growth over the soak', '%', [scenario.rss.growth]),
  ];
  const run: RunSummary = {
    uncached: cpu(scenario.uncachedMicros),
    cached: cpu(scenario.cachedMicros),
    floorToken: cpu(240),
    floorCached: cpu(90),
    passThrough: {
      nginx: { small: cpu(35), large: cpu(1_000) },
      scopegate: {
        small: cpu(scenario.passThroughMicros.small),
        large: cpu(scenario.passThroughMicros.large),
      },
      [NODE_FLOOR]: { small: cpu(85), large: cpu(3_000) },
    },
  };
  return evaluateTargets(figures, run);
}

describe('bench targets', () => {
  it('are all met by a run that meets each threshold', () => {
    const results = evaluate(PASSING);
    expect(results).toHaveLength(9);
    expect(results.filter((result) => !result.met).map((result) => result.name)).toEqual([]);
  });

  it.each<[string, Partial<Scenario>, RegExp]>([
    ['uncached rate', { uncachedMicros: 201 }, /^token re-issue uncached/],
    ['share of the crypto limit', { limitPerSec: 10_600 }, /^token re-issue uncached/],
    ['cached rate', { cachedMicros: 84 }, /^token re-issue from the cache/],
    [
      'p50 at 500 req/s',
      { added: { ...PASSING.added, p50at500: 0.51 } },
      /^added latency at 500 req\/s/,
    ],
    [
      'p99 at 1,000 req/s',
      { added: { ...PASSING.added, p99at1000: 3.1 } },
      /^added latency at 1,000 req\/s/,
    ],
    [
      'pass-through small',
      { passThroughMicros: { small: 71, large: 1_100 } },
      /^pass-through small/,
    ],
    [
      'pass-through 1 MiB',
      { passThroughMicros: { small: 70, large: 1_300 } },
      /^pass-through 1 MiB/,
    ],
    ['upstream calls', { callsPerThousand: 1.5 }, /^upstream calls with the cache/],
    ['heap per token', { heapKb: 26 }, /^heap allocated per re-issued token/],
    ['RSS peak', { rss: { peak: 151, growth: 5 } }, /^RSS <= 150 MiB/],
    ['RSS growth', { rss: { peak: 140, growth: 10 } }, /^RSS <= 150 MiB/],
  ])('fails only the target a run misses: %s', (_label, change, failing) => {
    const missed = evaluate({ ...PASSING, ...change }).filter((result) => !result.met);
    expect(missed.map((result) => result.name)).toEqual([expect.stringMatching(failing)]);
  });

  it('names the Node.js floors beside the figures they bound', () => {
    const measured = evaluate(PASSING).map((result) => result.measured);
    expect(
      measured.find((text) =>
        text.includes('Node.js floor with the same HTTP legs and crypto: 4167/s'),
      ),
    ).toBeDefined();
    expect(
      measured.find((text) => text.includes('Node.js floor answering from a cache: 11111/s')),
    ).toBeDefined();
    expect(
      measured.find((text) =>
        text.includes('Node.js floor with the same HTTP legs and crypto: 31.0 KB'),
      ),
    ).toBeDefined();
  });
});
