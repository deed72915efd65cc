/**
 * The canonical form of request targets (proxy/http/request-target.ts): what is accepted becomes
 * one normal spelling; what has no single reading is refused.
 */
import { describe, expect, it } from 'vitest';
import { canonicalTarget } from '../../proxy/http/request-target.js';

const HOST = 'gateway.test';

describe('canonical request targets', () => {
  it.each([
    ['/', '/'],
    ['/oauth/token', '/oauth/token'],
    ['/oauth/token/', '/oauth/token/'],
    ['//oauth///token', '/oauth/token'],
    ['/x/../oauth/token', '/oauth/token'],
    ['/x/%2e%2E/oauth/./token', '/oauth/token'],
    ['/oauth/x/..', '/oauth/'],
    ['/oauth;jsessionid=1/token;x=y', '/oauth/token'],
    ['/oauth/..;/oauth/token', '/oauth/token'],
    ['/%6fauth/%74oken', '/oauth/token'],
    ['/a%20b/%C3%A9', '/a%20b/%C3%A9'],
    ['/a%7eb/%21%40', '/a~b/!@'],
    ['/a"b<c>', '/a%22b%3Cc%3E'],
    ['/authorize?response_type=code&x=%41', '/authorize?response_type=code&x=%41'],
    ["/q?a='b'", '/q?a=%27b%27'],
    ['/q?', '/q'],
    ['http://gateway.test/oauth/token?x=1', '/oauth/token?x=1'],
    ['HTTP://GATEWAY.TEST', '/'],
  ])('%s is %s', (raw, expected) => {
    const result = canonicalTarget(raw, HOST);
    expect(result).toMatchObject({ ok: true, target: expected });
  });

  it.each([
    ['/oauth%2ftoken', 'encoded /'],
    ['/oauth%2Ftoken', 'encoded /'],
    ['/oauth%5ctoken', 'encoded \\'],
    ['/oauth\\token', 'raw \\'],
    ['/oauth/token%00', 'encoded NUL'],
    ['/oauth/token%3bx', 'encoded ;'],
    ['/oauth/token%3f', 'encoded ?'],
    ['/oauth/%2574oken', 'encoded % (a second decoding reads a new path)'],
    ['/oauth/token%', 'truncated escape'],
    ['/oauth/token%z1', 'malformed escape'],
    ['/oauth/%c0%af', 'over-long UTF-8 for /'],
    ['/oauth/%e0%80%ae', 'over-long UTF-8 for .'],
    ['/oauth/%ed%a0%80', 'UTF-16 surrogate'],
    ['/oauth/%ff', 'not UTF-8'],
    ['/..', 'escapes the root'],
    ['/a/../../oauth/token', 'escapes the root'],
    ['/%2e%2e/oauth/token', 'escapes the root, encoded'],
    ['/q?a=%zz', 'malformed escape in the query'],
    ['/oauth/token#x', 'fragment'],
    ['/oauth/tök', 'raw non-ASCII'],
    ['http://elsewhere.test/oauth/token', 'another authority'],
    ['http://user@gateway.test/oauth/token', 'userinfo'],
    ['*', 'asterisk-form'],
    ['oauth/token', 'relative'],
    [`/${'a'.repeat(9000)}`, 'over-long target'],
  ])('%s is refused (%s)', (raw) => {
    expect(canonicalTarget(raw, HOST).ok).toBe(false);
  });
});
