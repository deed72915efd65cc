/**
 * Benchmark (not a test): one scope decision with 200 configured templates, a token granting 200
 * templates, and 20 requested concrete scopes. It measures, in the same run:
 * - baseline: a plain Set intersection of requested and granted (exact down-scoping, no wildcards,
 *   no policies): the floor any decision costs;
 * - uncached: the full decision (coverage by templates, every matching policy, validators);
 * - cached: the decision-cache hit path (key built from the whole input, then a lookup).
 * Bounded iterations; a run takes a few seconds.
 *
 *   npm run bench   or   node dist/test/bench/decision-bench.js   (after npm run build)
 */
import { pathToFileURL } from 'node:url';
import type { ScopePolicyConfig } from '../../config/schema.js';
import { CachingDecider } from '../../proxy/runtime/decision-cache.js';
import { type DecisionInput, ScopeDecider } from '../../proxy/scope/decider.js';
import { ScopePolicies } from '../../proxy/scope/policies.js';

const TEMPLATES = 200;
const REQUESTED = 20;
const ROUNDS = 5;

export interface BenchFigure {
  name: string;
  iterations: number;
  /** Median over the rounds. */
  microsPerOp: number;
  opsPerSec: number;
}

function policies(): ScopePolicyConfig[] {
  const out: ScopePolicyConfig[] = [];
  for (let index = 0; index < TEMPLATES; index++) {
    const service = `svc${index % 40}`;
    const kind = index % 4;
    if (kind === 0) {
      out.push({
        template: `${service}.r${index}.*.*`,
        grant_types: ['client_credentials'],
        params: [{ enum: ['read', 'list', 'write'] }, { pattern: '^[0-9]{1,12}$' }],
      });
    } else if (kind === 1) {
      out.push({ template: `${service}.r${index}.*`, clients: ['bench-client', 'other'] });
    } else if (kind === 2) {
      out.push({ template: `${service}.r${index}.*`, params: [{ claim: 'tenants' }] });
    } else {
      out.push({ template: `*.r${index}.audit` });
    }
  }
  return out;
}

function input(): DecisionInput {
  const granted: string[] = [];
  for (let index = 0; index < TEMPLATES; index++) {
    granted.push(
      index % 4 === 0 ? `svc${index % 40}.r${index}.*.*` : `svc${index % 40}.r${index}.*`,
    );
  }
  const requested: string[] = [];
  for (let index = 0; index < REQUESTED; index++) {
    const policy = index * 10;
    const service = `svc${policy % 40}`;
    const kind = policy % 4;
    if (kind === 0) requested.push(`${service}.r${policy}.read.${1000 + index}`);
    else if (kind === 2) requested.push(`${service}.r${policy}.t-${index % 3}`);
    else requested.push(`${service}.r${policy}.x${index}`);
  }
  return {
    granted,
    requested,
    clientId: 'bench-client',
    grantType: 'client_credentials',
    audience: ['https://api.example.com'],
    claims: { tenants: ['t-0', 't-1', 't-2'], sub: 'bench-client@clients' },
  };
}

/** A sink the optimizer cannot see through. */
let sink = 0;

function measure(name: string, iterations: number, run: () => number): BenchFigure {
  for (let index = 0; index < Math.min(iterations, 1000); index++) sink += run();
  const rounds: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const started = process.hrtime.bigint();
    for (let index = 0; index < iterations; index++) sink += run();
    rounds.push(Number(process.hrtime.bigint() - started) / 1000 / iterations);
  }
  rounds.sort((a, b) => a - b);
  const microsPerOp = rounds[Math.floor(ROUNDS / 2)] as number;
  return { name, iterations, microsPerOp, opsPerSec: 1e6 / microsPerOp };
}

function format(figure: BenchFigure): string {
  const micros = figure.microsPerOp.toFixed(figure.microsPerOp < 10 ? 3 : 1).padStart(10);
  const ops = Math.round(figure.opsPerSec).toLocaleString('en-US').padStart(12);
  return `  ${figure.name.padEnd(38)} ${micros} µs/op ${ops} ops/s   (${ROUNDS} rounds × ${figure.iterations.toLocaleString('en-US')})`;
}

/** `scale` shrinks every iteration count (the quick benchmark uses a fraction). */
export function runDecisionBench(
  write: (line: string) => void = console.log,
  scale = 1,
): BenchFigure[] {
  const count = (iterations: number) => Math.max(20, Math.round(iterations * scale));
  const config = policies();
  const decisionInput = input();
  const decider = new ScopeDecider(new ScopePolicies(config));
  const check = decider.decide(decisionInput);
  if (check.issued.length !== REQUESTED) {
    throw new Error(`benchmark input is wrong: ${check.issued.length} of ${REQUESTED} issued`);
  }

  const granted = new Set(decisionInput.granted);
  const requested = decisionInput.requested ?? [];
  const baseline = measure('baseline: Set intersection', count(200_000), () => {
    let issued = 0;
    for (const scope of requested) if (granted.has(scope)) issued += 1;
    return issued;
  });
  const uncached = measure(
    'decision, uncached (cache miss)',
    count(5_000),
    () => decider.decide(decisionInput).issued.length,
  );
  const cache = new CachingDecider(decider, { generation: 1, maxEntries: 10_000, ttlMs: 300_000 });
  const cached = measure(
    'decision, cached (hit, key included)',
    count(50_000),
    () => cache.decide(decisionInput).issued.length,
  );
  const compile = measure(
    'compile 200 policies (config load)',
    count(200),
    () => new ScopePolicies(config).size,
  );

  write(
    `scope decision: ${TEMPLATES} configured templates, ${TEMPLATES} granted, ${REQUESTED} requested (node ${process.version})`,
  );
  for (const figure of [baseline, uncached, cached, compile]) write(format(figure));
  write(
    `  cached vs uncached:        ${(uncached.microsPerOp / cached.microsPerOp).toFixed(1)}× faster`,
  );
  write(
    `  uncached vs Set baseline:  ${(uncached.microsPerOp / baseline.microsPerOp).toFixed(0)}× slower`,
  );
  write(
    `  cached vs Set baseline:    ${(cached.microsPerOp / baseline.microsPerOp).toFixed(0)}× slower`,
  );
  if (sink === -1) write('');
  return [baseline, uncached, cached, compile];
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runDecisionBench();
}
