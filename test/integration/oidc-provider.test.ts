/**
 * The token endpoint in front of a real, spec-following IdP (node-oidc-provider 9) with
 * `scope_request: forward`: the upstream narrows by itself, scopegate re-signs, refuses what the
 * upstream silently dropped, and passes the upstream's own errors through unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OidcUpstream, startOidcUpstream } from '../fixtures/oidc-upstream.js';
import {
  jwtHeader,
  jwtPayload,
  postForm,
  startTestGateway,
  type TestGateway,
} from '../support/gateway.js';
import { rawMessage, rawRequest } from '../support/raw-http.js';

const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
const CC = { authorization: basic('cc-client', 'cc-secret') };
const POST_CLIENT = { client_id: 'cc-post-client', client_secret: 'cc-post-secret' };

let upstream: OidcUpstream;
let gateway: TestGateway;
let dropGateway: TestGateway;

beforeAll(async () => {
  upstream = await startOidcUpstream();
  [gateway, dropGateway] = await Promise.all([
    startTestGateway({
      upstreamUrl: upstream.url,
      tokenPath: upstream.tokenPath,
      scopeRequest: 'forward',
      config: {
        clients: [
          { client_id: 'cc-post-client', scope_format: 'array' },
          // Another audience than the one tokens carry: must not apply.
          { client_id: 'cc-client', audience: 'https://other.example', scope_format: 'array' },
        ],
      },
    }),
    startTestGateway({
      upstreamUrl: upstream.url,
      tokenPath: upstream.tokenPath,
      scopeRequest: 'forward',
      config: {
        tokens: { on_unauthorized_scope: 'drop' },
        clients: [{ client_id: 'cc-client', audience: upstream.resource, scope_format: 'array' }],
      },
    }),
  ]);
});

afterAll(async () => {
  await Promise.all([gateway?.close(), dropGateway?.close()]);
  await upstream?.close();
});

async function token(
  params: Record<string, string>,
  headers: Record<string, string> = CC,
  target: TestGateway = gateway,
) {
  const response = await postForm(
    `${target.url}${upstream.tokenPath}`,
    { grant_type: 'client_credentials', ...params },
    headers,
  );
  const text = await response.text();
  return { response, text, body: JSON.parse(text) as Record<string, unknown> };
}

describe('through oidc-provider (scope_request: forward)', () => {
  it('issues the requested subset, re-signed by scopegate', async () => {
    const { response, body } = await token({ scope: 'api:read api:write' });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(body).toMatchObject({ scope: 'api:read api:write', token_type: 'Bearer' });
    const accessToken = body.access_token as string;
    expect(jwtHeader(accessToken)).toMatchObject({ alg: 'ES256', kid: 'test-key', typ: 'at+jwt' });
    expect(jwtPayload(accessToken)).toMatchObject({
      iss: 'https://gateway.test',
      sub: 'cc-client',
      client_id: 'cc-client',
      aud: upstream.resource,
      scope: 'api:read api:write',
    });
  });

  it('with no scope requested, issues a token without scope (the upstream granted none)', async () => {
    // oidc-provider does not default to the client's allowed scopes: its token has no `scope`.
    // scopegate issues exactly what was granted, nothing more, and says so by omitting `scope`.
    const { response, body } = await token({});
    expect(response.status).toBe(200);
    expect(body).not.toHaveProperty('scope');
    const claims = jwtPayload(body.access_token as string);
    expect(claims).not.toHaveProperty('scope');
    expect(claims).toMatchObject({ client_id: 'cc-client', aud: upstream.resource });
  });

  it('forwards the requested scope to the upstream as is', async () => {
    const { body } = await token({ scope: 'api:admin' });
    expect(body.scope).toBe('api:admin');
    expect(jwtPayload(body.access_token as string).scope).toBe('api:admin');
  });

  it('refuses a scope the upstream silently dropped, naming only that scope', async () => {
    // An unknown scope is dropped by oidc-provider (RFC 6749 §3.3 allows it), not refused.
    const { response, body } = await token({ scope: 'api:read unknown:thing' });
    expect(response.status).toBe(400);
    expect(body.error).toBe('invalid_scope');
    expect(body.error_description).toContain('unknown:thing');
    expect(body.error_description).not.toContain('api:read');
  });

  it('with on_unauthorized_scope: drop, issues the rest and reports it in `scope`', async () => {
    const { response, body } = await token({ scope: 'api:read unknown:thing' }, CC, dropGateway);
    expect(response.status).toBe(200);
    expect(body.scope).toBe('api:read');
    // The per-audience rule for this client and audience applies on this gateway.
    expect(jwtPayload(body.access_token as string).scope).toEqual(['api:read']);
  });

  it("rebuilds the upstream's own invalid_scope: code and description kept, nothing else", async () => {
    const params = { grant_type: 'client_credentials', ...POST_CLIENT, scope: 'api:write' };
    const direct = await postForm(upstream.tokenEndpoint, params);
    const through = await postForm(`${gateway.url}${upstream.tokenPath}`, params);
    expect(through.status).toBe(400);
    expect(through.status).toBe(direct.status);
    const directBody = (await direct.json()) as Record<string, unknown>;
    expect(directBody).toMatchObject({ error: 'invalid_scope', scope: 'api:write' });
    // Only error, error_description (and error_uri) are read from an upstream error.
    expect(await through.json()).toEqual({
      error: directBody.error,
      error_description: directBody.error_description,
    });
  });

  it('gives an array-format client an array claim and a string response parameter', async () => {
    const { response, body } = await token({ ...POST_CLIENT, scope: 'api:read' }, {});
    expect(response.status).toBe(200);
    expect(body.scope).toBe('api:read');
    expect(jwtPayload(body.access_token as string).scope).toEqual(['api:read']);
  });

  it('ignores a per-audience rule for another audience', async () => {
    const { body } = await token({ scope: 'api:read' });
    expect(jwtPayload(body.access_token as string).scope).toBe('api:read');
  });

  it('passes an unknown resource indicator error through', async () => {
    const { response, body } = await token({ resource: 'https://nope.example', scope: 'api:read' });
    expect(response.status).toBe(400);
    expect(body.error).toBe('invalid_target');
  });

  it('checks the token audience against the requested resource', async () => {
    const { response, body } = await token({ resource: upstream.resource, scope: 'api:read' });
    expect(response.status).toBe(200);
    expect(jwtPayload(body.access_token as string).aud).toBe(upstream.resource);
  });
});

describe('request handling with oidc-provider', () => {
  it('refuses a duplicated scope with invalid_request before the upstream', async () => {
    const response = await fetch(`${gateway.url}${upstream.tokenPath}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...CC },
      body: 'grant_type=client_credentials&scope=api:read&scope=api:write',
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'invalid_request' });
  });

  it('refuses a duplicated JSON key with invalid_request', async () => {
    const response = await fetch(`${gateway.url}${upstream.tokenPath}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...CC },
      body: '{"grant_type":"client_credentials","scope":"api:read","scope":"api:admin"}',
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'invalid_request' });
  });

  it.each(['api:read  api:write', ' api:read', 'api:"read'])(
    'refuses the malformed scope %j with invalid_scope',
    async (scope) => {
      const { response, body } = await token({ scope });
      expect(response.status).toBe(400);
      expect(body.error).toBe('invalid_scope');
    },
  );

  it('forwards client_secret_post credentials', async () => {
    const { response, body } = await token({ ...POST_CLIENT, scope: 'api:read' }, {});
    expect(response.status).toBe(200);
    expect(jwtPayload(body.access_token as string).client_id).toBe('cc-post-client');
  });

  it('rebuilds a 401 for bad Basic credentials, keeping its safe headers', async () => {
    const params = { grant_type: 'client_credentials', scope: 'api:read' };
    const headers = { authorization: basic('cc-client', 'wrong') };
    const direct = await postForm(upstream.tokenEndpoint, params, headers);
    const through = await postForm(`${gateway.url}${upstream.tokenPath}`, params, headers);
    expect(through.status).toBe(401);
    expect(through.status).toBe(direct.status);
    expect(await through.json()).toEqual(await direct.json());
    expect(direct.headers.get('www-authenticate')).toMatch(/^Basic /);
    for (const name of [
      'www-authenticate',
      'access-control-expose-headers',
      'content-type',
      'cache-control',
    ]) {
      expect(through.headers.get(name), name).toBe(direct.headers.get(name));
    }
    // scopegate's own errors always say no-cache to HTTP/1.0 caches as well.
    expect(through.headers.get('pragma')).toBe('no-cache');
  });

  // koa-router matches paths case-insensitively and with a trailing slash: these spellings reach
  // oidc-provider's token endpoint when proxied, and would hand out its token untouched.
  it.each(['/token/', '/TOKEN', '/Token/', '/x/../token', '/%74oken'])(
    'serves a token request spelled %s itself',
    async (target) => {
      const form = 'grant_type=client_credentials&scope=api:read';
      const answer = await rawRequest(
        gateway.url,
        rawMessage(
          'POST',
          target,
          { 'content-type': 'application/x-www-form-urlencoded', authorization: CC.authorization },
          form,
        ),
      );
      expect(answer.status).toBe(200);
      const body = JSON.parse(answer.body) as Record<string, unknown>;
      expect(jwtHeader(body.access_token as string)).toMatchObject({
        alg: 'ES256',
        kid: 'test-key',
      });
    },
  );
});
