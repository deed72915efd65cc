/**
 * Runs every benchmark in test/bench, one after another (`npm run bench`). Benchmarks print
 * figures; they assert nothing about timings, which depend on the machine.
 */
import { runDecisionBench } from './decision-bench.js';
import { runTokenPathBench } from './token-path-bench.js';

const BENCHMARKS: ReadonlyArray<[name: string, run: () => unknown]> = [
  ['decision', () => runDecisionBench()],
  ['token path', () => runTokenPathBench()],
];

for (const [name, run] of BENCHMARKS) {
  const started = Date.now();
  await run();
  console.log(`(${name}: ${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
}
