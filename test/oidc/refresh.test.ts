/**
 * Refresh keeps the narrowing (RFC 6749 §6): the refresh token a client holds is scopegate's,
 * wrapping the upstream's and bound to the scopes first issued and to the client. Against a
 * programmable upstream that, like Auth0, grants every scope on refresh whatever is asked and
 * rotates its refresh tokens. Real HTTP, real signatures, real AES-GCM.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CustomTokenHandler,
  type CustomUpstream,
  startCustomUpstream,
} from '../support/custom-upstream.js';
import {
  postForm,
  readTokenAnswer,
  startTestGateway,
  type TestGateway,
} from '../support/gateway.js';

let upstream: CustomUpstream;
let gateway: TestGateway;
let keyless: TestGateway;
let issuedRefreshTokens = 0;

/** Like Auth0: every grant answers with every scope the client has and a fresh refresh token. */
const grantEverything: CustomTokenHandler = (request, idp) => {
  issuedRefreshTokens += 1;
  return idp.tokenResponse(
    { sub: 'user-1', client_id: request.params.client_id ?? 'unknown', scope: 'read write admin' },
    { refresh_token: `upstream-rt-${issuedRefreshTokens}` },
  );
};

beforeAll(async () => {
  upstream = await startCustomUpstream({ alg: 'ES256' });
  upstream.setHandler(grantEverything);
  const options = (key: boolean) => ({
    upstreamUrl: upstream.url,
    config: {
      upstream: { timeout: '5s' },
      ...(key ? { tokens: { refresh_token_key: randomBytes(32).toString('base64url') } } : {}),
    },
  });
  [gateway, keyless] = await Promise.all([
    startTestGateway(options(true)),
    startTestGateway(options(false)),
  ]);
});

afterAll(async () => {
  await Promise.all([gateway?.close(), keyless?.close()]);
  await upstream?.close();
});

async function grant(params: Record<string, string>, target = gateway) {
  return readTokenAnswer(await postForm(`${target.url}/oauth/token`, params));
}

async function firstTokens(scope = 'read write') {
  const answer = await grant({ grant_type: 'client_credentials', client_id: 'app', scope });
  expect(answer.status).toBe(200);
  return answer.body.refresh_token as string;
}

describe('refresh tokens', () => {
  it("are scopegate's: the upstream's never reaches the client", async () => {
    const refreshToken = await firstTokens();
    expect(refreshToken).not.toContain('upstream-rt');
    expect(refreshToken.split('.')).toHaveLength(5);
  });

  it('without scope: at most the scopes first issued, with the rotated token rewrapped', async () => {
    const first = await firstTokens('read write');
    const before = upstream.requests.length;
    const refreshed = await grant({
      grant_type: 'refresh_token',
      client_id: 'app',
      refresh_token: first,
    });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.scope).toBe('read write');
    expect(refreshed.claims?.scope).toBe('read write');
    const seen = upstream.requests[before];
    expect(seen?.params.refresh_token).toMatch(/^upstream-rt-\d+$/);
    const rotated = refreshed.body.refresh_token as string;
    expect(rotated).not.toBe(first);
    // The rotated token keeps the original binding.
    const again = await grant({
      grant_type: 'refresh_token',
      client_id: 'app',
      refresh_token: rotated,
    });
    expect(again.body.scope).toBe('read write');
  });

  it('with scope: a subset of the first issued, anything more refused before the upstream', async () => {
    const first = await firstTokens('read write');
    const subset = await grant({
      grant_type: 'refresh_token',
      client_id: 'app',
      refresh_token: first,
      scope: 'read',
    });
    expect(subset.status).toBe(200);
    expect(subset.claims?.scope).toBe('read');
    const before = upstream.requests.length;
    const wider = await grant({
      grant_type: 'refresh_token',
      client_id: 'app',
      refresh_token: first,
      scope: 'read admin',
    });
    expect(wider.status).toBe(400);
    expect(wider.body).toMatchObject({ error: 'invalid_scope' });
    expect(wider.body).not.toHaveProperty('access_token');
    expect(upstream.requests.length).toBe(before);
  });

  it('is bound to its client and refused when altered or foreign', async () => {
    const first = await firstTokens('read');
    const before = upstream.requests.length;
    const otherClient = await grant({
      grant_type: 'refresh_token',
      client_id: 'intruder',
      refresh_token: first,
    });
    expect(otherClient.status).toBe(400);
    expect(otherClient.body).toMatchObject({ error: 'invalid_grant' });
    const parts = first.split('.');
    parts[3] = `${parts[3]?.slice(0, -2)}AA`;
    for (const token of [parts.join('.'), 'upstream-rt-1']) {
      const refused = await grant({
        grant_type: 'refresh_token',
        client_id: 'app',
        refresh_token: token,
      });
      expect(refused.status).toBe(400);
      expect(refused.body).toMatchObject({ error: 'invalid_grant' });
    }
    expect(upstream.requests.length).toBe(before);
  });

  it('refuses a refresh the upstream answered for another client', async () => {
    const first = await firstTokens('read');
    upstream.setHandler((_request, idp) =>
      idp.tokenResponse({ sub: 'user-1', client_id: 'someone-else', scope: 'read' }, {}),
    );
    try {
      const refused = await grant({ grant_type: 'refresh_token', refresh_token: first });
      expect(refused.status).toBe(400);
      expect(refused.body).toMatchObject({ error: 'invalid_grant' });
    } finally {
      upstream.setHandler(grantEverything);
    }
  });

  it("are withheld when no refresh_token_key is configured: the upstream's would be unbound", async () => {
    const answer = await grant(
      { grant_type: 'client_credentials', client_id: 'app', scope: 'read' },
      keyless,
    );
    expect(answer.status).toBe(200);
    expect(answer.body).not.toHaveProperty('refresh_token');
    // A refresh token the client holds from elsewhere is still narrowed to the scope asked.
    const refreshed = await grant(
      {
        grant_type: 'refresh_token',
        client_id: 'app',
        refresh_token: 'upstream-rt-1',
        scope: 'read',
      },
      keyless,
    );
    expect(refreshed.claims?.scope).toBe('read');
  });

  describe('bind every scope the grant issued (RFC 6749 §6: any scope originally granted)', () => {
    /**
     * An OIDC upstream whose access tokens are bound to one resource server (RFC 8707): they
     * carry only that server's scope, while the grant also holds openid and offline_access (it
     * issued an ID token and a refresh token). `saysGrant`: its answer's `scope` names the whole
     * grant (as most IdPs write it) rather than the access token's (as node-oidc-provider does).
     */
    const resourceBound =
      (saysGrant: boolean): CustomTokenHandler =>
      async (_request, idp) => {
        issuedRefreshTokens += 1;
        const idToken = await idp.sign({ sub: 'user-1', aud: 'rp' }, { header: { typ: 'JWT' } });
        return idp.tokenResponse(
          { sub: 'user-1', client_id: 'rp', aud: 'https://claims-api', scope: 'read:claims' },
          {
            scope: saysGrant ? 'openid offline_access read:claims' : 'read:claims',
            id_token: idToken,
            refresh_token: `upstream-rt-${issuedRefreshTokens}`,
          },
        );
      };

    for (const saysGrant of [true, false]) {
      it(`accepts a refresh repeating the login's scope (answer scope: ${saysGrant ? 'the grant' : 'the access token'})`, async () => {
        upstream.setHandler(resourceBound(saysGrant));
        try {
          // mod_auth_openidc: the code is redeemed without scope, every refresh repeats it.
          const login = await grant({
            grant_type: 'authorization_code',
            client_id: 'rp',
            code: 'the-code',
          });
          expect(login.status, JSON.stringify(login.body)).toBe(200);
          expect(login.claims?.scope).toBe('read:claims');
          let refreshToken = login.body.refresh_token as string;
          for (const round of [1, 2]) {
            const refreshed = await grant({
              grant_type: 'refresh_token',
              client_id: 'rp',
              refresh_token: refreshToken,
              scope: 'openid offline_access read:claims',
            });
            expect(refreshed.status, `${round}: ${JSON.stringify(refreshed.body)}`).toBe(200);
            // The access token still carries only what the upstream's covers.
            expect(refreshed.claims?.scope).toBe('read:claims');
            expect(refreshed.body.scope).toBe('read:claims');
            refreshToken = refreshed.body.refresh_token as string;
          }
          // Nothing beyond the grant: a scope it never held is refused before the upstream.
          const before = upstream.requests.length;
          const wider = await grant({
            grant_type: 'refresh_token',
            client_id: 'rp',
            refresh_token: refreshToken,
            scope: 'openid offline_access read:claims write:claims',
          });
          expect(wider.status).toBe(400);
          expect(wider.body).toMatchObject({ error: 'invalid_scope' });
          expect(upstream.requests.length).toBe(before);
        } finally {
          upstream.setHandler(grantEverything);
        }
      });
    }

    it('never binds what the upstream granted but the client did not ask for or was not issued', async () => {
      // Auth0-like: every scope granted, and the answer's scope says so.
      upstream.setHandler((request, idp) => {
        issuedRefreshTokens += 1;
        return idp.tokenResponse(
          { sub: 'user-1', client_id: request.params.client_id ?? 'x', scope: 'read write admin' },
          { scope: 'read write admin openid', refresh_token: `upstream-rt-${issuedRefreshTokens}` },
        );
      });
      try {
        const first = await firstTokens('read');
        for (const scope of ['read write', 'read openid', 'admin']) {
          const refused = await grant({
            grant_type: 'refresh_token',
            client_id: 'app',
            refresh_token: first,
            scope,
          });
          expect(refused.status, scope).toBe(400);
          expect(refused.body, scope).toMatchObject({ error: 'invalid_scope' });
        }
      } finally {
        upstream.setHandler(grantEverything);
      }
    });
  });
});
