import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  compileGrant,
  compileTemplate,
  isDynamicTemplate,
  templateSyntaxError,
} from '../../proxy/scope/template.js';
import { contains, overlaps } from '../../proxy/scope/template-relations.js';

/** design.md, "Dynamic scope matching": normative (the Cloudentity documentation's table). */
const NORMATIVE: ReadonlyArray<[template: string, scope: string, match: boolean]> = [
  ['accounts.*', 'accounts.read', true],
  ['accounts.*', 'accounts.read.foo', true],
  ['accounts.read', 'accounts.read', true],
  ['accounts', 'accounts.read', false],
  ['accounts.read.*', 'accounts.read', false],
  ['accounts.*.*', 'accounts.read', false],
  ['accounts.*.*', 'accounts.read.own', true],
  ['accounts.*.*', 'accounts.read.own.other', true],
  ['accounts.read.*', 'accounts.read.own', true],
  ['accounts.read.*', 'accounts.read.own.other', true],
  ['accounts.write.*', 'accounts.read.own', false],
  ['accounts.*.bar', 'accounts.baz.bar', true],
  ['accounts.*.bar', 'accounts.baz.baz.bar', false],
];

describe('template matching: the normative table', () => {
  it.each(NORMATIVE)('%s on %s → %s', (template, scope, expected) => {
    expect(compileTemplate(template).match(scope) !== null).toBe(expected);
  });
});

const longId = '9'.repeat(10_000);

/** [template, scope, params or null] */
const EDGE_CASES: ReadonlyArray<[string, string, string[] | null]> = [
  // parameters, the trailing wildcard capturing the joined rest
  ['accounts.*.*', 'accounts.read.own.other', ['read', 'own.other']],
  ['accounts.*', 'accounts.read.foo', ['read.foo']],
  ['accounts.*.bar', 'accounts.baz.bar', ['baz']],
  ['accounts.read', 'accounts.read', []],
  // a template that is only `*` matches every scope of one or more non-empty segments
  ['*', 'accounts', ['accounts']],
  ['*', 'accounts.read.1', ['accounts.read.1']],
  ['*', 'read:claims', ['read:claims']],
  ['*', '.accounts', null],
  ['*', 'accounts.', null],
  ['*.read', 'accounts.read', ['accounts']],
  ['*.read', 'read', null],
  // empty segments are never matched by a wildcard
  ['accounts.*', 'accounts.', null],
  ['accounts.*', 'accounts..read', null],
  ['accounts.*', 'accounts.read.', null],
  ['accounts.*.bar', 'accounts..bar', null],
  ['accounts.*', 'accounts', null],
  // case-sensitive, exact literal segments
  ['accounts.*', 'Accounts.read', null],
  ['accounts.read', 'accounts.READ', null],
  ['accounts.read', 'accounts.read.1', null],
  // scopes with `:` and other punctuation are plain names: only equal ones match
  ['read:claims', 'read:claims', []],
  ['read:claims', 'read:claims.1', null],
  ['read:claims', 'read:claim', null],
  ['read:*', 'read:claims', null],
  ['https://api.example.com/read', 'https://api.example.com/read', []],
  // a `*` inside a scope is just a character for a plain template
  ['accounts.*', 'accounts.*', ['*']],
  ['accounts.*', 'accounts.acc*', ['acc*']],
  // very long scopes
  ['accounts.*.*', `accounts.read.${longId}`, ['read', longId]],
  ['accounts.*', `accounts.${'x.'.repeat(5000)}y`, [`${'x.'.repeat(5000)}y`]],
  ['accounts.*.bar', `accounts.${longId}.bar`, [longId]],
  ['accounts.*.bar', `accounts.${'x.'.repeat(5000)}bar`, null],
];

describe('template matching: edge cases', () => {
  it.each(EDGE_CASES)('%s on %s', (template, scope, params) => {
    if (template.includes('*') && templateSyntaxError(template) !== undefined) {
      // `read:*` is not a template at all: the config refuses it (below).
      expect(params).toBeNull();
      return;
    }
    expect(compileTemplate(template).match(scope)).toEqual(params);
  });

  it('matches pre-split segments the same way as a string', () => {
    for (const [template, scope, expected] of NORMATIVE) {
      expect(compileTemplate(template).matchSegments(scope.split('.')) !== null).toBe(expected);
    }
  });

  it('describes templates once compiled', () => {
    const template = compileTemplate('accounts.*.*');
    expect(template).toMatchObject({
      source: 'accounts.*.*',
      dynamic: true,
      wildcardCount: 2,
      trailingWildcard: true,
      literalCount: 1,
    });
    expect(compileTemplate('accounts.*.bar').trailingWildcard).toBe(false);
    expect(compileTemplate('read:claims')).toMatchObject({ dynamic: false, wildcardCount: 0 });
  });
});

describe('template syntax (checked when the config loads)', () => {
  it.each([
    ['', /must not be empty/],
    [' accounts.*', /whitespace/],
    ['accounts.* ', /whitespace/],
    ['accounts .*', /whitespace/],
    ['accounts.\t*', /whitespace/],
    ['accounts..read', /empty segments/],
    ['.accounts', /empty segments/],
    ['accounts.', /empty segments/],
    ['acc*', /whole segment/],
    ['accounts.*read', /whole segment/],
    ['accounts.**', /whole segment/],
    ['read:*', /whole segment/],
    ['accounts."x"', /characters RFC 6749/],
    ['accounts.\\x', /characters RFC 6749/],
    ['accounts.é', /characters RFC 6749/],
  ])('refuses %j', (template, message) => {
    expect(templateSyntaxError(template)).toMatch(message);
    expect(() => compileTemplate(template)).toThrow(/invalid scope template/);
  });

  it.each(['*', 'accounts.*', 'accounts.*.*', '*.read', 'read:claims', 'a.b.c'])(
    'accepts %j',
    (template) => {
      expect(templateSyntaxError(template)).toBeUndefined();
    },
  );

  it('tells templates from opaque names that contain a star', () => {
    expect(isDynamicTemplate('accounts.*')).toBe(true);
    expect(isDynamicTemplate('*')).toBe(true);
    expect(isDynamicTemplate('accounts.read')).toBe(false);
    expect(isDynamicTemplate('acc*')).toBe(false);
    expect(isDynamicTemplate('accounts..*')).toBe(false);
  });

  it('compiles a malformed granted value as a grant of itself only', () => {
    const grant = compileGrant('acc*');
    expect(grant.dynamic).toBe(false);
    expect(grant.match('acc*')).toEqual([]);
    expect(grant.match('accounts')).toBeNull();
  });
});

// An oracle for the relations: enumerate concrete scopes over the templates' literals plus a
// value none of them uses. If two templates overlap, a witness exists no longer than the longer
// of them; if one does not contain the other, a counterexample exists at most one segment longer.
const LITERALS = ['a', 'b'];
const segment = fc.constantFrom('a', 'b', '*');
const templateArb = fc
  .array(segment, { minLength: 1, maxLength: 3 })
  .map((segments) => compileTemplate(segments.join('.')));

function concreteScopes(maxLength: number): string[][] {
  const values = [...LITERALS, 'x'];
  let level: string[][] = [[]];
  const out: string[][] = [];
  for (let length = 1; length <= maxLength; length++) {
    level = level.flatMap((prefix) => values.map((value) => [...prefix, value]));
    out.push(...level);
  }
  return out;
}

const UNIVERSE = concreteScopes(4);

describe('template relations', () => {
  it('overlaps agrees with enumeration', () => {
    fc.assert(
      fc.property(templateArb, templateArb, (a, b) => {
        const witness = UNIVERSE.some(
          (parts) => a.matchSegments(parts) !== null && b.matchSegments(parts) !== null,
        );
        expect(overlaps(a, b)).toBe(witness);
      }),
      { numRuns: 500 },
    );
  });

  it('contains agrees with enumeration', () => {
    fc.assert(
      fc.property(templateArb, templateArb, (outer, inner) => {
        const counterexample = UNIVERSE.some(
          (parts) => inner.matchSegments(parts) !== null && outer.matchSegments(parts) === null,
        );
        expect(contains(outer, inner)).toBe(!counterexample);
      }),
      { numRuns: 500 },
    );
  });

  it.each([
    ['accounts.*', 'accounts.read.*', true],
    ['accounts.*', 'accounts.*.*', true],
    ['accounts.*.*', 'accounts.*', false],
    ['accounts.*.bar', 'accounts.*', false],
    ['accounts.read.*', 'accounts.*', false],
    ['accounts.*', 'accounts.*', true],
    ['*', 'accounts.*.bar', true],
    ['accounts.*.bar', '*', false],
  ])('%s contains %s: %s', (outer, inner, expected) => {
    expect(contains(compileTemplate(outer), compileTemplate(inner))).toBe(expected);
  });
});
