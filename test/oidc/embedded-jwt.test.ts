/**
 * An upstream whose access tokens are JWTs carrying openid (Keycloak- or Auth0-like), which it
 * accepts at userinfo but, like node-oidc-provider, neither introspects nor revokes
 * (`unsupported_token_type`): the JWT sealed in scopegate's token shows nothing of itself, works
 * at userinfo, and introspection and revocation fall back to scopegate's own checks while the
 * caller is still authenticated by the upstream. A programmable upstream over real HTTP.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EMBEDDED_CLAIM,
  embeddingKey,
  openEmbeddedToken,
} from '../../proxy/issued/embedded-upstream-token.js';
import {
  type CustomTokenAnswer,
  type CustomTokenRequest,
  type CustomUpstream,
  startCustomUpstream,
} from '../support/custom-upstream.js';
import { jwtPayload, postForm, startTestGateway, type TestGateway } from '../support/gateway.js';

const SECRET = randomBytes(32).toString('base64url');
const CLIENT_AUTH = `Basic ${Buffer.from('client:client-secret').toString('base64')}`;
let upstream: CustomUpstream;
let gateway: TestGateway;
/** What the upstream's userinfo answers next (a test may change it). */
let userinfoAnswer: (request: CustomTokenRequest) => CustomTokenAnswer;
const seen: Array<{ path: string; token: string | undefined; bearer: string | undefined }> = [];

const refusedClient = { status: 401, body: { error: 'invalid_client' } };
const unsupported = { status: 400, body: { error: 'unsupported_token_type' } };

function normalUserinfo(request: CustomTokenRequest): CustomTokenAnswer {
  const bearer = request.headers.authorization?.replace(/^Bearer /, '');
  return bearer?.split('.').length === 3
    ? { body: { sub: 'svc', name: 'Service account' } }
    : { status: 401, body: { error: 'invalid_token' } };
}

/** The upstream's introspection or revocation: authenticates, and cannot handle its JWTs. */
function tokenEndpoint(path: string, inactive: CustomTokenAnswer) {
  return (request: CustomTokenRequest): CustomTokenAnswer => {
    seen.push({ path, token: request.params.token, bearer: undefined });
    if (request.headers.authorization !== CLIENT_AUTH) return refusedClient;
    return request.params.token?.split('.').length === 3 ? unsupported : inactive;
  };
}

beforeAll(async () => {
  userinfoAnswer = normalUserinfo;
  upstream = await startCustomUpstream({
    handler: (request, self) =>
      self.tokenResponse({ sub: 'svc', client_id: 'client', scope: request.params.scope ?? '' }),
    document: (url) => ({
      userinfo_endpoint: `${url}/userinfo`,
      introspection_endpoint: `${url}/introspect`,
      revocation_endpoint: `${url}/revoke`,
    }),
    routes: {
      '/userinfo': (request) => {
        seen.push({
          path: '/userinfo',
          token: undefined,
          bearer: request.headers.authorization,
        });
        return userinfoAnswer(request);
      },
      '/introspect': tokenEndpoint('/introspect', { body: { active: false } }),
      '/revoke': tokenEndpoint('/revoke', { body: '' }),
    },
  });
  gateway = await startTestGateway({
    upstreamUrl: upstream.url,
    config: { tokens: { upstream_token_key: SECRET } },
  });
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

async function issue(scope: string): Promise<string> {
  const response = await postForm(
    `${gateway.url}/oauth/token`,
    { grant_type: 'client_credentials', scope },
    { authorization: CLIENT_AUTH },
  );
  const body = (await response.json()) as Record<string, unknown>;
  expect(response.status, JSON.stringify(body)).toBe(200);
  return body.access_token as string;
}

const userinfo = (token: string) =>
  fetch(`${gateway.url}/userinfo`, { headers: { authorization: `Bearer ${token}` } });

describe("an upstream JWT sealed in scopegate's token", () => {
  it('shows nothing of itself: neither its text nor its payload decodes from any part', async () => {
    const access = await issue('openid api');
    const sealed = jwtPayload(access)[EMBEDDED_CLAIM];
    expect(typeof sealed).toBe('string');
    const inner = (await openEmbeddedToken(jwtPayload(access), embeddingKey(SECRET))) as string;
    expect(inner.split('.')).toHaveLength(3);
    const innerPayload = Buffer.from(inner.split('.')[1] as string, 'base64url').toString('utf8');
    expect(JSON.parse(innerPayload)).toMatchObject({ sub: 'svc', scope: 'openid api' });
    const parts = [...access.split('.'), ...(sealed as string).split('.')];
    const decoded = parts.map((part) => Buffer.from(part, 'base64url').toString('latin1'));
    for (const text of [access, ...decoded]) {
      expect(text).not.toContain(inner);
      expect(text).not.toContain(innerPayload);
      expect(text).not.toContain(inner.split('.')[2]);
    }
    // Without openid: nothing sealed.
    expect(jwtPayload(await issue('api'))).not.toHaveProperty(EMBEDDED_CLAIM);
  });

  it('is the bearer the upstream gets at userinfo', async () => {
    const access = await issue('openid api');
    const inner = await openEmbeddedToken(jwtPayload(access), embeddingKey(SECRET));
    const response = await userinfo(access);
    expect(response.status).toBe(200);
    // `name` needs the profile scope, which this token was not issued: the answer is `sub` alone.
    expect(await response.json()).toEqual({ sub: 'svc' });
    expect(seen.at(-1)).toEqual({ path: '/userinfo', token: undefined, bearer: `Bearer ${inner}` });
  });

  it("refuses the upstream's answer when it is signed or about another subject", async () => {
    const access = await issue('openid api');
    try {
      userinfoAnswer = () => ({
        body: 'eyJhbGciOi.x.y',
        headers: { 'content-type': 'application/jwt' },
      });
      const signed = await userinfo(access);
      expect(signed.status).toBe(502);
      expect(await signed.json()).toMatchObject({ error: 'server_error' });
      userinfoAnswer = () => ({ body: { sub: 'someone-else' } });
      const other = await userinfo(access);
      expect(other.status).toBe(502);
      userinfoAnswer = () => ({ status: 403, body: { error: 'insufficient_scope' } });
      const scoped = await userinfo(access);
      expect(scoped.status).toBe(403);
      expect(scoped.headers.get('www-authenticate')).toMatch(/^Bearer error="insufficient_scope"/);
    } finally {
      userinfoAnswer = normalUserinfo;
    }
  });

  it('is introspected by scopegate when the upstream cannot, the caller still authenticated', async () => {
    const access = await issue('openid api');
    const inner = await openEmbeddedToken(jwtPayload(access), embeddingKey(SECRET));
    seen.length = 0;
    const response = await postForm(
      `${gateway.url}/introspect`,
      { token: access },
      { authorization: CLIENT_AUTH },
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ active: true, sub: 'svc', scope: 'openid api' });
    // First the sealed JWT (unsupported), then a random token that only authenticates the caller.
    expect(seen.map((entry) => entry.token === inner)).toEqual([true, false]);

    const wrong = await postForm(
      `${gateway.url}/introspect`,
      { token: access },
      { authorization: `Basic ${Buffer.from('client:wrong').toString('base64')}` },
    );
    expect(wrong.status).toBe(401);
    const body = (await wrong.json()) as Record<string, unknown>;
    expect(body.error).toBe('invalid_client');
    expect(JSON.stringify(body)).not.toContain(inner as string);
  });

  it('is revoked at the upstream, which cannot: 200, and 401 for a caller it refuses', async () => {
    const access = await issue('openid api');
    const inner = await openEmbeddedToken(jwtPayload(access), embeddingKey(SECRET));
    seen.length = 0;
    const revoked = await postForm(
      `${gateway.url}/revoke`,
      { token: access },
      { authorization: CLIENT_AUTH },
    );
    expect(revoked.status).toBe(200);
    expect(seen).toEqual([{ path: '/revoke', token: inner, bearer: undefined }]);
    const refused = await postForm(`${gateway.url}/revoke`, { token: access });
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: 'invalid_client' });
  });
});
