import { describe, expect, it } from 'vitest';
import { parseScopeParameter } from '../../proxy/scope/grammar.js';

describe('RFC 6749 §3.3 scope grammar', () => {
  it.each([
    ['read:claims', ['read:claims']],
    ['a b c', ['a', 'b', 'c']],
    ['a b a', ['a', 'b']],
    ['accounts.read.1234', ['accounts.read.1234']],
    ['!#[]~', ['!#[]~']],
  ])('accepts %j', (value, scopes) => {
    expect(parseScopeParameter(value)).toEqual({ ok: true, scopes });
  });

  it.each([
    ['a  b', 'scope tokens must be separated by single spaces'],
    [' a', 'scope tokens must be separated by single spaces'],
    ['a ', 'scope tokens must be separated by single spaces'],
    ['a\tb', 'scope contains a character RFC 6749 section 3.3 does not allow'],
    ['say"hi"', 'scope contains a character RFC 6749 section 3.3 does not allow'],
    ['back\\slash', 'scope contains a character RFC 6749 section 3.3 does not allow'],
    ['caf\u00e9', 'scope contains a character RFC 6749 section 3.3 does not allow'],
    ['new\nline', 'scope contains a character RFC 6749 section 3.3 does not allow'],
  ])('refuses %j', (value, reason) => {
    expect(parseScopeParameter(value)).toEqual({ ok: false, reason });
  });
});
