/**
 * What scopegate accepts from an introspection endpoint, answer by answer, against a
 * programmable upstream that issues an opaque token and answers its introspection as each row
 * says. Only an active, unexpired answer from the upstream's issuer that names the client is
 * turned into a token; anything else, a timeout included, is an OAuth error, and the opaque token
 * never reaches the client.
 */
import type { JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic } from '../exchange/exchange-support.js';
import {
  type CustomTokenAnswer,
  type CustomUpstream,
  startCustomUpstream,
} from '../support/custom-upstream.js';
import {
  postForm,
  readTokenAnswer,
  startTestGateway,
  type TestGateway,
} from '../support/gateway.js';

const OPAQUE = 'opaque-upstream-token-value';
const API = 'https://api.example.com';

let upstream: CustomUpstream;
let gateway: TestGateway;
let autoGateway: TestGateway;
let introspectionAnswer: () => Promise<CustomTokenAnswer> | CustomTokenAnswer;
let issued: () => Promise<CustomTokenAnswer> | CustomTokenAnswer;

const nowSec = () => Math.floor(Date.now() / 1000);
const good = (): Record<string, unknown> => ({
  active: true,
  client_id: 'client',
  sub: 'client@clients',
  scope: 'a b c',
  aud: API,
  iss: upstream.issuer,
  exp: nowSec() + 600,
  token_type: 'Bearer',
});
const json = (body: unknown, status = 200): CustomTokenAnswer => ({ status, body });
const signedAnswer = async (members: JWTPayload, claims: JWTPayload = {}) => ({
  status: 200,
  body: await upstream.sign(
    { aud: 'scopegate', token_introspection: members, ...claims },
    { header: { typ: 'token-introspection+jwt' } },
  ),
  headers: { 'content-type': 'application/token-introspection+jwt' },
});

beforeAll(async () => {
  upstream = await startCustomUpstream({
    // One handler plays both endpoints: the token endpoint (grant_type) and introspection (token).
    handler: (request) => ('token' in request.params ? introspectionAnswer() : issued()),
  });
  const introspection = {
    endpoint: `${upstream.url}${upstream.tokenPath}`,
    client_id: 'scopegate',
    client_secret: 'introspector secret',
    // Every row answers the same token differently: each must be asked, not remembered.
    cache_max_age: '0s',
  };
  [gateway, autoGateway] = await Promise.all([
    startTestGateway({
      upstreamUrl: upstream.url,
      config: { upstream: { token_format: 'opaque', introspection } },
    }),
    startTestGateway({
      upstreamUrl: upstream.url,
      config: { upstream: { token_format: 'auto', introspection } },
    }),
  ]);
});

afterAll(async () => {
  await Promise.all([gateway?.close(), autoGateway?.close()]);
  await upstream?.close();
});

async function requestToken(target = gateway, params: Record<string, string> = {}) {
  upstream.requests.length = 0;
  const response = await postForm(
    `${target.url}/oauth/token`,
    { grant_type: 'client_credentials', scope: 'a', ...params },
    { authorization: basic('client', 'client-secret') },
  );
  const text = await response.clone().text();
  expect(text).not.toContain(OPAQUE);
  return readTokenAnswer(response);
}

describe('introspection answers', () => {
  beforeAll(() => {
    issued = () => json({ access_token: OPAQUE, token_type: 'Bearer', expires_in: 600 });
  });

  it('accepts an active answer and asks with scopegate credentials (Basic, form-encoded)', async () => {
    introspectionAnswer = () => json(good());
    const answer = await requestToken();
    expect(answer.status).toBe(200);
    expect(answer.claims).toMatchObject({
      iss: 'https://gateway.test',
      client_id: 'client',
      sub: 'client@clients',
      aud: API,
      scope: 'a',
    });
    const introspected = upstream.requests.find((request) => 'token' in request.params);
    expect(introspected?.params).toEqual({ token: OPAQUE, token_type_hint: 'access_token' });
    expect(introspected?.headers.authorization).toBe(basic('scopegate', 'introspector+secret'));
    expect(introspected?.headers.accept).toMatch(/^application\/token-introspection\+jwt/);
  });

  it('accepts a signed answer verified with the upstream keys', async () => {
    introspectionAnswer = () => signedAnswer(good());
    const answer = await requestToken();
    expect(answer.status).toBe(200);
    expect(answer.claims?.scope).toBe('a');
  });

  const refusals: Array<
    [string, () => Promise<CustomTokenAnswer> | CustomTokenAnswer, number, string]
  > = [
    ['inactive', () => json({ active: false }), 502, 'server_error'],
    ['active as a string', () => json({ ...good(), active: 'true' }), 502, 'server_error'],
    ['no exp', () => json({ ...good(), exp: undefined }), 502, 'server_error'],
    ['expired', () => json({ ...good(), exp: nowSec() - 300 }), 502, 'server_error'],
    // Within the clock tolerance but past exp, and with less than a second left: a JWT with
    // these times is refused, so an introspected token is too.
    ['just expired', () => json({ ...good(), exp: nowSec() - 2 }), 502, 'server_error'],
    ['expiring this second', () => json({ ...good(), exp: nowSec() }), 502, 'server_error'],
    [
      'foreign issuer',
      () => json({ ...good(), iss: 'https://evil.example/' }),
      502,
      'server_error',
    ],
    ['no client_id', () => json({ ...good(), client_id: undefined }), 502, 'server_error'],
    ['401 to scopegate', () => json({ error: 'invalid_client' }, 401), 502, 'server_error'],
    ['not JSON', () => json('<html>'), 502, 'server_error'],
    ['a JSON array', () => json([good()]), 502, 'server_error'],
    [
      'signed for another audience',
      () => signedAnswer(good(), { aud: 'someone-else' }),
      502,
      'server_error',
    ],
    [
      'signed by another key',
      async () => {
        const other = await startCustomUpstream();
        try {
          const body = await other.sign(
            { iss: upstream.issuer, aud: 'scopegate', token_introspection: good() },
            { header: { typ: 'token-introspection+jwt' } },
          );
          return {
            status: 200,
            body,
            headers: { 'content-type': 'application/token-introspection+jwt' },
          };
        } finally {
          await other.close();
        }
      },
      502,
      'server_error',
    ],
    [
      'too slow (past upstream.timeout)',
      () => new Promise((resolve) => setTimeout(() => resolve(json(good())), 3500)),
      504,
      'temporarily_unavailable',
    ],
  ];

  it.each(refusals)('refuses: %s', async (_name, answer, status, error) => {
    introspectionAnswer = answer;
    const result = await requestToken();
    expect(result.status).toBe(status);
    expect(result.body.error).toBe(error);
    expect(result.body.access_token).toBeUndefined();
  });

  it('refuses an audience the introspected token lacks (invalid_target)', async () => {
    introspectionAnswer = () => json(good());
    const answer = await requestToken(gateway, { audience: 'https://other.example' });
    expect(answer.status).toBe(400);
    expect(answer.body.error).toBe('invalid_target');
  });
});

describe('token_format auto', () => {
  it('verifies a JWT without introspecting, and introspects anything else', async () => {
    issued = () => upstream.tokenResponse({ client_id: 'client', scope: 'a b', aud: API });
    introspectionAnswer = () => json({ active: false });
    const jwt = await requestToken(autoGateway);
    expect(jwt.status).toBe(200);
    expect(upstream.requests.some((request) => 'token' in request.params)).toBe(false);

    issued = () => json({ access_token: OPAQUE, token_type: 'Bearer' });
    introspectionAnswer = () => json(good());
    const opaque = await requestToken(autoGateway);
    expect(opaque.status).toBe(200);
    expect(upstream.requests.some((request) => 'token' in request.params)).toBe(true);
  });
});
