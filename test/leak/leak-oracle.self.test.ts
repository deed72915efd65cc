/**
 * The oracle itself, on captures built by hand: it finds an upstream token and a wide claim in
 * every reading a client can make (and only there), and it finds nothing in what scopegate
 * legitimately sends, such as a token re-signed over claims copied from the upstream's.
 */
import { gzipSync } from 'node:zlib';
import { generateKeyPair, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { entityEncodeAll, percentEncodeAll, unicodeEscapedJson } from './body-encodings.js';
import type { Capture } from './client-capture.js';
import { findLeaks } from './leak-oracle.js';
import { TokenLedger } from './token-ledger.js';
import { EMAIL, identityAllowedBy, ROLE } from './wide-claims.js';

const { privateKey } = await generateKeyPair('ES256');
const upstreamToken = await new SignJWT({ jti: 'j-1', sub: 'u', roles: ['x'] })
  .setProtectedHeader({ alg: 'ES256', kid: 'up' })
  .sign(privateKey);
const ledger = new TokenLedger();
ledger.add(upstreamToken, 'access_token');
ledger.add('rt-0123456789abcdef0123456789abcdef', 'refresh_token');

function capture(body: string | Buffer, headers: Array<[string, string]> = []): Capture {
  return {
    statusLine: 'HTTP/1.1 200 OK',
    status: 200,
    headerLines: headers,
    body: Buffer.isBuffer(body) ? body : Buffer.from(body),
  };
}

const none = new Set<string>();
const signature = upstreamToken.split('.')[2] as string;

describe('the leak oracle', () => {
  it.each([
    ['plain', capture(`{"t":"${upstreamToken}"}`)],
    ['a 31-character piece of the signature', capture(`x${signature.slice(5, 36)}x`)],
    ['the payload segment alone', capture(`p=${upstreamToken.split('.')[1]}`)],
    ['percent-encoded', capture(percentEncodeAll(upstreamToken))],
    ['HTML character references', capture(`<input value="${entityEncodeAll(upstreamToken)}">`)],
    ['JSON unicode escapes', capture(unicodeEscapedJson({ t: upstreamToken }))],
    ['gzip, declared', capture(gzipSync(upstreamToken), [['content-encoding', 'gzip']])],
    ['gzip, undeclared', capture(gzipSync(upstreamToken))],
    [
      'UTF-16',
      capture(Buffer.from(upstreamToken, 'utf16le'), [
        ['content-type', 'application/json; charset=utf-16le'],
      ]),
    ],
    ['a header', capture('', [['Location', `https://a/#t=${upstreamToken}`]])],
    ['the status line', { ...capture(''), statusLine: `HTTP/1.1 200 ${upstreamToken}` }],
    ['an opaque refresh token', capture('{"d":"token rt-0123456789abcdef0123456789abcdef"}')],
  ])('finds an upstream token %s', (_name, received) => {
    expect(findLeaks(received, ledger, none).map((f) => f.what)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^upstream /)]),
    );
  });

  it('finds wide claims inside a JWT scopegate signed, and identity claims beyond the scope', async () => {
    const own = await new SignJWT({ sub: 'u', roles: [ROLE], email: EMAIL })
      .setProtectedHeader({ alg: 'ES256' })
      .sign(privateKey);
    const whats = findLeaks(capture(`{"id_token":"${own}"}`), ledger, none).map((f) => f.what);
    expect(whats).toContain(`claim ${ROLE}`);
    expect(whats).toContain('email claim beyond the issued scope');
    const allowed = identityAllowedBy('openid email');
    const withEmail = findLeaks(capture(`{"id_token":"${own}"}`), ledger, allowed);
    expect(withEmail.map((f) => f.what)).not.toContain('email claim beyond the issued scope');
  });

  it("finds nothing in a token re-signed over the upstream's claims", async () => {
    // Same claims, same order, then scopegate's own: the payload's base64url shares a long run
    // with the upstream's, which is not a piece of the upstream's token.
    const resigned = await new SignJWT({ jti: 'j-1', sub: 'u', roles: ['x'], iss: 'https://gw' })
      .setProtectedHeader({ alg: 'ES256', kid: 'gw' })
      .sign(privateKey);
    const received = capture(`{"access_token":"${resigned}","scope":"openid read:claims"}`);
    expect(findLeaks(received, ledger, none)).toEqual([]);
  });
});
