/**
 * `id_token_hint` is decided from the canonical decoded parameters of every carrier: any spelling
 * in the query (`id%5Ftoken%5Fhint`, upper case, `;`-separated, encoded twice) and a form, JSON,
 * multipart, text/plain or untyped body. A hint that is not scopegate's ID token never reaches the
 * upstream; scopegate's own is replaced by `client_id` in the carrier it came in (query, form,
 * JSON), and refused where scopegate cannot rewrite the body.
 */
import { createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestGateway } from '../support/gateway.js';
import { startGatewayBeforeLeakyUpstream } from '../support/leaky-gateway.js';
import { type LeakyUpstream, startLeakyUpstream } from '../support/leaky-upstream.js';
import { exchange } from '../support/raw-exchange.js';

let upstream: LeakyUpstream;
let gateway: TestGateway;
let valid: string;
const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
/** A hint anyone can write: alg none, scopegate's issuer. */
const forged = `${part({ alg: 'none', typ: 'JWT' })}.${part({ iss: 'https://gateway.test', aud: 'c', sub: 'alice' })}.`;

beforeAll(async () => {
  upstream = await startLeakyUpstream();
  gateway = await startGatewayBeforeLeakyUpstream(upstream);
  const key = createPrivateKey(await readFile(path.join(gateway.dir, 'test-key.pem')));
  valid = await new SignJWT({ sub: 'alice', aud: 'c' })
    .setProtectedHeader({ alg: 'ES256', kid: 'test-key', typ: 'JWT' })
    .setIssuer('https://gateway.test')
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(key);
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

const multipart = (name: string, value: string) => ({
  'content-type': 'multipart/form-data; boundary=b0undary',
  body: `--b0undary\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n--b0undary--\r\n`,
});

describe('a hint scopegate did not issue is refused in every spelling and carrier', () => {
  const cases: Array<[string, string, Record<string, string>, string | undefined]> = [
    ['query, name percent-encoded', `/logout?id%5Ftoken%5Fhint=${forged}`, {}, undefined],
    ['query, name encoded twice', `/logout?id%255Ftoken%255Fhint=${forged}`, {}, undefined],
    ['query, upper case', `/logout?ID_TOKEN_HINT=${forged}`, {}, undefined],
    ['query, after a `;`', `/logout?state=s;id_token_hint=${forged}`, {}, undefined],
    [
      'form body',
      '/logout',
      { 'content-type': 'application/x-www-form-urlencoded' },
      `id_token_hint=${forged}`,
    ],
    [
      'form body, encoded name',
      '/logout',
      { 'content-type': 'application/x-www-form-urlencoded' },
      `id%5Ftoken%5Fhint=${forged}`,
    ],
    [
      'JSON body',
      '/logout',
      { 'content-type': 'application/json' },
      JSON.stringify({ id_token_hint: forged }),
    ],
    ['text/plain body', '/logout', { 'content-type': 'text/plain' }, `id_token_hint=${forged}\r\n`],
    ['untyped body', '/logout', {}, `id_token_hint=${forged}`],
    [
      'multipart body',
      '/logout',
      { 'content-type': multipart('id_token_hint', forged)['content-type'] },
      multipart('id_token_hint', forged).body,
    ],
    ['any path', `/somewhere/else?id%5Ftoken%5Fhint=${forged}`, {}, undefined],
  ];

  it.each(cases)('%s', async (_name, target, headers, body) => {
    const before = upstream.received();
    const answer = await exchange(`${gateway.url}${target}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers,
      ...(body === undefined ? {} : { body }),
    });
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body.toString('utf8'))).toMatchObject({ error: 'invalid_request' });
    expect(upstream.received()).toBe(before);
  });
});

describe("scopegate's own hint is translated in the carrier it came in", () => {
  it('in the query, whatever its spelling', async () => {
    const answer = await exchange(`${gateway.url}/logout?id%5Ftoken%5Fhint=${valid}&state=s`);
    expect(answer.status).toBe(200);
    const seen = upstream.requests.at(-1);
    expect(seen?.url).toBe('/logout?state=s&client_id=c');
  });

  it('in a form body', async () => {
    const answer = await exchange(`${gateway.url}/logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `ID_TOKEN_HINT=${valid}&state=s`,
    });
    expect(answer.status).toBe(200);
    expect(upstream.requests.at(-1)?.body).toBe('state=s&client_id=c');
  });

  it('in a JSON body', async () => {
    const answer = await exchange(`${gateway.url}/logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id_token_hint: valid, client_id: 'c' }),
    });
    expect(answer.status).toBe(200);
    expect(JSON.parse(upstream.requests.at(-1)?.body ?? '')).toEqual({ client_id: 'c' });
  });

  it('refused where the body cannot be rewritten, repeated, or with another client_id', async () => {
    const { body, ...headers } = multipart('id_token_hint', valid);
    const refusals = [
      exchange(`${gateway.url}/logout`, { method: 'POST', headers, body }),
      exchange(`${gateway.url}/logout?id_token_hint=${valid}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `id_token_hint=${valid}`,
      }),
      exchange(`${gateway.url}/logout?id_token_hint=${valid}&client_id%5F=x&CLIENT_ID=other`),
    ];
    for (const answer of await Promise.all(refusals)) expect(answer.status).toBe(400);
  });
});
