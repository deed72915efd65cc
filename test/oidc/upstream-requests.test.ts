/**
 * Requests the upstream can read, and client mistakes counted as client errors: JSON token
 * bodies reach the upstream as form-urlencoded with client authentication as received, an IdP
 * that requires a scope gets `clients[].upstream_scope` or `upstream.default_scope` when the
 * client asks for nothing (or the mode is omit), and a requested audience the upstream token does
 * not carry is 400 invalid_target with its own outcome. A programmable upstream (real HTTP, real
 * signatures) that, like glewlwyd, refuses scope-less and JSON requests.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CustomUpstream, startCustomUpstream } from '../support/custom-upstream.js';
import {
  postForm,
  readTokenAnswer,
  startTestGateway,
  type TestGateway,
} from '../support/gateway.js';
import { scrape } from '../support/prometheus.js';

const AUD = 'https://api.example.com';
const GRANTED = ['read', 'write', 'admin'];

let upstream: CustomUpstream;
let forward: TestGateway;
let omit: TestGateway;

/** Like glewlwyd: form bodies only, a scope is required, and it grants what was asked for. */
function strictIdp(): void {
  upstream.setHandler((request, idp) => {
    if (!(request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
      return { status: 400, body: { error: 'invalid_request', error_description: 'form only' } };
    }
    const asked = request.params.scope;
    if (asked === undefined) return { status: 403, body: '' };
    const scope = asked.split(' ').filter((s) => GRANTED.includes(s));
    return idp.tokenResponse({
      sub: request.params.client_id ?? 'basic',
      client_id: request.params.client_id ?? 'basic',
      aud: AUD,
      scope: scope.join(' '),
    });
  });
}

const clients = [
  { client_id: 'reporter', upstream_scope: 'read' },
  { client_id: 'scoped-aud', audience: 'https://elsewhere', upstream_scope: 'admin' },
];

beforeAll(async () => {
  upstream = await startCustomUpstream({ alg: 'ES256' });
  strictIdp();
  const config = (mode: 'forward' | 'omit') => ({
    admin: true,
    upstreamUrl: upstream.url,
    scopeRequest: mode,
    config: {
      upstream: { default_scope: 'read write', timeout: '5s' },
      clients,
    },
  });
  forward = await startTestGateway(config('forward'));
  omit = await startTestGateway(config('omit'));
});

afterAll(async () => {
  await forward?.close();
  await omit?.close();
  await upstream?.close();
});

const lastRequest = () => upstream.requests.at(-1);

describe('JSON token requests', () => {
  it('reach the upstream form-urlencoded, with every parameter and the client secret', async () => {
    const response = await fetch(`${forward.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        grant_type: 'client_credentials',
        client_id: 'json-client',
        client_secret: 's3cret',
        scope: 'read write',
        audience: AUD,
        resource: [AUD],
      }),
    });
    const answer = await readTokenAnswer(response);
    expect(answer.status).toBe(200);
    expect(answer.body.scope).toBe('read write');
    const seen = lastRequest();
    expect(seen?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(seen?.params).toEqual({
      grant_type: 'client_credentials',
      client_id: 'json-client',
      client_secret: 's3cret',
      scope: 'read write',
      audience: AUD,
      resource: AUD,
    });
  });

  it('keep Basic client authentication as received', async () => {
    const basic = `Basic ${Buffer.from('json-client:s3cret').toString('base64')}`;
    const response = await fetch(`${forward.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: basic },
      body: JSON.stringify({ grant_type: 'client_credentials', scope: 'read' }),
    });
    expect(response.status).toBe(200);
    expect(lastRequest()?.headers.authorization).toBe(basic);
    expect(lastRequest()?.params).toEqual({ grant_type: 'client_credentials', scope: 'read' });
  });
});

describe('scope asked of an upstream that requires one', () => {
  const cases: Array<{
    name: string;
    gateway: () => TestGateway;
    params: Record<string, string>;
    asked: string;
    issued: string;
  }> = [
    {
      name: 'forward, nothing requested: the default scope, all of it issued',
      gateway: () => forward,
      params: { client_id: 'anyone' },
      asked: 'read write',
      issued: 'read write',
    },
    {
      name: "forward, nothing requested, a client rule: the client's upstream_scope",
      gateway: () => forward,
      params: { client_id: 'reporter' },
      asked: 'read',
      issued: 'read',
    },
    {
      name: 'forward, a rule for another audience does not apply',
      gateway: () => forward,
      params: { client_id: 'scoped-aud' },
      asked: 'read write',
      issued: 'read write',
    },
    {
      name: 'forward, a scope requested: forwarded as requested',
      gateway: () => forward,
      params: { client_id: 'reporter', scope: 'write' },
      asked: 'write',
      issued: 'write',
    },
    {
      name: 'omit, a scope requested: the default is asked for, the request narrows it',
      gateway: () => omit,
      params: { client_id: 'anyone', scope: 'write' },
      asked: 'read write',
      issued: 'write',
    },
    {
      name: "omit, nothing requested, a client rule: the client's upstream_scope",
      gateway: () => omit,
      params: { client_id: 'reporter' },
      asked: 'read',
      issued: 'read',
    },
  ];
  for (const testCase of cases) {
    it(testCase.name, async () => {
      const answer = await readTokenAnswer(
        await postForm(`${testCase.gateway().url}/oauth/token`, {
          grant_type: 'client_credentials',
          ...testCase.params,
        }),
      );
      expect(lastRequest()?.params.scope).toBe(testCase.asked);
      expect(answer.status).toBe(200);
      expect(answer.body.scope).toBe(testCase.issued);
      expect(answer.claims?.scope).toBe(testCase.issued);
    });
  }

  it('never issues more than the upstream granted, whatever the default asks for', async () => {
    const answer = await readTokenAnswer(
      await postForm(`${omit.url}/oauth/token`, {
        grant_type: 'client_credentials',
        client_id: 'anyone',
        scope: 'read admin',
      }),
    );
    // admin was requested but the default scope did not ask for it: refused, not escalated.
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ error: 'invalid_scope' });
    expect(answer.body).not.toHaveProperty('access_token');
  });
});

describe('a requested audience the upstream token does not carry', () => {
  it('is 400 invalid_target, counted apart from verification failures', async () => {
    const before = await scrape(forward.adminUrl);
    const targets: Array<Record<string, string>> = [
      { audience: 'https://other.example' },
      { resource: 'https://other' },
    ];
    for (const params of targets) {
      const response = await postForm(`${forward.url}/oauth/token`, {
        grant_type: 'client_credentials',
        client_id: 'anyone',
        scope: 'read',
        ...params,
      });
      const text = await response.text();
      expect(response.status).toBe(400);
      expect(JSON.parse(text)).toEqual({
        error: 'invalid_target',
        error_description: expect.any(String),
      });
      expect(text).not.toContain('eyJ');
    }
    const after = await scrape(forward.adminUrl);
    const counted = (outcome: string) =>
      after.value('scopegate_token_requests_total', { outcome }) -
      before.value('scopegate_token_requests_total', { outcome });
    expect(counted('invalid_target')).toBe(2);
    expect(counted('verify_failed')).toBe(0);
    const lines = forward.logs.records().filter((line) => line.msg === 'token request');
    expect(lines.at(-1)).toMatchObject({ outcome: 'invalid_target', status: 400 });
  });
});
