/**
 * DPoP through scopegate in front of the real glewlwyd, which does not know DPoP: openid-client's
 * client-credentials grant with a DPoP key gets a `DPoP` token bound to that key, signed by
 * scopegate, and a resource server validating with oauth4webapi accepts it with a proof by that
 * key and refuses it without one or with another key's.
 */
import { createHash, randomBytes } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, SignJWT } from 'jose';
import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CC_CLIENT,
  type GlewlwydIdp,
  startGlewlwyd,
} from '../fixtures/glewlwyd/identity-provider.js';
import { startGlewlwydGateway } from '../glewlwyd/glewlwyd-gateway.js';
import type { SelfIssuedGateway } from '../oidc/self-issued-gateway.js';
import { discoverClient } from '../support/discover-client.js';
import { jwtPayload } from '../support/gateway.js';

const RESOURCE = 'https://rs.example.com/api';

let idp: GlewlwydIdp;
let gateway: SelfIssuedGateway;

beforeAll(async () => {
  idp = await startGlewlwyd();
  gateway = await startGlewlwydGateway(idp);
});

afterAll(async () => {
  await gateway?.close();
  await idp?.stop();
});

async function proofBy(keyPair: oauth.CryptoKeyPair, token: string): Promise<string> {
  return new SignJWT({
    jti: randomBytes(12).toString('base64url'),
    htm: 'GET',
    htu: RESOURCE,
    iat: Math.floor(Date.now() / 1000),
    ath: createHash('sha256').update(token).digest('base64url'),
  })
    .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: await exportJWK(keyPair.publicKey) })
    .sign(keyPair.privateKey);
}

describe('openid-client with DPoP through scopegate in front of glewlwyd', () => {
  let config: client.Configuration;
  let keyPair: oauth.CryptoKeyPair;
  let token: string;

  beforeAll(async () => {
    config = await discoverClient(gateway.issuer, CC_CLIENT);
    keyPair = await client.randomDPoPKeyPair('ES256');
    const tokens = await client.clientCredentialsGrant(
      config,
      { scope: 'api.read' },
      { DPoP: client.getDPoPHandle(config, keyPair) },
    );
    expect(tokens.token_type).toBe('dpop');
    token = tokens.access_token;
  });

  it("gets a token scopegate signed, bound to the client's key", async () => {
    const claims = jwtPayload(token);
    expect(claims).toMatchObject({ iss: gateway.issuer, scope: 'api.read' });
    expect(claims.cnf).toEqual({
      jkt: await calculateJwkThumbprint(await exportJWK(keyPair.publicKey), 'sha256'),
    });
  });

  const validate = (request: Request) => {
    const aud = jwtPayload(token).aud;
    return oauth.validateJwtAccessToken(
      config.serverMetadata(),
      request,
      Array.isArray(aud) ? String(aud[0]) : String(aud),
      { [oauth.allowInsecureRequests]: true } as oauth.ValidateJWTAccessTokenOptions,
    );
  };
  const request = (headers: Record<string, string>) => new Request(RESOURCE, { headers });

  it('oauth4webapi accepts it with a proof by that key', async () => {
    const claims = await validate(
      request({ authorization: `DPoP ${token}`, dpop: await proofBy(keyPair, token) }),
    );
    expect(claims.client_id).toBe(CC_CLIENT.client_id);
  });

  it('oauth4webapi refuses it without a proof, and with another key', async () => {
    await expect(validate(request({ authorization: `DPoP ${token}` }))).rejects.toThrow();
    const other = await client.randomDPoPKeyPair('ES256');
    await expect(
      validate(request({ authorization: `DPoP ${token}`, dpop: await proofBy(other, token) })),
    ).rejects.toThrow(/confirmation/);
  });
});
