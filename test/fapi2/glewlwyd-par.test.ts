/**
 * The FAPI 2.0 profile end to end, with a real client (openid-client: PAR, PKCE S256,
 * private_key_jwt, DPoP, `iss` checked) through scopegate in front of glewlwyd with its packaged defaults, which answers no
 * pushed request of its own: the client finds scopegate's PAR endpoint by discovery, pushes, the
 * browser logs in at glewlwyd through scopegate (glewlwyd sends it back to its authorization
 * endpoint to resume, which scopegate rebuilds from what was pushed), the authorization response
 * carries scopegate's `iss` and the client's state, and the code is redeemed once, with its
 * verifier, for a token scopegate signed.
 */
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClientKey, clientKey } from '../client-auth/client-auth-harness.js';
import {
  type GlewlwydIdp,
  startGlewlwyd,
  USER,
  WEB_CLIENT,
} from '../fixtures/glewlwyd/identity-provider.js';
import { grantScopes, logInUser } from '../fixtures/glewlwyd/user-session.js';
import { startGlewlwydGateway } from '../glewlwyd/glewlwyd-gateway.js';
import type { SelfIssuedGateway } from '../oidc/self-issued-gateway.js';

let idp: GlewlwydIdp;
let gateway: SelfIssuedGateway;
let config: client.Configuration;
let key: ClientKey;

beforeAll(async () => {
  key = await clientKey('web-1');
  idp = await startGlewlwyd();
  gateway = await startGlewlwydGateway(idp, {
    config: {
      profile: 'fapi2',
      tokens: { dpop: { algorithms: ['ES256', 'PS256', 'EdDSA'] } },
      // The client authenticates to scopegate with private_key_jwt; glewlwyd, which knows only
      // its secret, gets that from scopegate.
      clients: [
        {
          client_id: WEB_CLIENT.client_id,
          redirect_uris: [WEB_CLIENT.redirect_uri],
          token_endpoint_auth_method: 'private_key_jwt',
          jwks: { keys: [key.publicJwk] },
          upstream_auth: { method: 'client_secret_basic', client_secret: WEB_CLIENT.client_secret },
        },
      ],
    },
  });
  config = await client.discovery(
    new URL(gateway.issuer),
    WEB_CLIENT.client_id,
    undefined,
    client.PrivateKeyJwt({ key: key.privateKey, kid: key.kid }),
    { execute: [client.allowInsecureRequests] },
  );
});

afterAll(async () => {
  await gateway?.close();
  await idp?.stop();
});

async function redirectOf(url: URL, cookie?: string): Promise<URL> {
  const response = await fetch(url, {
    redirect: 'manual',
    ...(cookie === undefined ? {} : { headers: { cookie } }),
  });
  const text = await response.text();
  const location = response.headers.get('location');
  if (response.status !== 302 || location === null) {
    throw new Error(`expected a redirect from ${url.pathname}, got ${response.status}: ${text}`);
  }
  return new URL(location, url);
}

/** The browser: to glewlwyd's login page through scopegate, logged in, back to the client. */
async function browse(authorizationUrl: URL): Promise<URL> {
  const loginPage = await redirectOf(authorizationUrl);
  expect(loginPage.origin).toBe(new URL(gateway.issuer).origin);
  const cookie = await logInUser(gateway.issuer, USER);
  await grantScopes(gateway.issuer, cookie, WEB_CLIENT.client_id, WEB_CLIENT.scopes);
  // The page returns to the authorization request glewlwyd was sent, named by its callback_url
  // on glewlwyd's own origin; a page served for scopegate's origin returns there instead.
  const upstreamRequest = new URL(loginPage.searchParams.get('callback_url') as string);
  const resume = new URL(`${upstreamRequest.pathname}${upstreamRequest.search}`, gateway.issuer);
  resume.searchParams.set('g_continue', '');
  return redirectOf(resume, cookie);
}

async function pushedLogin() {
  // The client's DPoP key: the push binds the code to it, and the token is bound to it.
  const DPoP = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'));
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  // glewlwyd requires a nonce with the openid scope, in the code flow too.
  const nonce = client.randomNonce();
  const authorizationUrl = await client.buildAuthorizationUrlWithPAR(
    config,
    {
      redirect_uri: WEB_CLIENT.redirect_uri,
      scope: 'openid api.read',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    },
    { DPoP },
  );
  const callback = await browse(authorizationUrl);
  return { authorizationUrl, callback, verifier, state, nonce, DPoP };
}

describe('FAPI 2.0 through scopegate in front of glewlwyd (no PAR of its own)', () => {
  it("advertises scopegate's PAR endpoint, PAR required, iss in responses, S256 only", () => {
    expect(config.serverMetadata()).toMatchObject({
      pushed_authorization_request_endpoint: `${gateway.issuer}/par`,
      require_pushed_authorization_requests: true,
      authorization_response_iss_parameter_supported: true,
      code_challenge_methods_supported: ['S256'],
      response_types_supported: ['code'],
      token_endpoint_auth_methods_supported: ['private_key_jwt'],
    });
    for (const alg of config.serverMetadata().token_endpoint_auth_signing_alg_values_supported ??
      []) {
      expect(['PS256', 'ES256', 'EdDSA']).toContain(alg);
    }
  });

  it('logs in with openid-client: pushed, PKCE, iss checked, token signed by scopegate', async () => {
    const { authorizationUrl, callback, verifier, state, nonce, DPoP } = await pushedLogin();
    expect([...authorizationUrl.searchParams.keys()].sort()).toEqual(['client_id', 'request_uri']);
    expect(callback.origin + callback.pathname).toBe(WEB_CLIENT.redirect_uri);
    expect(callback.searchParams.get('iss')).toBe(gateway.issuer);
    expect(callback.searchParams.get('state')).toBe(state);
    const tokens = await client.authorizationCodeGrant(
      config,
      callback,
      {
        pkceCodeVerifier: verifier,
        expectedState: state,
        expectedNonce: nonce,
        idTokenExpected: true,
      },
      undefined,
      { DPoP },
    );
    expect(tokens.token_type.toLowerCase()).toBe('dpop');
    const jwks = createRemoteJWKSet(new URL(`${gateway.issuer}/.well-known/jwks.json`));
    const { payload } = await jwtVerify(tokens.access_token, jwks, {
      issuer: gateway.issuer,
      typ: 'at+jwt',
    });
    expect(payload).toMatchObject({ client_id: WEB_CLIENT.client_id, scope: 'openid api.read' });
    expect(payload.cnf).toEqual({ jkt: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
  });

  it('refuses the same code a second time, and a plain authorization request', async () => {
    const { callback, verifier, state, nonce, DPoP } = await pushedLogin();
    const redeem = () =>
      client.authorizationCodeGrant(
        config,
        callback,
        { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce },
        undefined,
        { DPoP },
      );
    await redeem();
    await expect(redeem()).rejects.toMatchObject({ status: 400, error: 'invalid_grant' });
    const plain = client.buildAuthorizationUrl(config, {
      redirect_uri: WEB_CLIENT.redirect_uri,
      scope: 'openid',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const refused = await fetch(plain, { redirect: 'manual' });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ error: 'invalid_request' });
  });
});
