/**
 * Step "read request": the client's token request read from a real HTTP request, checked before
 * anything reaches the upstream.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTokenRequest, type TokenRequest } from '../../proxy/endpoints/token/token-request.js';
import { OAuthError } from '../../proxy/http/oauth-error.js';

type Read = { ok: true; request: Omit<TokenRequest, 'body'> } | { ok: false; error: OAuthError };

let server: Server;
let url: string;
const seen: Read[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    readTokenRequest(req, 4096).then(
      ({ body: _body, ...request }) => {
        seen.push({ ok: true, request });
        res.end('{}');
      },
      (error: unknown) => {
        seen.push(
          error instanceof OAuthError
            ? { ok: false, error }
            : { ok: false, error: new OAuthError('server_error', String(error), 500) },
        );
        res.end('{}');
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth/token`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function read(body: string, headers: Record<string, string>): Promise<Read> {
  const before = seen.length;
  const res = await fetch(url, { method: 'POST', headers, body });
  await res.text();
  const result = seen[before];
  if (!result) throw new Error('the server saw no request');
  return result;
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

describe('readTokenRequest', () => {
  it('reads grant type, scopes, audiences and the client id from a form body', async () => {
    const result = await read(
      'grant_type=client_credentials&client_id=m2m&scope=read:a%20read:b&audience=https%3A%2F%2Fapi&resource=https%3A%2F%2Fother',
      FORM,
    );
    expect(result).toEqual({
      ok: true,
      request: {
        grantType: 'client_credentials',
        requestedScopes: ['read:a', 'read:b'],
        audiences: ['https://api', 'https://other'],
        clientIdHint: 'm2m',
      },
    });
  });

  it('reads a JSON body, and the client id from Basic auth (form-decoded, RFC 6749 §2.3.1)', async () => {
    const basic = Buffer.from(`${encodeURIComponent('odd:id')}:secret`).toString('base64');
    const result = await read('{"grant_type":"client_credentials"}', {
      'content-type': 'application/json',
      authorization: `Basic ${basic}`,
    });
    expect(result.ok && result.request).toMatchObject({
      clientIdHint: 'odd:id',
      requestedScopes: undefined,
      audiences: [],
    });
  });

  it.each<[string, string, Record<string, string>, string, string]>([
    ['a text body', 'grant_type=x', { 'content-type': 'text/plain' }, 'invalid_request', 'must be'],
    [
      'a compressed body',
      'x',
      { ...FORM, 'content-encoding': 'gzip' },
      'invalid_request',
      'content-encoded',
    ],
    ['a repeated parameter', 'scope=a&scope=b', FORM, 'invalid_request', 'scope'],
    ['a scope outside the grammar', 'scope=a%22b', FORM, 'invalid_scope', ''],
  ])('refuses %s before anything is forwarded', async (_what, body, headers, code, words) => {
    const result = await read(body, headers);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.error).toBe(code);
    expect(result.error.status).toBe(400);
    expect(result.error.kind).toBe('client_request');
    expect(result.error.description).toContain(words);
  });

  it('refuses a body over the limit', async () => {
    const result = await read(`scope=${'a'.repeat(5000)}`, FORM);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.status).toBeGreaterThanOrEqual(400);
  });
});
