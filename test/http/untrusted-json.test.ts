/**
 * Untrusted JSON (proxy/http/untrusted-json.ts): the same values as JSON.parse, every object
 * without a prototype, `__proto__` members refused at any depth; properties over arbitrary JSON.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  parseUntrustedJson,
  UntrustedJsonRefused,
  withoutPrototypes,
} from '../../proxy/http/untrusted-json.js';

function objectsIn(value: unknown): object[] {
  if (typeof value !== 'object' || value === null) return [];
  const children = Array.isArray(value) ? value : Object.values(value);
  return [...(Array.isArray(value) ? [] : [value]), ...children.flatMap(objectsIn)];
}

const PROTO_SPELLINGS = ['"__proto__"', '"\\u005f_proto__"', '"__prot\\u006f__"'];

describe('parseUntrustedJson', () => {
  it('reads what JSON.parse reads, with no prototype on any object', () => {
    fc.assert(
      fc.property(fc.json(), (text) => {
        let parsed: unknown;
        try {
          parsed = parseUntrustedJson(text);
        } catch (error) {
          // fc.json() may itself write a __proto__ key: then, and only then, it is refused.
          expect(error).toBeInstanceOf(UntrustedJsonRefused);
          expect(text).toContain('__proto__');
          return;
        }
        expect(JSON.stringify(parsed)).toBe(JSON.stringify(JSON.parse(text)));
        for (const object of objectsIn(parsed)) expect(Object.getPrototypeOf(object)).toBeNull();
      }),
    );
  });

  it.each(PROTO_SPELLINGS)('refuses a %s member at any depth', (name) => {
    fc.assert(
      fc.property(fc.nat({ max: 20 }), fc.jsonValue(), (depth, inner) => {
        const text = `${'{"a":['.repeat(depth)}{${name}:${JSON.stringify(inner)}}${']}'.repeat(depth)}`;
        expect(() => parseUntrustedJson(text)).toThrow(UntrustedJsonRefused);
      }),
    );
  });

  it('makes constructor, prototype, toString and hasOwnProperty plain data', () => {
    const parsed = parseUntrustedJson(
      '{"constructor":{"prototype":{"polluted":1}},"toString":1,"hasOwnProperty":2}',
    ) as Record<string, unknown>;
    const copy: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(parsed)) copy[name] = value;
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(parsed.toString).toBe(1);
    expect(Object.keys(parsed)).toEqual(['constructor', 'toString', 'hasOwnProperty']);
  });

  it('refuses text that is not JSON, and survives nesting as deep as JSON.parse allows', () => {
    expect(() => parseUntrustedJson('{"a":')).toThrow(UntrustedJsonRefused);
    const deep = `${'['.repeat(100_000)}{}${']'.repeat(100_000)}`;
    expect(() => parseUntrustedJson(deep)).not.toThrow();
  });

  it('takes the prototype off values a library parsed (a verified JWT payload)', () => {
    const payload = withoutPrototypes({ sub: 'a', address: { country: 'FR' }, amr: [{ x: 1 }] });
    expect(Object.getPrototypeOf(payload)).toBeNull();
    expect(Object.getPrototypeOf(payload.address)).toBeNull();
    expect(Object.getPrototypeOf(payload.amr[0])).toBeNull();
  });
});
