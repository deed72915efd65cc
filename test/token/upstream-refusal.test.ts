/**
 * The answers scopegate builds for upstream refusals on calls where it sent the upstream a token
 * the client must never see (revocation, introspection, a refresh grant): one table, every row
 * checked for the code, the status and that no byte of the sent token (whole or cut) survives.
 */
import { describe, expect, it } from 'vitest';
import { upstreamRefusal } from '../../proxy/endpoints/upstream-calls/upstream-refusal.js';
import { quotesSecret, rebuiltUpstreamError } from '../../proxy/issued/upstream-error.js';
import type { UpstreamResponse } from '../../proxy/upstream/http-client.js';

const SENT = 'rt-02f8a1c9d7e64b3fa0c2e9d8b7a6f5e4';

function answer(status: number, body: unknown, headers: Record<string, string> = {}) {
  return {
    status,
    headers: { 'content-type': 'application/json', ...headers },
    body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
  } satisfies UpstreamResponse;
}

const quoting = (error: string) => ({
  error,
  error_description: `token ${SENT.slice(0, 16)}... cannot be revoked by this client`,
  error_uri: `https://idp.example/e?token=${SENT}`,
});
const challenge = { 'www-authenticate': `Basic error_description="token ${SENT}"` };

const ROWS: Array<[string, UpstreamResponse, string, number]> = [
  ['invalid_client', answer(401, quoting('invalid_client'), challenge), 'invalid_client', 401],
  ['a 401 without a body', answer(401, ''), 'invalid_client', 401],
  ['invalid_request', answer(400, quoting('invalid_request')), 'invalid_request', 400],
  ['unauthorized_client', answer(400, quoting('unauthorized_client')), 'unauthorized_client', 400],
  [
    'unsupported_token_type',
    answer(400, quoting('unsupported_token_type')),
    'unsupported_token_type',
    400,
  ],
  ['an unknown code', answer(400, quoting('token_is_bad')), 'invalid_request', 400],
  ['a code that is a JS name', answer(400, quoting('__proto__')), 'invalid_request', 400],
  ['429', answer(429, quoting('slow_down')), 'temporarily_unavailable', 503],
  ['500', answer(500, quoting('server_error')), 'server_error', 502],
  ['a 302', answer(302, ''), 'server_error', 502],
];

describe('upstream refusals at revocation and introspection', () => {
  for (const [name, upstream, code, status] of ROWS) {
    it(name, () => {
      const error = upstreamRefusal(upstream, 'revocation', true);
      expect(error.error).toBe(code);
      expect(error.status).toBe(status);
      expect(error.errorUri).toBeUndefined();
      const seen = `${JSON.stringify(error.toJSON())} ${JSON.stringify(error.headers)}`;
      expect(quotesSecret(seen, SENT)).toBe(false);
    });
  }
});

describe('a refresh grant error with the token scopegate sent', () => {
  it('keeps the code and status, never the upstream words or a header quoting the token', () => {
    const upstream = answer(400, quoting('invalid_grant'), {
      ...challenge,
      'access-control-allow-origin': '*',
    });
    const error = rebuiltUpstreamError(upstream, SENT);
    expect(error.error).toBe('invalid_grant');
    expect(error.status).toBe(400);
    expect(error.errorUri).toBeUndefined();
    expect(error.headers).toEqual({ 'access-control-allow-origin': '*' });
    expect(quotesSecret(JSON.stringify(error.toJSON()), SENT)).toBe(false);
    // Without a sent token the upstream's description is still rebuilt as before.
    expect(rebuiltUpstreamError(upstream).description).toContain('cannot be revoked');
  });

  it('quotesSecret finds whole tokens and any 12-character cut, in linear passes', () => {
    expect(quotesSecret(`x ${SENT} y`, SENT)).toBe(true);
    expect(quotesSecret(`...${SENT.slice(9, 21)}...`, SENT)).toBe(true);
    expect(quotesSecret(`...${SENT.slice(9, 20)}...`, SENT)).toBe(false);
    expect(quotesSecret('short', 'abc')).toBe(false);
    expect(quotesSecret('has abc in it', 'abc')).toBe(true);
  });
});
