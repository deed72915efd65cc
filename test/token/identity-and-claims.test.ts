/**
 * Items 4 and 8 end to end: the client a policy sees comes from the verified upstream token
 * (tokens.client_id_claims), never from the request; conflicting client names in one request are
 * refused before anything reaches the upstream; authorization claims other than scope are left
 * out of issued tokens unless tokens.authorization_claims keeps them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CustomUpstream, startCustomUpstream } from '../support/custom-upstream.js';
import {
  postForm,
  readTokenAnswer,
  startTestGateway,
  type TestGateway,
} from '../support/gateway.js';

let upstream: CustomUpstream;
let gateway: TestGateway;
let tokenUrl: string;
let claims: Record<string, unknown> = {};

const basic = (id: string, secret = 's') =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${secret}`).toString('base64')}`;

beforeAll(async () => {
  upstream = await startCustomUpstream({
    handler: (_request, idp) => idp.tokenResponse(claims),
  });
  gateway = await startTestGateway({
    upstreamUrl: upstream.url,
    config: {
      scopes: [{ template: 'partner.read', clients: ['partner-x'] }],
      tokens: { authorization_claims: { roles: 'keep', tenant_admin: 'drop' } },
    },
  });
  tokenUrl = `${gateway.url}/oauth/token`;
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

describe('identity comes from the verified upstream token (item 4)', () => {
  it.each<[string, Record<string, unknown>, number]>([
    ['client_id names the allowed client', { client_id: 'partner-x' }, 200],
    ['azp names the allowed client', { azp: 'partner-x' }, 200],
    ['cid names the allowed client', { cid: 'partner-x' }, 200],
    ['appid names the allowed client', { appid: 'partner-x' }, 200],
    ['the token names another client', { client_id: 'intruder' }, 400],
    ['the token names no client: restricted policies refuse', { sub: 'someone' }, 400],
  ])('%s', async (_what, identity, status) => {
    claims = { sub: 'svc', scope: 'partner.read other', ...identity };
    // The request claims to be the allowed client every time: it must not matter.
    const answer = await readTokenAnswer(
      await postForm(tokenUrl, {
        grant_type: 'client_credentials',
        client_id: 'partner-x',
        scope: 'partner.read',
      }),
    );
    expect(answer.status).toBe(status);
    if (status === 200) expect(answer.claims?.scope).toBe('partner.read');
    else expect(answer.body.error).toBe('invalid_scope');
  });

  it.each<[string, Record<string, string>, Record<string, string>]>([
    ['body client_id vs Basic auth', { client_id: 'a' }, { authorization: basic('b') }],
    [
      'Basic auth vs a client assertion',
      {
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: `e30.${Buffer.from('{"sub":"c","iss":"c"}').toString('base64url')}.sig`,
      },
      { authorization: basic('b') },
    ],
  ])('refuses two client names in one request: %s', async (_what, params, headers) => {
    const before = upstream.requests.length;
    const response = await postForm(
      tokenUrl,
      { grant_type: 'client_credentials', ...params },
      headers,
    );
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toBe('invalid_request');
    expect(upstream.requests.length).toBe(before);
  });

  it('accepts the same client named in the body and in Basic auth', async () => {
    claims = { sub: 'svc', client_id: 'a', scope: 'x' };
    const response = await postForm(
      tokenUrl,
      { grant_type: 'client_credentials', client_id: 'a' },
      { authorization: basic('a') },
    );
    expect(response.status).toBe(200);
  });

  it('logs the request’s client name only as a hint', async () => {
    claims = { sub: 'svc', scope: 'x' };
    const response = await postForm(tokenUrl, {
      grant_type: 'client_credentials',
      client_id: 'claimed',
    });
    expect(response.status).toBe(200);
    const line = gateway.logs
      .records()
      .filter((record) => record.msg === 'token request')
      .at(-1);
    expect(line?.clientIdHint).toBe('claimed');
    expect(line?.clientId).toBeUndefined();
  });
});

describe('authorization claims other than scope (item 8)', () => {
  it('drops the default list, keeps what the config keeps, drops what it adds', async () => {
    claims = {
      sub: 'user',
      client_id: 'web',
      scope: 'read write',
      realm_access: { roles: ['admin'] },
      resource_access: { api: { roles: ['admin'] } },
      groups: ['admins'],
      authorization_details: [{ type: 'payment', actions: ['initiate'] }],
      roles: ['reader'],
      tenant_admin: true,
      department: 'sales',
    };
    const answer = await readTokenAnswer(
      await postForm(tokenUrl, { grant_type: 'client_credentials', scope: 'read' }),
    );
    expect(answer.status).toBe(200);
    const issued = answer.claims ?? {};
    for (const dropped of [
      'realm_access',
      'resource_access',
      'groups',
      'authorization_details',
      'tenant_admin',
    ]) {
      expect(issued).not.toHaveProperty(dropped);
    }
    expect(issued.roles).toEqual(['reader']);
    // A custom claim no carry list names stays out (tokens.carry_claims is an allowlist).
    expect(issued).not.toHaveProperty('department');
    expect(issued.scope).toBe('read');
  });
});
