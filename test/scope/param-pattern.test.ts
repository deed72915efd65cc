import { describe, expect, it } from 'vitest';
import { compileParamPattern, paramPatternError } from '../../proxy/scope/param-pattern.js';

describe('parameter patterns: refused when loaded', () => {
  it.each([
    ['(a+)+', /nested quantifiers or a repeated alternation/],
    ['(a*)*b', /nested quantifiers or a repeated alternation/],
    ['((a)+)+', /nested quantifiers or a repeated alternation/],
    ['(?:a+){2}', /nested quantifiers or a repeated alternation/],
    ['(\\d{1,3})+', /nested quantifiers or a repeated alternation/],
    ['(a|a)*b', /nested quantifiers or a repeated alternation/],
    ['(?:x|y)+', /nested quantifiers or a repeated alternation/],
    ['((a|b)c)*', /nested quantifiers or a repeated alternation/],
    ['(?<id>a+)+', /nested quantifiers or a repeated alternation/],
    ['(a+){2,}', /nested quantifiers or a repeated alternation/],
    ['\\d*\\d*\\d*\\d*x', /unbounded quantifiers/],
    ['(a)\\1', /backreferences/],
    ['(?<x>a)\\k<x>', /backreferences/],
    ['[', /invalid regular expression/],
    ['a{2,1}', /invalid regular expression/],
    ['\\p{Nope}', /invalid regular expression/],
    ['x'.repeat(257), /longer than 256/],
  ])('%s', (pattern, message) => {
    expect(paramPatternError(pattern)).toMatch(message);
    expect(() => compileParamPattern(pattern)).toThrow(/invalid parameter pattern/);
  });
});

describe('parameter patterns: accepted and anchored', () => {
  it.each([
    '^[0-9]{1,12}$',
    '[0-9]{1,12}',
    '(read|list)',
    '(?:read|list)?',
    '[a-z][a-z0-9-]{0,62}',
    '\\p{L}+',
    '[(+*)]+',
    '\\(+',
    '(ab){3}x?',
    'a+b+c+',
  ])('%s', (pattern) => {
    expect(paramPatternError(pattern)).toBeUndefined();
  });

  it('matches the whole parameter only', () => {
    const pattern = compileParamPattern('[0-9]{1,4}');
    expect(pattern.test('1234')).toBe(true);
    expect(pattern.test('12345')).toBe(false);
    expect(pattern.test('x1234')).toBe(false);
    const alternation = compileParamPattern('read|list');
    expect(alternation.test('read')).toBe(true);
    expect(alternation.test('readx')).toBe(false);
    expect(alternation.test('xlist')).toBe(false);
  });

  it('keeps the patterns it accepts fast on hostile input', () => {
    const inputs = ['a'.repeat(256), `${'a'.repeat(255)}!`, `${'0'.repeat(255)}x`];
    for (const source of ['a+b+c+', '[a-z]+[a-z]*[a-z]+', '\\d+\\d*\\d+', '(ab){3}x?']) {
      const pattern = compileParamPattern(source);
      const started = performance.now();
      for (const input of inputs) pattern.test(input);
      expect(performance.now() - started).toBeLessThan(250);
    }
  });
});
