/**
 * glewlwyd as its package configures it: `external_url` ends in "/", so its OIDC plugin
 * advertises every endpoint as `http://host//api/oidc/...`. scopegate intercepts
 * `//api/oidc/token` and sends the request on to that path on glewlwyd's origin (never resolved
 * as a relative reference, which would make `api` the host): client credentials, a login, its
 * userinfo, introspection, refresh and revocation all work through scopegate, found by discovery
 * alone.
 */
import { randomBytes } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CC_CLIENT,
  type GlewlwydIdp,
  startGlewlwyd,
  USER,
  WEB_CLIENT,
} from '../fixtures/glewlwyd/identity-provider.js';
import type { SelfIssuedGateway } from '../oidc/self-issued-gateway.js';
import { discoverClient } from '../support/discover-client.js';
import { postForm, readTokenAnswer } from '../support/gateway.js';
import { startPkceLogin } from '../support/pkce-login.js';
import { logInThroughGateway } from './browser-login.js';
import { startGlewlwydGateway } from './glewlwyd-gateway.js';

let idp: GlewlwydIdp;
let gateway: SelfIssuedGateway;
let config: client.Configuration;

beforeAll(async () => {
  idp = await startGlewlwyd({ externalUrlTrailingSlash: true });
  gateway = await startGlewlwydGateway(idp, {
    upstream: { default_scope: 'api.read api.write' },
    config: {
      tokens: {
        refresh_token_key: randomBytes(32).toString('base64url'),
        upstream_token_key: randomBytes(32).toString('base64url'),
      },
    },
  });
  config = await discoverClient(gateway.issuer, WEB_CLIENT);
});

afterAll(async () => {
  await gateway?.close();
  await idp?.stop();
});

async function upstreamDocument(): Promise<Record<string, unknown>> {
  const response = await fetch(`${idp.url}${idp.discoveryPath}`);
  return (await response.json()) as Record<string, unknown>;
}

describe('glewlwyd with a trailing-slash external_url, through scopegate', () => {
  it('glewlwyd advertises its endpoints with a doubled slash (the case under test)', async () => {
    const document = await upstreamDocument();
    expect(document.token_endpoint).toBe(`${idp.url}//api/oidc/token`);
    expect(document.userinfo_endpoint).toBe(`${idp.url}//api/oidc/userinfo`);
    expect(document.introspection_endpoint).toBe(`${idp.url}//api/oidc/introspect`);
  });

  it('issues client-credentials tokens at the advertised token endpoint', async () => {
    const endpoint = config.serverMetadata().token_endpoint as string;
    expect(new URL(endpoint).origin).toBe(new URL(gateway.issuer).origin);
    const basic = `Basic ${Buffer.from(`${CC_CLIENT.client_id}:${CC_CLIENT.client_secret}`).toString('base64')}`;
    const answer = await readTokenAnswer(
      await postForm(
        endpoint,
        { grant_type: 'client_credentials', scope: 'api.read' },
        { authorization: basic },
      ),
    );
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.claims).toMatchObject({ iss: gateway.issuer, scope: 'api.read' });
  });

  it('logs in, and answers userinfo and introspection for the token', async () => {
    const pkce = await startPkceLogin(config, {
      redirect_uri: WEB_CLIENT.redirect_uri,
      scope: 'openid api.read',
    });
    const browser = await logInThroughGateway({
      gatewayIssuer: gateway.issuer,
      authorizationUrl: pkce.authorizationUrl,
      user: USER,
      clientId: WEB_CLIENT.client_id,
      consent: WEB_CLIENT.scopes,
    });
    const tokens = await pkce.redeem(browser.callback);
    const jwks = createRemoteJWKSet(new URL(`${gateway.issuer}/.well-known/jwks.json`));
    const { payload } = await jwtVerify(tokens.access_token, jwks, { issuer: gateway.issuer });
    expect(payload.scope).toBe('openid api.read');

    const metadata = config.serverMetadata();
    expect(new URL(metadata.userinfo_endpoint as string).origin).toBe(
      new URL(gateway.issuer).origin,
    );
    const info = await client.fetchUserInfo(config, tokens.access_token, payload.sub as string);
    expect(info.sub).toBe(payload.sub);

    const answer = await client.tokenIntrospection(config, tokens.access_token);
    expect(answer).toMatchObject({ active: true, iss: gateway.issuer, scope: 'openid api.read' });

    const wrapped = tokens.refresh_token as string;
    const refreshed = await client.refreshTokenGrant(config, wrapped);
    expect(refreshed.access_token).toEqual(expect.any(String));

    // Revocation goes to glewlwyd's //api/oidc/revoke too: the refresh token stops working.
    await client.tokenRevocation(config, wrapped);
    await expect(client.refreshTokenGrant(config, wrapped)).rejects.toMatchObject({ status: 400 });
  });
});
