/**
 * Item 5 against a hostile upstream: its error answers are rebuilt, never passed through. Every
 * case plants a freshly signed upstream token somewhere in the answer (body members, the
 * description, headers, compressed bodies) and checks that no byte the client receives carries
 * it, that the answer is an RFC 6749 error with the right status, and what is kept.
 */
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { CustomTokenAnswer } from '../support/custom-upstream.js';
import { expectNoUpstreamToken, expectOAuthError, postFormBytes } from './client-bytes.js';
import { useHostileGateway } from './hostile-gateway.js';

const hostile = useHostileGateway();

const json = (value: unknown) => Buffer.from(JSON.stringify(value));

interface ErrorCase {
  name: string;
  /** Builds the upstream's answer around its (valid, signed) token. */
  answer: (token: string) => CustomTokenAnswer;
  status: number;
  error: string;
  /** Further checks on the description and headers the client got. */
  check?: (
    description: string,
    headers: Record<string, string>,
    body: Record<string, unknown>,
  ) => void;
}

const CASES: ErrorCase[] = [
  {
    name: 'standard error: code, description and status kept',
    answer: () => ({
      status: 400,
      body: { error: 'invalid_grant', error_description: 'code expired' },
    }),
    status: 400,
    error: 'invalid_grant',
    check: (description) => expect(description).toBe('code expired'),
  },
  {
    name: 'the token inside error_description is removed',
    answer: (token) => ({
      status: 400,
      body: { error: 'invalid_request', error_description: `bad request, see ${token}` },
    }),
    status: 400,
    error: 'invalid_request',
    check: (description) => expect(description).toBe('bad request, see (token removed)'),
  },
  {
    name: 'extra members are not passed on',
    answer: (token) => ({
      status: 400,
      body: { error: 'invalid_scope', error_description: 'no', debug: { token }, hint: token },
    }),
    status: 400,
    error: 'invalid_scope',
  },
  {
    name: 'an error body carrying access_token fails closed',
    answer: (token) => ({ status: 400, body: { error: 'invalid_request', access_token: token } }),
    status: 502,
    error: 'server_error',
  },
  {
    name: 'non-standard code: the status’s standard code, the original in the description',
    answer: () => ({ status: 400, body: { error: 'Bad.Thing"\\', error_description: 'no way' } }),
    status: 400,
    error: 'invalid_request',
    check: (description) => {
      expect(description).toContain('no way');
      expect(description).toContain("upstream error code Bad.Thing'");
    },
  },
  {
    name: 'non-standard code on 401 becomes invalid_client',
    answer: () => ({ status: 401, body: { error: 'unauthorized' } }),
    status: 401,
    error: 'invalid_client',
    check: (description) => expect(description).toContain('unauthorized'),
  },
  {
    name: 'empty 400 body',
    answer: () => ({ status: 400, body: '' }),
    status: 400,
    error: 'invalid_request',
  },
  {
    name: 'empty 401 body',
    answer: () => ({ status: 401, body: '' }),
    status: 401,
    error: 'invalid_client',
  },
  {
    name: 'empty 500 body',
    answer: () => ({ status: 500, body: '' }),
    status: 500,
    error: 'server_error',
  },
  {
    name: 'empty 503 body',
    answer: () => ({ status: 503, body: '', headers: { 'retry-after': '30' } }),
    status: 503,
    error: 'temporarily_unavailable',
    check: (_d, headers) => expect(headers['retry-after']).toBe('30'),
  },
  {
    name: 'an HTML page with the token in it',
    answer: (token) => ({
      status: 500,
      body: `<html><body>stack trace ... ${token}</body></html>`,
      headers: { 'content-type': 'text/html' },
    }),
    status: 500,
    error: 'server_error',
  },
  {
    name: 'gzip-encoded error is decoded and rebuilt',
    answer: () => ({
      status: 400,
      body: gzipSync(json({ error: 'invalid_grant', error_description: 'zipped' })),
      headers: { 'content-encoding': 'gzip' },
    }),
    status: 400,
    error: 'invalid_grant',
    check: (description) => expect(description).toBe('zipped'),
  },
  {
    name: 'deflate-encoded error is decoded and rebuilt',
    answer: () => ({
      status: 403,
      body: deflateSync(json({ error: 'unauthorized_client', error_description: 'deflated' })),
      headers: { 'content-encoding': 'deflate' },
    }),
    status: 403,
    error: 'unauthorized_client',
    check: (description) => expect(description).toBe('deflated'),
  },
  {
    name: 'br-encoded error carrying a token in a member is rebuilt without it',
    answer: (token) => ({
      status: 400,
      body: brotliCompressSync(
        json({ error: 'invalid_grant', error_description: 'brotli', t: token }),
      ),
      headers: { 'content-encoding': 'br' },
    }),
    status: 400,
    error: 'invalid_grant',
    check: (description) => expect(description).toBe('brotli'),
  },
  {
    name: 'gzip-encoded error with a token in the description',
    answer: (token) => ({
      status: 401,
      body: gzipSync(json({ error: 'invalid_client', error_description: token })),
      headers: { 'content-encoding': 'gzip' },
    }),
    status: 401,
    error: 'invalid_client',
  },
  {
    name: 'an unsupported content coding is refused, the status class kept',
    answer: (token) => ({
      status: 400,
      body: json({ error: 'invalid_grant', error_description: token }),
      headers: { 'content-encoding': 'zstd' },
    }),
    status: 400,
    error: 'invalid_request',
    check: (description) => expect(description).toContain('cannot read'),
  },
  {
    name: 'a body that does not decode as its coding says',
    answer: (token) => ({
      status: 502,
      body: Buffer.from(`not gzip ${token}`),
      headers: { 'content-encoding': 'gzip' },
    }),
    status: 502,
    error: 'server_error',
  },
  {
    name: 'a decompression bomb stops at the cap',
    answer: () => ({
      status: 400,
      body: gzipSync(Buffer.alloc(8 * 1024 * 1024, 0x20)),
      headers: { 'content-encoding': 'gzip' },
    }),
    status: 400,
    error: 'invalid_request',
  },
  {
    name: 'description outside the RFC 6749 charset is cleaned',
    answer: () => ({
      status: 400,
      body: {
        error: 'invalid_request',
        error_description: 'bad "quote" \\ back\nline\u0000 é ☃ end',
      },
    }),
    status: 400,
    error: 'invalid_request',
    check: (description) => expect(description).toBe("bad 'quote' back line end"),
  },
  {
    name: 'an absolute https error_uri is kept',
    answer: () => ({
      status: 400,
      body: { error: 'invalid_request', error_uri: 'https://idp.example/errors/42' },
    }),
    status: 400,
    error: 'invalid_request',
    check: (_d, _h, body) => expect(body.error_uri).toBe('https://idp.example/errors/42'),
  },
  {
    name: 'a javascript: error_uri is dropped',
    answer: () => ({
      status: 400,
      body: { error: 'invalid_request', error_uri: 'javascript:alert(1)' },
    }),
    status: 400,
    error: 'invalid_request',
    check: (_d, _h, body) => expect(body).not.toHaveProperty('error_uri'),
  },
  {
    name: 'an error_uri carrying the token is dropped',
    answer: (token) => ({
      status: 400,
      body: { error: 'invalid_request', error_uri: `https://idp.example/e?t=${token}` },
    }),
    status: 400,
    error: 'invalid_request',
    check: (_d, _h, body) => expect(body).not.toHaveProperty('error_uri'),
  },
  {
    name: 'safe headers kept, everything else dropped, token-bearing values dropped',
    answer: (token) => ({
      status: 401,
      body: { error: 'invalid_client' },
      headers: {
        'www-authenticate': 'Basic realm="idp"',
        'access-control-allow-origin': 'https://app.example',
        vary: 'Origin',
        'set-cookie': `session=${token}`,
        'x-upstream-token': token,
        'dpop-nonce': token,
        location: `https://idp.example/?t=${token}`,
      },
    }),
    status: 401,
    error: 'invalid_client',
    check: (_d, headers) => {
      expect(headers['www-authenticate']).toBe('Basic realm="idp"');
      expect(headers['access-control-allow-origin']).toBe('https://app.example');
      expect(headers.vary).toBe('Origin');
      for (const name of ['set-cookie', 'x-upstream-token', 'dpop-nonce', 'location']) {
        expect(headers[name]).toBeUndefined();
      }
    },
  },
  {
    name: 'WWW-Authenticate carrying the token is dropped',
    answer: (token) => ({
      status: 401,
      body: { error: 'invalid_client' },
      headers: { 'www-authenticate': `Bearer error="invalid_token", token="${token}"` },
    }),
    status: 401,
    error: 'invalid_client',
    check: (_d, headers) => expect(headers['www-authenticate']).toBeUndefined(),
  },
  {
    name: 'a 201 with a token body fails closed',
    answer: (token) => ({ status: 201, body: { access_token: token, token_type: 'Bearer' } }),
    status: 502,
    error: 'server_error',
  },
  {
    name: 'a 307 to the upstream fails closed',
    answer: (token) => ({
      status: 307,
      body: { access_token: token },
      headers: { location: `http://idp.example/oauth/token?t=${token}` },
    }),
    status: 502,
    error: 'server_error',
  },
];

describe('upstream error answers are rebuilt (hostile upstream)', () => {
  it.each(CASES)('$name', async (testCase) => {
    let planted = '';
    hostile.upstream.setHandler(async (_request, idp) => {
      planted = await idp.sign({ sub: 'svc', client_id: 'svc', scope: 'a b c admin' });
      return testCase.answer(planted);
    });
    const answer = await postFormBytes(hostile.tokenUrl, {
      grant_type: 'client_credentials',
      scope: 'a',
    });
    expect(planted).not.toBe('');
    expectNoUpstreamToken(answer, planted);
    const description = expectOAuthError(answer, testCase.status, testCase.error);
    testCase.check?.(description, answer.headers, answer.json());
  });
});
