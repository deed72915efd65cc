/**
 * Userinfo answers what the token's ISSUED scopes release (OpenID Connect Core §5.4), whatever
 * the upstream answers for the unnarrowed token sealed inside: `sub`, and the claims of the
 * issued scopes, never those of scopes removed by the request, by `drop`, by a policy or by a
 * narrower refresh. A programmable upstream (real HTTP, real signatures) that grants every scope,
 * as Auth0 does, and whose userinfo answers every claim it has.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CustomUpstream, startCustomUpstream } from '../support/custom-upstream.js';
import {
  postForm,
  readTokenAnswer,
  startTestGateway,
  type TestGateway,
} from '../support/gateway.js';

const GRANTED = 'openid profile email address phone offline_access read:claims';
const EVERYTHING = {
  name: 'Alice Example',
  nickname: 'al',
  email: 'alice@example.com',
  email_verified: true,
  phone_number: '+33 1 23 45 67 89',
  phone_number_verified: true,
  address: { country: 'FR', locality: 'Paris' },
  tenant: 't-1',
  department: 'ops',
  roles: ['admin'],
  groups: ['admins'],
  scope: GRANTED,
  permissions: ['admin.users'],
};

let upstream: CustomUpstream;
let gateway: TestGateway;
let userinfoSub = 'user-1';

beforeAll(async () => {
  upstream = await startCustomUpstream({
    alg: 'ES256',
    document: (url) => ({ userinfo_endpoint: `${url}/userinfo` }),
    routes: {
      '/userinfo': () => ({ body: { sub: userinfoSub, ...EVERYTHING } }),
    },
  });
  // The upstream grants everything it may, whatever was asked (Auth0's behaviour), with a
  // refresh token for every grant.
  upstream.setHandler(async (_request, idp) =>
    idp.tokenResponse(
      { sub: 'user-1', client_id: 'web', scope: GRANTED },
      { refresh_token: `rt-${randomBytes(8).toString('hex')}` },
    ),
  );
  gateway = await startTestGateway({
    upstreamUrl: upstream.url,
    config: {
      tokens: {
        on_unauthorized_scope: 'drop',
        upstream_token_key: randomBytes(32).toString('base64url'),
        refresh_token_key: randomBytes(32).toString('base64url'),
        identity_claims: { 'read:claims': ['tenant'] },
      },
      // A policy: phone only for another client.
      scopes: [{ template: 'phone', clients: ['other'] }],
    },
  });
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

async function tokens(params: Record<string, string>) {
  const response = await postForm(`${gateway.url}/oauth/token`, {
    client_id: 'web',
    ...params,
  });
  const answer = await readTokenAnswer(response);
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body as { access_token: string; refresh_token: string; scope: string };
}

async function userinfo(accessToken: string) {
  const response = await fetch(`${gateway.url}/userinfo`, {
    headers: { authorization: `Bearer ${accessToken}` },
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const code = (scope?: string) => ({
  grant_type: 'authorization_code',
  code: 'c',
  ...(scope === undefined ? {} : { scope }),
});

describe('userinfo by issued scope', () => {
  it.each<[string, string | undefined, string, Record<string, unknown>]>([
    ['scope=openid', 'openid', 'openid', {}],
    [
      'scope=openid email',
      'openid email',
      'openid email',
      { email: EVERYTHING.email, email_verified: true },
    ],
    [
      'scope=openid profile address',
      'openid profile address',
      'openid profile address',
      { name: EVERYTHING.name, nickname: 'al', address: EVERYTHING.address },
    ],
    ['a configured custom scope', 'openid read:claims', 'openid read:claims', { tenant: 't-1' }],
    // drop: phone is refused to this client by the policy and silently removed.
    ['phone removed by drop', 'openid phone', 'openid', {}],
    [
      'phone removed by the policy when nothing is asked',
      undefined,
      'openid profile email address offline_access read:claims',
      {
        name: EVERYTHING.name,
        nickname: 'al',
        email: EVERYTHING.email,
        email_verified: true,
        address: EVERYTHING.address,
        tenant: 't-1',
      },
    ],
  ])('%s', async (_name, scope, issued, claims) => {
    const { access_token, scope: issuedScope } = await tokens(code(scope));
    expect(issuedScope).toBe(issued);
    const answer = await userinfo(access_token);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ sub: 'user-1', ...claims });
  });

  it('a narrower refresh releases no claim of the scopes it left out', async () => {
    const first = await tokens(code('openid email profile offline_access'));
    expect((await userinfo(first.access_token)).body).toHaveProperty('email');
    const refreshed = await tokens({
      grant_type: 'refresh_token',
      refresh_token: first.refresh_token,
      scope: 'openid profile',
    });
    expect(refreshed.scope).toBe('openid profile');
    const answer = await userinfo(refreshed.access_token);
    expect(answer.body).toEqual({ sub: 'user-1', name: EVERYTHING.name, nickname: 'al' });
  });

  it('an upstream answer about another subject is 502, with none of its claims', async () => {
    const { access_token } = await tokens(code('openid email'));
    userinfoSub = 'mallory';
    try {
      const answer = await userinfo(access_token);
      expect(answer.status).toBe(502);
      expect(answer.body).toEqual({
        error: 'server_error',
        error_description: 'the upstream userinfo answer is for another subject',
      });
    } finally {
      userinfoSub = 'user-1';
    }
  });
});
