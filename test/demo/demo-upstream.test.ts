/**
 * The product's demo upstream on its own (what `npm start` runs): Auth0's client-credentials
 * behaviour from seeds/000_*, a JWKS that verifies its tokens, discovery, and nothing that only
 * tests need (no fault injection, no diagnostic routes).
 */
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_AUDIENCES, DEMO_CLIENTS } from '../../proxy/demo/demo-clients.js';
import { type RunningDemoUpstream, startDemoUpstream } from '../../proxy/demo/demo-upstream.js';

let upstream: RunningDemoUpstream;

beforeAll(async () => {
  upstream = await startDemoUpstream({ clients: DEMO_CLIENTS, tokenLifetimeSeconds: 600 });
});

afterAll(async () => {
  await upstream.close();
});

async function token(params: Record<string, string>) {
  const res = await fetch(upstream.tokenEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params).toString(),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const REPORTING = {
  grant_type: 'client_credentials',
  client_id: 'm2m-reporting',
  client_secret: 'demo-secret-reporting',
  audience: DEMO_AUDIENCES.api,
};

describe('demo upstream', () => {
  it('answers a request for one scope with every granted scope, in a token its JWKS verifies', async () => {
    const { status, body } = await token({ ...REPORTING, scope: 'read:claims' });
    expect(status).toBe(200);
    expect(body.scope).toBe('read:claims write:claims read:reports delete:claims');
    expect(body.expires_in).toBe(600);
    const { payload } = await jwtVerify(
      String(body.access_token),
      createRemoteJWKSet(new URL(upstream.jwksUri)),
      { issuer: upstream.issuer, audience: DEMO_AUDIENCES.api, algorithms: ['RS256'] },
    );
    expect(payload).toMatchObject({ azp: 'm2m-reporting', gty: 'client-credentials' });
    expect(payload.exp).toBe(Number(payload.iat) + 600);
  });

  it.each([
    ['a wrong secret', { ...REPORTING, client_secret: 'nope' }, 401, 'access_denied'],
    ['a scope not granted', { ...REPORTING, scope: 'admin:all' }, 403, 'access_denied'],
    ['another grant type', { ...REPORTING, grant_type: 'password' }, 400, 'unsupported_grant_type'],
    ['no audience and no default', { ...REPORTING, audience: '' }, 403, 'access_denied'],
  ])('refuses %s', async (_what, params, status, error) => {
    const answer = await token(params);
    expect(answer.status).toBe(status);
    expect(answer.body.error).toBe(error);
  });

  it('advertises its own endpoints in discovery', async () => {
    const doc = (await (
      await fetch(`${upstream.url}/.well-known/openid-configuration`)
    ).json()) as Record<string, unknown>;
    expect(doc).toMatchObject({
      issuer: upstream.issuer,
      token_endpoint: upstream.tokenEndpoint,
      jwks_uri: upstream.jwksUri,
      grant_types_supported: ['client_credentials'],
    });
    // Every endpoint it names is one it serves (a GET on the token endpoint is a 405, not a 404).
    const endpoints = Object.entries(doc).filter(
      ([name, value]) => name !== 'issuer' && typeof value === 'string' && value.startsWith('http'),
    );
    expect(endpoints.map(([name]) => name).sort()).toEqual(['jwks_uri', 'token_endpoint']);
    for (const [name, value] of endpoints) {
      const response = await fetch(value as string);
      await response.body?.cancel();
      expect(response.status, name).not.toBe(404);
    }
  });

  it.each(['/api/echo', '/api/status/200', '/api/slow', '/attacker/jwks.json'])(
    'has no test-only route %s',
    async (path) => {
      const res = await fetch(`${upstream.url}${path}`);
      expect(res.status).toBe(404);
      await res.body?.cancel();
    },
  );
});
