/**
 * OIDC login at glewlwyd through scopegate with openid-client, which knows only scopegate's
 * issuer: authorization code + PKCE, glewlwyd's login page redirect kept on scopegate, the
 * authorization response's iss rewritten to scopegate's (openid-client checks it), the ID token
 * re-signed by scopegate (its keys and issuer, at_hash over the access token the client got,
 * glewlwyd's c_hash gone, its other claims carried), a policy narrowing what glewlwyd granted,
 * glewlwyd's refresh tokens wrapped by scopegate and refreshed through it, and revoked at
 * glewlwyd through scopegate's revocation endpoint; glewlwyd's userinfo and scopegate's
 * introspection answering for scopegate's access tokens.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createRemoteJWKSet, decodeProtectedHeader, type JWTPayload, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type GlewlwydIdp,
  startGlewlwyd,
  USER,
  WEB_CLIENT,
} from '../fixtures/glewlwyd/identity-provider.js';
import type { SelfIssuedGateway } from '../oidc/self-issued-gateway.js';
import { discoverClient } from '../support/discover-client.js';
import { startPkceLogin } from '../support/pkce-login.js';
import { logInThroughGateway } from './browser-login.js';
import { startGlewlwydGateway } from './glewlwyd-gateway.js';

let idp: GlewlwydIdp;
let gateway: SelfIssuedGateway;
let config: client.Configuration;
let jwks: ReturnType<typeof createRemoteJWKSet>;

beforeAll(async () => {
  idp = await startGlewlwyd();
  gateway = await startGlewlwydGateway(idp, {
    config: {
      tokens: {
        refresh_token_key: randomBytes(32).toString('base64url'),
        upstream_token_key: randomBytes(32).toString('base64url'),
        on_unauthorized_scope: 'drop',
      },
      // Users may read through a login; writing is for machine clients only.
      scopes: [{ template: 'api.write', grant_types: ['client_credentials'] }],
    },
  });
  config = await discoverClient(gateway.issuer, WEB_CLIENT);
  jwks = createRemoteJWKSet(new URL(`${gateway.issuer}/.well-known/jwks.json`));
});

afterAll(async () => {
  await gateway?.close();
  await idp?.stop();
});

function atHash(accessToken: string): string {
  return createHash('sha256').update(accessToken).digest().subarray(0, 16).toString('base64url');
}

async function login(scope: string) {
  const pkce = await startPkceLogin(config, { redirect_uri: WEB_CLIENT.redirect_uri, scope });
  const browser = await logInThroughGateway({
    gatewayIssuer: gateway.issuer,
    authorizationUrl: pkce.authorizationUrl,
    user: USER,
    clientId: WEB_CLIENT.client_id,
    consent: WEB_CLIENT.scopes,
  });
  const tokens = await pkce.redeem(browser.callback);
  return { ...browser, tokens, nonce: pkce.nonce };
}

async function verifiedAccess(token: string): Promise<JWTPayload> {
  return (await jwtVerify(token, jwks, { issuer: gateway.issuer, typ: 'at+jwt' })).payload;
}

describe('OIDC login at glewlwyd through scopegate', () => {
  it('keeps the browser on scopegate and rewrites the response iss', async () => {
    const { loginPage, callback } = await login('openid api.read');
    expect(loginPage.origin).toBe(new URL(gateway.issuer).origin);
    expect(loginPage.pathname).toBe('/login.html');
    expect(callback.origin + callback.pathname).toBe(WEB_CLIENT.redirect_uri);
    expect(callback.searchParams.get('iss')).toBe(gateway.issuer);
    expect(callback.searchParams.get('code')).toEqual(expect.any(String));
  });

  it("re-signs glewlwyd's ID token: scopegate key and issuer, at_hash over its access token", async () => {
    const { tokens, nonce } = await login('openid api.read');
    const idToken = tokens.id_token as string;
    const { payload, protectedHeader } = await jwtVerify(idToken, jwks, {
      issuer: gateway.issuer,
      audience: WEB_CLIENT.client_id,
    });
    expect(protectedHeader).toMatchObject({ alg: 'ES256', kid: 'gw-es' });
    expect(payload.at_hash).toBe(atHash(tokens.access_token));
    expect(payload).not.toHaveProperty('c_hash');
    // glewlwyd's claims are carried: its subject, the nonce, how the user authenticated.
    expect(payload).toMatchObject({ nonce, azp: WEB_CLIENT.client_id });
    expect(payload.amr).toEqual([expect.any(String)]);
    const access = await verifiedAccess(tokens.access_token);
    expect(payload.sub).toBe(access.sub);
    expect(access).toMatchObject({ client_id: WEB_CLIENT.client_id, scope: 'openid api.read' });
    expect(decodeProtectedHeader(tokens.access_token).kid).toBe('gw-es');
    // Not glewlwyd's signature any more.
    const upstreamKeys = createRemoteJWKSet(new URL(`${idp.issuer}/jwks`));
    await expect(jwtVerify(idToken, upstreamKeys)).rejects.toThrow();
  });

  it('narrows a login: a scope glewlwyd granted but policy keeps from users is dropped', async () => {
    const { tokens } = await login('openid api.read api.write');
    expect(tokens.scope).toBe('openid api.read');
    const access = await verifiedAccess(tokens.access_token);
    expect(access.scope).toBe('openid api.read');
  });

  it("answers userinfo for scopegate's token: glewlwyd gets its own token back", async () => {
    const { tokens } = await login('openid api.read');
    const access = await verifiedAccess(tokens.access_token);
    expect(config.serverMetadata().userinfo_endpoint).toBe(`${gateway.issuer}/api/oidc/userinfo`);
    const info = await client.fetchUserInfo(config, tokens.access_token, access.sub as string);
    expect(info.sub).toBe(access.sub);
  });

  it("introspects scopegate's token with scopegate's claims, the caller checked by glewlwyd", async () => {
    const { tokens } = await login('openid api.read');
    const answer = await client.tokenIntrospection(config, tokens.access_token);
    expect(answer).toMatchObject({
      active: true,
      iss: gateway.issuer,
      client_id: WEB_CLIENT.client_id,
      scope: 'openid api.read',
      token_type: 'Bearer',
    });
    const stranger = await discoverClient(gateway.issuer, {
      client_id: WEB_CLIENT.client_id,
      client_secret: 'wrong0secret',
    });
    await expect(client.tokenIntrospection(stranger, tokens.access_token)).rejects.toThrow();
  });

  it("wraps glewlwyd's refresh token and refreshes through scopegate, narrowed", async () => {
    const { tokens } = await login('openid api.read');
    const wrapped = tokens.refresh_token as string;
    // scopegate's compact JWE, not glewlwyd's opaque token.
    expect(wrapped.split('.')).toHaveLength(5);
    const refreshed = await client.refreshTokenGrant(config, wrapped);
    const access = await verifiedAccess(refreshed.access_token);
    expect(access).toMatchObject({ client_id: WEB_CLIENT.client_id, scope: 'openid api.read' });
    expect(refreshed.access_token).not.toBe(tokens.access_token);
    const narrower = await client.refreshTokenGrant(config, wrapped, { scope: 'api.read' });
    expect((await verifiedAccess(narrower.access_token)).scope).toBe('api.read');
    await expect(
      client.refreshTokenGrant(config, wrapped, { scope: 'api.read api.admin' }),
    ).rejects.toMatchObject({ error: 'invalid_scope' });
  });

  it('revocation through scopegate reaches glewlwyd: the refresh token stops working', async () => {
    const { tokens } = await login('openid api.read');
    const wrapped = tokens.refresh_token as string;
    await client.refreshTokenGrant(config, wrapped);
    await client.tokenRevocation(config, wrapped);
    // glewlwyd refuses a revoked refresh token with an empty 400 (not invalid_grant), which
    // scopegate turns into an OAuth error of that status, in its own words (it sent glewlwyd
    // the upstream refresh token, which an upstream's words may quote).
    await expect(client.refreshTokenGrant(config, wrapped)).rejects.toMatchObject({
      status: 400,
      error: 'invalid_request',
      error_description: 'the upstream refused the request (400 invalid_request)',
    });
  });
});
