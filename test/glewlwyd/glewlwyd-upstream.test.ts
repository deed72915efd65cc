/**
 * The real glewlwyd the other tests put scopegate in front of, asked directly: the harness set it
 * up as intended, and it behaves the way scopegate has to cope with. A client-credentials request
 * without scope is a bare 403, a JSON body a bare 400, the access token's `aud` is the granted
 * scopes joined by spaces, a requested scope the client lacks is silently left out, and HTTP Basic
 * credentials are compared as sent, not form-decoded.
 */
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CC_CLIENT,
  type GlewlwydIdp,
  startGlewlwyd,
} from '../fixtures/glewlwyd/identity-provider.js';
import { jwtPayload } from '../support/gateway.js';

let idp: GlewlwydIdp;

beforeAll(async () => {
  idp = await startGlewlwyd();
});

afterAll(async () => {
  await idp?.stop();
});

const basic = `Basic ${Buffer.from(`${CC_CLIENT.client_id}:${CC_CLIENT.client_secret}`).toString('base64')}`;

function tokenRequest(body: string, contentType = 'application/x-www-form-urlencoded') {
  return fetch(`${idp.url}${idp.tokenPath}`, {
    method: 'POST',
    headers: { authorization: basic, 'content-type': contentType },
    body,
  });
}

describe('glewlwyd as the harness starts it', () => {
  it('publishes its OIDC discovery below /api/oidc, every endpoint on its own origin', async () => {
    const response = await fetch(`${idp.url}${idp.discoveryPath}`);
    expect(response.status).toBe(200);
    const document = (await response.json()) as Record<string, unknown>;
    expect(document.issuer).toBe(idp.issuer);
    expect(document.token_endpoint).toBe(`${idp.url}${idp.tokenPath}`);
    expect(document.jwks_uri).toBe(`${idp.issuer}/jwks`);
    expect(document.introspection_endpoint).toBe(`${idp.issuer}/introspect`);
  });

  it('issues ES256 JWT access tokens with its generated key', async () => {
    const response = await tokenRequest('grant_type=client_credentials&scope=api.read');
    expect(response.status).toBe(200);
    const body = (await response.json()) as { access_token: string; scope: string };
    expect(decodeProtectedHeader(body.access_token)).toMatchObject({
      alg: 'ES256',
      kid: idp.kid,
      typ: 'at+jwt',
    });
    const jwks = createRemoteJWKSet(new URL(`${idp.issuer}/jwks`));
    const { payload } = await jwtVerify(body.access_token, jwks, { issuer: idp.issuer });
    expect(payload).toMatchObject({ client_id: CC_CLIENT.client_id, scope: 'api.read' });
  });
});

describe("glewlwyd's token endpoint quirks", () => {
  it('answers a client-credentials request without scope with an empty 403', async () => {
    const response = await tokenRequest('grant_type=client_credentials');
    expect(response.status).toBe(403);
    expect(await response.text()).toBe('');
  });

  it('answers a JSON body with an empty 400', async () => {
    const response = await tokenRequest(
      JSON.stringify({ grant_type: 'client_credentials', scope: 'api.read' }),
      'application/json',
    );
    expect(response.status).toBe(400);
    expect(await response.text()).toBe('');
  });

  it('puts the granted scopes, space-joined, in aud', async () => {
    const response = await tokenRequest('grant_type=client_credentials&scope=api.read+api.write');
    const body = (await response.json()) as { access_token: string };
    const claims = jwtPayload(body.access_token);
    expect(claims.aud).toBe('api.read api.write');
    expect(claims.scope).toBe('api.read api.write');
  });

  it('does not form-decode HTTP Basic credentials (RFC 6749 §2.3.1)', async () => {
    // %73 is "s": any client that encodes the secret (openid-client encodes "-" as %2D) fails.
    const encoded = `Basic ${Buffer.from(`${CC_CLIENT.client_id}:%73${CC_CLIENT.client_secret.slice(1)}`).toString('base64')}`;
    expect(CC_CLIENT.client_secret.startsWith('s')).toBe(true);
    const response = await fetch(`${idp.url}${idp.tokenPath}`, {
      method: 'POST',
      headers: { authorization: encoded, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&scope=api.read',
    });
    expect(response.status).toBe(403);
  });

  it('leaves out a requested scope the client lacks, and refuses when none is left', async () => {
    const partial = await tokenRequest('grant_type=client_credentials&scope=api.read+api.admin');
    expect(partial.status).toBe(200);
    expect(((await partial.json()) as { scope: string }).scope).toBe('api.read');
    const none = await tokenRequest('grant_type=client_credentials&scope=api.admin');
    expect(none.status).toBe(400);
    expect(await none.json()).toEqual({ error: 'scope_invalid' });
  });
});
