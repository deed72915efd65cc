/**
 * What a 1 MiB adversarial token request body costs next to a plain 1 MiB one: body parsing
 * (form and JSON, with repeated-member detection) and scope parsing, the work a client controls
 * before anything reaches the upstream. Prints one line per input with its median time and its
 * ratio to the plain body of the same kind. Standalone:
 *
 *   npx tsc -p tsconfig.json && node dist/test/bench/hostile-input-bench.js [size-in-KiB]
 */
import { performance } from 'node:perf_hooks';
import { requestedScopesOf } from '../../proxy/endpoints/token/token-request.js';
import { type BodyKind, parseTokenRequestBody } from '../../proxy/http/body.js';
import { OAuthError } from '../../proxy/http/oauth-error.js';

const ROUNDS = 9;

/** Repeats `unit` to fill `size` bytes (after `prefix`), then closes with `suffix`. */
function fill(size: number, prefix: string, unit: string, suffix = ''): string {
  const count = Math.max(0, Math.floor((size - prefix.length - suffix.length) / unit.length));
  return `${prefix}${unit.repeat(count)}${suffix}`;
}

function distinct(
  size: number,
  prefix: string,
  make: (i: number) => string,
  separator: string,
  suffix = '',
): string {
  const parts: string[] = [];
  let length = prefix.length + suffix.length;
  for (let i = 0; length < size; i++) {
    const part = make(i);
    parts.push(part);
    length += part.length + separator.length;
  }
  return `${prefix}${parts.join(separator)}${suffix}`;
}

export interface BenchInput {
  name: string;
  kind: BodyKind;
  text: string;
}

/** Bodies of about `size` bytes: a plain one of each kind first, then adversarial ones. */
export function benchInputs(size: number): BenchInput[] {
  return [
    {
      name: 'plain form (one long value)',
      kind: 'form',
      text: fill(size, 'grant_type=client_credentials&x=', 'a'),
    },
    {
      name: 'form: percent-escapes everywhere',
      kind: 'form',
      text: fill(size, 'grant_type=client_credentials&x=', '%41'),
    },
    {
      name: 'form: distinct parameters',
      kind: 'form',
      text: distinct(size, '', (i) => `p${i}=v`, '&'),
    },
    {
      name: 'form: scope of distinct tokens',
      kind: 'form',
      text: distinct(size, 'scope=', (i) => `s${i}`, '+'),
    },
    {
      name: 'form: scope of 1000 long distinct tokens',
      kind: 'form',
      text: `scope=${Array.from({ length: 1000 }, (_, i) => `${i}.`.padEnd(Math.floor(size / 1001), 'x')).join('+')}`,
    },
    { name: 'form: scope of one repeated token', kind: 'form', text: fill(size, 'scope=a', '+a') },
    {
      name: 'plain json (one long value)',
      kind: 'json',
      text: fill(size, '{"grant_type":"client_credentials","x":"', 'a', '"}'),
    },
    {
      name: 'json: escaped quotes in a value',
      kind: 'json',
      text: fill(size, '{"x":"', '\\"', '"}'),
    },
    { name: 'json: unclosed string of escaped quotes', kind: 'json', text: fill(size, '"', '\\"') },
    {
      name: 'json: distinct members',
      kind: 'json',
      text: distinct(size, '{', (i) => `"k${i}":"v"`, ',', '}'),
    },
    {
      name: 'json: members spelled with \\u escapes',
      kind: 'json',
      text: distinct(size, '{', (i) => `"\\u006b${i}":1`, ',', '}'),
    },
    { name: 'json: deep nesting', kind: 'json', text: `{"x":${fill(size, '', '[')}}` },
    {
      name: 'json: scope of distinct tokens',
      kind: 'json',
      text: distinct(size, '{"scope":"', (i) => `s${i}`, ' ', '"}'),
    },
  ];
}

/** Parses the body and, when present, its scope: what readTokenRequest does with it. */
export function parseLikeTheGateway(input: BenchInput): void {
  try {
    const body = parseTokenRequestBody(Buffer.from(input.text), input.kind);
    requestedScopesOf(body.params);
  } catch (error) {
    if (!(error instanceof OAuthError)) throw error;
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

function measure(input: BenchInput): number {
  const samples: number[] = [];
  parseLikeTheGateway(input);
  for (let round = 0; round < ROUNDS; round++) {
    const started = performance.now();
    parseLikeTheGateway(input);
    samples.push(performance.now() - started);
  }
  return median(samples);
}

function main(): void {
  const size = Number(process.argv[2] ?? 1024) * 1024;
  const inputs = benchInputs(size);
  const plain: Partial<Record<BodyKind, number>> = {};
  console.log(`token request bodies of ${(size / 1024).toFixed(0)} KiB, median of ${ROUNDS} runs`);
  for (const input of inputs) {
    const ms = measure(input);
    if (input.name.startsWith('plain')) plain[input.kind] = ms;
    const base = plain[input.kind];
    const ratio = base ? (ms / base).toFixed(1) : '-';
    console.log(
      `${input.name.padEnd(44)} ${ms.toFixed(2).padStart(9)} ms   x${ratio} plain ${input.kind}`,
    );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) main();
