/**
 * Item 9: no work superlinear in what a client sends. The bench's adversarial bodies
 * (test/bench/hostile-input-bench.ts) must cost about what a plain body of the same size and
 * kind does: within a factor of 10 here (the bench shows about 1–2), which a quadratic parser
 * misses by orders of magnitude. Medians of several runs; no absolute time is asserted.
 * Also: the limits that make hostile bodies cheap, and the form parser against URLSearchParams.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_REQUESTED_SCOPES,
  requestedScopesOf,
} from '../../proxy/endpoints/token/token-request.js';
import { MAX_PARAMETERS, parseTokenRequestBody } from '../../proxy/http/body.js';
import { parseFormPairs } from '../../proxy/http/form-urlencoded.js';
import { OAuthError } from '../../proxy/http/oauth-error.js';
import { benchInputs, parseLikeTheGateway } from '../bench/hostile-input-bench.js';

const SIZE = 256 * 1024;
const FACTOR = 10;

function medianMs(action: () => void, rounds = 7): number {
  action();
  const samples: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const started = process.hrtime.bigint();
    action();
    samples.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)] as number;
}

describe('adversarial bodies cost about what plain ones do', () => {
  const inputs = benchInputs(SIZE);
  const plain = new Map(
    inputs.filter((input) => input.name.startsWith('plain')).map((input) => [input.kind, input]),
  );
  it.each(inputs.filter((input) => !input.name.startsWith('plain')))('$name', (input) => {
    const base = plain.get(input.kind);
    if (!base) throw new Error(`no plain ${input.kind} input`);
    expect(input.text.length).toBeGreaterThan(SIZE * 0.9);
    const plainMs = medianMs(() => parseLikeTheGateway(base));
    const hostileMs = medianMs(() => parseLikeTheGateway(input));
    // A few ms of slack so that scheduling noise on tiny timings cannot fail the ratio.
    expect(hostileMs).toBeLessThan(FACTOR * plainMs + 5);
  });
});

function refusal(action: () => unknown): OAuthError {
  try {
    action();
  } catch (error) {
    if (error instanceof OAuthError) return error;
    throw error;
  }
  throw new Error('expected an OAuth error');
}

describe('the limits that keep hostile bodies cheap', () => {
  const form = (count: number) =>
    Buffer.from(Array.from({ length: count }, (_, i) => `p${i}=v`).join('&'));
  const json = (count: number) =>
    Buffer.from(`{${Array.from({ length: count }, (_, i) => `"p${i}":"v"`).join(',')}}`);

  it.each([
    ['form', form],
    ['json', json],
  ] as const)(
    `%s: ${MAX_PARAMETERS} parameters pass, one more is invalid_request`,
    (kind, make) => {
      expect(parseTokenRequestBody(make(MAX_PARAMETERS), kind).params.size).toBe(MAX_PARAMETERS);
      const error = refusal(() => parseTokenRequestBody(make(MAX_PARAMETERS + 1), kind));
      expect([error.error, error.status]).toEqual(['invalid_request', 400]);
    },
  );

  it('refuses repeated resources past the limit too', () => {
    const text = Array.from({ length: MAX_PARAMETERS + 1 }, () => 'resource=https://r').join('&');
    expect(refusal(() => parseTokenRequestBody(Buffer.from(text), 'form')).error).toBe(
      'invalid_request',
    );
  });

  it('refuses deep JSON nesting before parsing it', () => {
    const text = `{"x":${'['.repeat(100)}${']'.repeat(100)}}`;
    const error = refusal(() => parseTokenRequestBody(Buffer.from(text), 'json'));
    expect(error.description).toBe('request body nests too deeply');
  });

  it(`takes ${MAX_REQUESTED_SCOPES} scopes and refuses more as invalid_scope`, () => {
    const scopes = (count: number) =>
      new Map([['scope', Array.from({ length: count }, (_, i) => `s${i}`).join(' ')]]);
    expect(requestedScopesOf(scopes(MAX_REQUESTED_SCOPES))).toHaveLength(MAX_REQUESTED_SCOPES);
    const error = refusal(() => requestedScopesOf(scopes(MAX_REQUESTED_SCOPES + 1)));
    expect([error.error, error.status]).toEqual(['invalid_scope', 400]);
  });
});

/**
 * The same form with every byte outside ASCII percent-escaped: identical by the standard (the
 * parser works on bytes), and the form Node 20's URLSearchParams reads correctly. Given raw
 * non-ASCII before an escape it does not: `é%aa` gives one U+FFFD, dropping the é, and `😀%aa`
 * gives a NUL.
 */
function asciiOnly(bytes: Uint8Array): string {
  return [...bytes]
    .map((byte) =>
      // `?` too: URLSearchParams drops a leading one (a query's), the form parser does not.
      byte < 0x80 && byte !== 0x3f
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).padStart(2, '0')}`,
    )
    .join('');
}

describe('the form parser reads what URLSearchParams reads', () => {
  const formText = fc.string({
    unit: fc.constantFrom(
      'a',
      'é',
      '%',
      '2',
      'B',
      'f',
      'G',
      '+',
      '&',
      '=',
      ' ',
      '\u{1F600}',
      '\uD800',
    ),
    maxLength: 40,
  });

  it('on any text (escapes valid or not, UTF-8 valid or not)', () => {
    fc.assert(
      fc.property(formText, (text) => {
        const bytes = Buffer.from(text);
        expect(parseFormPairs(bytes)).toEqual([...new URLSearchParams(asciiOnly(bytes))]);
      }),
      { numRuns: 1000 },
    );
  });

  it('on raw bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        const pairs = parseFormPairs(bytes);
        // The bytes as URLSearchParams reads them correctly: non-ASCII bytes percent-escaped.
        expect(pairs).toEqual([...new URLSearchParams(asciiOnly(bytes))]);
      }),
      { numRuns: 3000 },
    );
  });
});
