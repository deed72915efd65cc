/**
 * The JSON shape scan finds the end of each string with indexOf (a measured fast path, see
 * json-duplicates.ts). It must answer exactly as the plain character-by-character scan it
 * replaced, kept here as the reference, on any text: escaped quotes behind odd and even runs of
 * backslashes, escaped member names, unterminated strings, limits.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type JsonShapeLimits,
  type JsonShapeProblem,
  jsonShapeProblem,
} from '../../proxy/http/json-duplicates.js';

const UNLIMITED: JsonShapeLimits = {
  maxDepth: Number.POSITIVE_INFINITY,
  maxMembers: Number.POSITIVE_INFINITY,
};

/** The scan before the fast path, one character at a time. */
function referenceShapeProblem(
  text: string,
  limits: JsonShapeLimits = UNLIMITED,
): JsonShapeProblem | undefined {
  const open: Array<Set<string> | null> = [];
  let members = 0;
  let i = 0;
  while (i < text.length) {
    const code = text.charCodeAt(i);
    if (code === 0x22) {
      const start = i + 1;
      let escaped = false;
      i = start;
      while (i < text.length) {
        const inner = text.charCodeAt(i);
        if (inner === 0x22) break;
        if (inner === 0x5c) {
          escaped = true;
          i += 2;
        } else {
          i += 1;
        }
      }
      const end = Math.min(i, text.length);
      i = end + 1;
      const names = open[open.length - 1];
      if (!names) continue;
      let next = i;
      while (next < text.length && ' \t\n\r'.includes(text.charAt(next))) next++;
      if (next >= text.length || text.charCodeAt(next) !== 0x3a) continue;
      members += 1;
      if (members > limits.maxMembers) return { kind: 'too_many_members' };
      const raw = text.slice(start, end);
      let name = raw;
      if (escaped) {
        try {
          name = JSON.parse(`"${raw}"`) as string;
        } catch {
          name = raw;
        }
      }
      if (names.has(name)) return { kind: 'repeated', name };
      names.add(name);
      continue;
    }
    if (code === 0x7b || code === 0x5b) {
      open.push(code === 0x7b ? new Set() : null);
      if (open.length > limits.maxDepth) return { kind: 'too_deep' };
    } else if (code === 0x7d || code === 0x5d) {
      open.pop();
    }
    i += 1;
  }
  return undefined;
}

const jsonish = fc.string({
  unit: fc.constantFrom('"', '\\', '{', '}', '[', ']', ':', ',', 'a', 'b', ' ', 'u', '0', '6'),
  maxLength: 80,
});

describe('jsonShapeProblem', () => {
  it.each([
    ['{"a":1,"a":2}', { kind: 'repeated', name: 'a' }],
    ['{"a\\"":1,"a\\"":2}', { kind: 'repeated', name: 'a"' }],
    ['{"a\\\\":1,"a\\\\":2}', { kind: 'repeated', name: 'a\\' }],
    ['{"ab":1,"a\\u0062":2}', { kind: 'repeated', name: 'ab' }],
    ['{"x":"\\\\\\"","x":1}', { kind: 'repeated', name: 'x' }],
    ['{"x":"\\"","y":1}', undefined],
    ['{"a":{"a":1},"b":[{"a":1},{"a":2}]}', undefined],
    ['{"unterminated\\', undefined],
  ])('%s', (text, expected) => {
    expect(jsonShapeProblem(text)).toEqual(expected);
    expect(referenceShapeProblem(text)).toEqual(expected);
  });

  it('answers as the character-by-character scan on any text, with and without limits', () => {
    fc.assert(
      fc.property(jsonish, fc.integer({ min: 0, max: 4 }), (text, limit) => {
        expect(jsonShapeProblem(text)).toEqual(referenceShapeProblem(text));
        const limits = { maxDepth: limit, maxMembers: limit };
        expect(jsonShapeProblem(text, limits)).toEqual(referenceShapeProblem(text, limits));
      }),
      { numRuns: 3000 },
    );
  });

  it('answers as the reference on JSON documents with repeated members', () => {
    fc.assert(
      fc.property(fc.json(), fc.json(), (a, b) => {
        const text = `{"k":${a},"s\\"q":${b},"k":${b}}`;
        expect(jsonShapeProblem(text)).toEqual(referenceShapeProblem(text));
        expect(jsonShapeProblem(text)).toEqual({ kind: 'repeated', name: 'k' });
      }),
      { numRuns: 500 },
    );
  });

  it('stays linear on runs of escaped quotes', () => {
    const text = `{"a":"${'\\"'.repeat(200_000)}"}`;
    expect(jsonShapeProblem(text)).toBeUndefined();
    expect(jsonShapeProblem(`[${'"\\\\",'.repeat(100_000)}""]`)).toBeUndefined();
  });
});
