/**
 * The upstream's ID token never reaches the client: it is verified (upstream keys and issuer,
 * aud = the client, same subject as the access token) and re-signed, or the request fails
 * closed. A programmable upstream (real signatures) produces the broken cases.
 */
import { createHash } from 'node:crypto';
import { createLocalJWKSet, jwtVerify } from 'jose';
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
const ACCESS = { sub: 'user-1', client_id: 'web', scope: 'openid read' };

/** What a plausible upstream writes into an ID token besides identity: every way to say access. */
const AUTHORIZATION_CLAIMS = {
  roles: ['admin'],
  groups: ['admins'],
  realm_access: { roles: ['admin'] },
  resource_access: { api: { roles: ['admin'] } },
  wids: ['62e90394-69f5-4237-9190-012177145e10'],
  'cognito:groups': ['admins'],
  entitlements: ['admin.users'],
  scp: ['openid', 'read:claims', 'admin.users'],
  scope: 'openid read:claims admin.users',
  permissions: ['read:claims', 'admin.users'],
};

beforeAll(async () => {
  upstream = await startCustomUpstream({ alg: 'ES256' });
  gateway = await startTestGateway({ upstreamUrl: upstream.url });
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

async function withIdToken(idToken: (idp: CustomUpstream) => Promise<string> | string) {
  upstream.setHandler(async (_request, idp) =>
    idp.tokenResponse(ACCESS, { id_token: await idToken(idp) }),
  );
  const response = await postForm(`${gateway.url}/oauth/token`, {
    grant_type: 'authorization_code',
    code: 'c',
    client_id: 'web',
  });
  const text = await response.clone().text();
  return { answer: await readTokenAnswer(response), text };
}

describe('ID tokens at the token endpoint', () => {
  it('are re-signed by scopegate with at_hash over the issued access token', async () => {
    const { answer } = await withIdToken((idp) =>
      idp.sign({ sub: 'user-1', aud: 'web', nonce: 'n-1', acr: 'mfa', at_hash: 'upstream' }),
    );
    expect(answer.status).toBe(200);
    const jwks = createLocalJWKSet(
      (await (await fetch(`${gateway.url}/.well-known/jwks.json`)).json()) as never,
    );
    const { payload } = await jwtVerify(answer.body.id_token as string, jwks, {
      issuer: 'https://gateway.test',
      audience: 'web',
    });
    const digest = createHash('sha256')
      .update(answer.body.access_token as string)
      .digest();
    expect(payload).toMatchObject({
      sub: 'user-1',
      nonce: 'n-1',
      acr: 'mfa',
      at_hash: digest.subarray(0, 16).toString('base64url'),
    });
  });

  it('carry no authorization claim and only the identity claims the issued scopes release', async () => {
    upstream.setHandler(async (_request, idp) =>
      idp.tokenResponse(
        { sub: 'user-1', client_id: 'web', scope: 'openid profile email read:claims admin.users' },
        {
          id_token: await idp.sign({
            sub: 'user-1',
            aud: 'web',
            nonce: 'n-1',
            c_hash: 'upstream-c-hash',
            name: 'Alice',
            email: 'alice@example.com',
            email_verified: true,
            tenant: 't-1',
            ...AUTHORIZATION_CLAIMS,
          }),
        },
      ),
    );
    const response = await postForm(`${gateway.url}/oauth/token`, {
      grant_type: 'authorization_code',
      code: 'c',
      client_id: 'web',
      scope: 'openid email read:claims',
    });
    const text = await response.clone().text();
    const answer = await readTokenAnswer(response);
    expect(answer.status, text).toBe(200);
    expect(answer.body.scope).toBe('openid email read:claims');
    const jwks = createLocalJWKSet(
      (await (await fetch(`${gateway.url}/.well-known/jwks.json`)).json()) as never,
    );
    const { payload } = await jwtVerify(answer.body.id_token as string, jwks, {
      issuer: 'https://gateway.test',
      audience: 'web',
    });
    // profile was not issued (not asked for); tenant is not configured: neither is carried.
    expect(Object.keys(payload).sort()).toEqual(
      ['at_hash', 'aud', 'email', 'email_verified', 'exp', 'iat', 'iss', 'nonce', 'sub'].sort(),
    );
    expect(JSON.stringify(payload)).not.toContain('admin');
  });

  it('leave out the ID token when scopegate removed openid', async () => {
    upstream.setHandler(async (_request, idp) =>
      idp.tokenResponse(ACCESS, { id_token: await idp.sign({ sub: 'user-1', aud: 'web' }) }),
    );
    const response = await postForm(`${gateway.url}/oauth/token`, {
      grant_type: 'authorization_code',
      code: 'c',
      client_id: 'web',
      scope: 'read',
    });
    const answer = await readTokenAnswer(response);
    expect(answer.status).toBe(200);
    expect(answer.body.scope).toBe('read');
    expect(answer.body).not.toHaveProperty('id_token');
  });

  it.each([
    ['not a JWT', () => 'not-a-jwt'],
    ['for another client', (idp: CustomUpstream) => idp.sign({ sub: 'user-1', aud: 'other' })],
    ['for another user', (idp: CustomUpstream) => idp.sign({ sub: 'mallory', aud: 'web' })],
    [
      'with several audiences and another azp',
      (idp: CustomUpstream) => idp.sign({ sub: 'user-1', aud: ['web', 'x'], azp: 'x' }),
    ],
    [
      'expired',
      (idp: CustomUpstream) =>
        idp.sign({ sub: 'user-1', aud: 'web', exp: Math.floor(Date.now() / 1000) - 3600 }),
    ],
    [
      'from another issuer',
      (idp: CustomUpstream) => idp.sign({ sub: 'user-1', aud: 'web', iss: 'https://evil' }),
    ],
  ])('fail closed when the upstream ID token is %s', async (_name, make) => {
    const { answer, text } = await withIdToken(make);
    expect(answer.status).toBe(502);
    expect(answer.body).toMatchObject({ error: 'server_error' });
    expect(text).not.toContain('eyJ');
  });
});
