/**
 * OIDC login through scopegate, end to end, with openid-client in front of node-oidc-provider:
 * discovery, authorization code + PKCE in a scripted browser that never leaves scopegate's
 * origin, the callback's iss checked by openid-client against scopegate's issuer, the ID token
 * re-signed by scopegate (its keys, its issuer, at_hash over the access token the client got,
 * the upstream's other claims carried), and logout with the ID token as id_token_hint.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverClient } from '../support/discover-client.js';
import { browserLogin } from './browser-login.js';
import { ACCOUNT, type LoginUpstream, startLoginUpstream, WEB_CLIENT } from './login-upstream.js';
import { type SelfIssuedGateway, startSelfIssuedGateway } from './self-issued-gateway.js';

let upstream: LoginUpstream;
let gateway: SelfIssuedGateway;
let config: client.Configuration;

beforeAll(async () => {
  upstream = await startLoginUpstream();
  gateway = await startSelfIssuedGateway({
    upstreamUrl: upstream.url,
    tokenPath: upstream.tokenPath,
    keys: [{ kid: 'login-es', alg: 'ES256', status: 'active' }],
    config: { tokens: { refresh_token_key: randomBytes(32).toString('base64url') } },
  });
  config = await discoverClient(gateway.issuer, WEB_CLIENT);
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

function login(scope: string) {
  return browserLogin(config, gateway.url, scope);
}

describe('OIDC login through scopegate', () => {
  it("returns the authorization response with scopegate's iss", async () => {
    const { callback } = await login('openid email api:read');
    expect(new URL(callback).searchParams.get('iss')).toBe(gateway.issuer);
  });

  it('re-signs the ID token: scopegate key and issuer, at_hash over its access token', async () => {
    const { tokens, nonce } = await login('openid email profile api:read api:write');
    const idToken = tokens.id_token as string;
    const jwks = createRemoteJWKSet(new URL(`${gateway.issuer}/.well-known/jwks.json`));
    const { payload, protectedHeader } = await jwtVerify(idToken, jwks, {
      issuer: gateway.issuer,
      audience: WEB_CLIENT.client_id,
    });
    expect(protectedHeader).toMatchObject({ alg: 'ES256', kid: 'login-es' });
    const digest = createHash('sha256').update(tokens.access_token).digest();
    expect(payload.at_hash).toBe(digest.subarray(0, 16).toString('base64url'));
    // The upstream's claims are carried.
    expect(payload).toMatchObject({ sub: ACCOUNT.sub, nonce, email: ACCOUNT.email });
    expect(payload.iat).toEqual(expect.any(Number));
    expect(tokens.claims()?.sub).toBe(ACCOUNT.sub);
    // The access token is scopegate's too, narrowed to what the client may have.
    expect(decodeProtectedHeader(tokens.access_token).kid).toBe('login-es');
    const access = await jwtVerify(tokens.access_token, jwks, { issuer: gateway.issuer });
    expect(access.payload).toMatchObject({ sub: ACCOUNT.sub, client_id: WEB_CLIENT.client_id });
  });

  it('refreshes through scopegate: narrowed, re-signed, rotated, and revocable upstream', async () => {
    const { tokens } = await login('openid offline_access api:read api:write');
    const first = tokens.refresh_token as string;
    expect(first.split('.')).toHaveLength(5);
    const jwks = createRemoteJWKSet(new URL(`${gateway.issuer}/.well-known/jwks.json`));
    // Without scope: the scopes first issued, and an ID token re-signed by scopegate whose
    // at_hash covers the new access token.
    const same = await client.refreshTokenGrant(config, first);
    const sameAccess = await jwtVerify(same.access_token, jwks, { issuer: gateway.issuer });
    expect(String(sameAccess.payload.scope).split(' ').sort()).toEqual(['api:read', 'api:write']);
    const id = await jwtVerify(same.id_token as string, jwks, {
      issuer: gateway.issuer,
      audience: WEB_CLIENT.client_id,
    });
    const digest = createHash('sha256').update(same.access_token).digest();
    expect(id.payload.at_hash).toBe(digest.subarray(0, 16).toString('base64url'));
    expect(id.payload.sub).toBe(ACCOUNT.sub);
    // oidc-provider rotates refresh tokens: the new one is wrapped and keeps working.
    const rotated = same.refresh_token as string;
    expect(rotated).not.toBe(first);
    expect(rotated.split('.')).toHaveLength(5);
    // With scope: a subset, and nothing beyond the first issued.
    const narrower = await client.refreshTokenGrant(config, rotated, { scope: 'api:read' });
    const access = await jwtVerify(narrower.access_token, jwks, { issuer: gateway.issuer });
    expect(access.payload.scope).toBe('api:read');
    await expect(
      client.refreshTokenGrant(config, narrower.refresh_token as string, { scope: 'api:admin' }),
    ).rejects.toMatchObject({ error: 'invalid_scope' });
    const again = await client.refreshTokenGrant(config, narrower.refresh_token as string);
    const wide = await jwtVerify(again.access_token, jwks, { issuer: gateway.issuer });
    expect(String(wide.payload.scope).split(' ').sort()).toEqual(['api:read', 'api:write']);

    // Revocation reaches the upstream: afterwards the upstream refuses the refresh.
    const latest = again.refresh_token as string;
    await client.tokenRevocation(config, latest);
    await expect(client.refreshTokenGrant(config, latest)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
  });

  it("ends the session with scopegate's ID token as id_token_hint", async () => {
    const { tokens } = await login('openid api:read');
    const endSession = client.buildEndSessionUrl(config, {
      id_token_hint: tokens.id_token as string,
      post_logout_redirect_uri: WEB_CLIENT.post_logout_redirect_uri,
      state: 'bye-state',
    });
    expect(endSession.href.startsWith(gateway.issuer)).toBe(true);
    // The upstream shows its logout confirmation (it would refuse a hint it cannot verify).
    const page = await fetch(endSession, { redirect: 'manual' });
    const html = await page.text();
    expect(page.status, html).toBe(200);
    expect(html).toContain('<form');

    const forged = new URL(endSession);
    forged.searchParams.set('id_token_hint', tokens.access_token);
    const refused = await fetch(forged, { redirect: 'manual' });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ error: 'invalid_request' });
  });
});
