/**
 * `private_key_jwt` in front of glewlwyd, which knows only its client's secret: openid-client v6
 * authenticates to scopegate with `PrivateKeyJwt`, the client's keys come from its jwks_uri (a
 * real key server on port 0), and scopegate asks glewlwyd with the client's secret there
 * (`upstream_auth: client_secret_basic`). When the client rotates its key, an assertion naming the
 * new kid makes scopegate fetch the JWKS again, once.
 */
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CC_CLIENT,
  type GlewlwydIdp,
  startGlewlwyd,
} from '../fixtures/glewlwyd/identity-provider.js';
import { startGlewlwydGateway } from '../glewlwyd/glewlwyd-gateway.js';
import type { SelfIssuedGateway } from '../oidc/self-issued-gateway.js';
import { jwtPayload } from '../support/gateway.js';
import {
  assertionClaims,
  type ClientKey,
  clientKey,
  type JwksServer,
  oauthError,
  postWithAssertion,
  signAssertion,
  startJwksServer,
} from './client-auth-harness.js';

let idp: GlewlwydIdp;
let gateway: SelfIssuedGateway;
let keys: JwksServer;
let first: ClientKey;

beforeAll(async () => {
  first = await clientKey('svc-2026-01');
  keys = await startJwksServer([first.publicJwk]);
  idp = await startGlewlwyd();
  gateway = await startGlewlwydGateway(idp, {
    config: {
      clients: [
        {
          client_id: CC_CLIENT.client_id,
          token_endpoint_auth_method: 'private_key_jwt',
          jwks_uri: keys.url,
          upstream_auth: { method: 'client_secret_basic', client_secret: CC_CLIENT.client_secret },
        },
      ],
      client_auth: { jwks_uri: { cooldown: '0s' } },
    },
  });
});

afterAll(async () => {
  await gateway?.close();
  await idp?.stop();
  await keys?.close();
});

function tokenUrl(): string {
  return `${gateway.issuer}${idp.tokenPath}`;
}

describe('openid-client PrivateKeyJwt through scopegate in front of glewlwyd', () => {
  it("gets a narrowed token of scopegate's for the client glewlwyd authenticated by its secret", async () => {
    const config = await oidc.discovery(
      new URL(gateway.issuer),
      CC_CLIENT.client_id,
      undefined,
      oidc.PrivateKeyJwt({ key: first.privateKey, kid: first.kid }),
      { execute: [oidc.allowInsecureRequests] },
    );
    const tokens = await oidc.clientCredentialsGrant(config, { scope: 'api.read' });
    expect(jwtPayload(tokens.access_token)).toMatchObject({
      iss: gateway.issuer,
      client_id: CC_CLIENT.client_id,
      scope: 'api.read',
    });
  });

  it('a glewlwyd client secret sent to scopegate is refused: the client must use its assertion', async () => {
    const basic = Buffer.from(`${CC_CLIENT.client_id}:${CC_CLIENT.client_secret}`).toString(
      'base64',
    );
    const response = await fetch(tokenUrl(), {
      method: 'POST',
      headers: {
        authorization: `Basic ${basic}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials&scope=api.read',
    });
    expect(await oauthError(response)).toMatchObject({ status: 401, error: 'invalid_client' });
  });
});

describe("the client's jwks_uri", () => {
  it('is fetched again for a kid it did not publish before, after the client rotated', async () => {
    const fetchesBefore = keys.fetches();
    const next = await clientKey('svc-2026-02');
    keys.publish([next.publicJwk]);
    const response = await postWithAssertion(
      tokenUrl(),
      await signAssertion(assertionClaims(CC_CLIENT.client_id, gateway.issuer), next),
      { scope: 'api.write' },
    );
    expect(response.status, await response.clone().text()).toBe(200);
    expect(keys.fetches()).toBe(fetchesBefore + 1);
    // The old key is gone from the client's JWKS: its assertions are refused once refetched.
    const old = await postWithAssertion(
      tokenUrl(),
      await signAssertion(assertionClaims(CC_CLIENT.client_id, gateway.issuer), first),
    );
    expect(await oauthError(old)).toMatchObject({ status: 401, error: 'invalid_client' });
  });
});
