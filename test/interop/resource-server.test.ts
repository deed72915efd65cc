/**
 * What a resource server does with a scopegate token: find the JWKS through scopegate's discovery
 * document and verify signature, issuer, audience and `typ` with off-the-shelf libraries (jose;
 * jsonwebtoken + jwks-rsa). The same token must not verify against the upstream's keys: resource
 * servers trust scopegate, not the IdP behind it.
 */

import { createRemoteJWKSet, errors, jwtVerify } from 'jose';
import jwt from 'jsonwebtoken';
import jwksClient from 'jwks-rsa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SigningAlgorithm } from '../../proxy/keys/key-material.js';
import {
  type RunningAuth0Emulator,
  startAuth0Emulator,
} from '../fixtures/auth0-emulator/auth0-emulator.js';
import { jwtHeader, postForm, startTestGateway, type TestGateway } from '../support/gateway.js';

const API = 'https://api.example.com';
const ISSUER = 'https://gateway.test';
const ALGORITHMS: SigningAlgorithm[] = ['ES256', 'RS256', 'EdDSA'];

let upstream: RunningAuth0Emulator;
const gateways = new Map<SigningAlgorithm, TestGateway>();

beforeAll(async () => {
  upstream = await startAuth0Emulator({
    clients: [
      {
        clientId: 'm2m',
        clientSecret: 'm2m-secret',
        grants: { [API]: ['read:claims', 'write:claims'] },
      },
    ],
    defaultAudience: API,
  });
  await Promise.all(
    ALGORITHMS.map(async (alg) => {
      const gateway = await startTestGateway({
        upstreamUrl: upstream.url,
        scopeRequest: 'omit',
        keys: [
          { kid: `${alg.toLowerCase()}-active`, alg, status: 'active' },
          // A published but not yet signing key: verifiers must pick by kid, not by position.
          { kid: 'es256-next', alg: 'ES256', status: 'next' },
        ],
      });
      gateways.set(alg, gateway);
    }),
  );
});

afterAll(async () => {
  await Promise.all([...gateways.values()].map((gateway) => gateway.close()));
  await upstream?.close();
});

function gatewayFor(alg: SigningAlgorithm): TestGateway {
  const gateway = gateways.get(alg);
  if (!gateway) throw new Error(`no gateway for ${alg}`);
  return gateway;
}

async function issue(gateway: TestGateway, scope = 'read:claims'): Promise<string> {
  const response = await postForm(`${gateway.url}/oauth/token`, {
    grant_type: 'client_credentials',
    client_id: 'm2m',
    client_secret: 'm2m-secret',
    audience: API,
    scope,
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { access_token: string }).access_token;
}

/**
 * The JWKS URI a resource server finds in scopegate's discovery document. It is named after the
 * public issuer; in the test that name is served by the gateway's loopback listener, as an
 * ingress would map it.
 */
async function discoveredJwksUri(gateway: TestGateway): Promise<URL> {
  const response = await fetch(`${gateway.url}/.well-known/openid-configuration`);
  const document = (await response.json()) as { issuer: string; jwks_uri: string };
  expect(document.issuer).toBe(ISSUER);
  expect(document.jwks_uri.startsWith(`${ISSUER}/`)).toBe(true);
  return new URL(document.jwks_uri.replace(ISSUER, gateway.url));
}

describe.each(ALGORITHMS)('a token signed with %s', (alg) => {
  it('verifies with jose from the discovered jwks_uri (iss, aud, typ at+jwt)', async () => {
    const gateway = gatewayFor(alg);
    const token = await issue(gateway);
    expect(jwtHeader(token)).toMatchObject({ alg, kid: `${alg.toLowerCase()}-active` });
    const jwks = createRemoteJWKSet(await discoveredJwksUri(gateway));
    const { payload, protectedHeader } = await jwtVerify(token, jwks, {
      issuer: ISSUER,
      audience: API,
      typ: 'at+jwt',
      algorithms: [alg],
      requiredClaims: ['exp', 'iat', 'jti', 'sub', 'client_id'],
    });
    expect(protectedHeader.typ).toBe('at+jwt');
    expect(payload).toMatchObject({ scope: 'read:claims', client_id: 'm2m' });
  });

  it("does not verify against the upstream's JWKS", async () => {
    const token = await issue(gatewayFor(alg));
    const upstreamJwks = createRemoteJWKSet(new URL(upstream.jwksUri));
    await expect(
      jwtVerify(token, upstreamJwks, { issuer: ISSUER, audience: API }),
    ).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
  });

  it('fails verification with the wrong audience or issuer', async () => {
    const gateway = gatewayFor(alg);
    const token = await issue(gateway);
    const jwks = createRemoteJWKSet(await discoveredJwksUri(gateway));
    await expect(
      jwtVerify(token, jwks, { issuer: ISSUER, audience: 'https://other' }),
    ).rejects.toThrow();
    await expect(
      jwtVerify(token, jwks, { issuer: upstream.issuer, audience: API }),
    ).rejects.toThrow();
  });
});

// jsonwebtoken 9 has no EdDSA support; ES256 and RS256 are what its users deploy.
describe.each(['ES256', 'RS256'] as const)('jsonwebtoken + jwks-rsa with %s', (alg) => {
  it('verifies the token with the key jwks-rsa resolves by kid', async () => {
    const gateway = gatewayFor(alg);
    const token = await issue(gateway, 'read:claims write:claims');
    const client = jwksClient({ jwksUri: (await discoveredJwksUri(gateway)).href, cache: false });
    const kid = jwtHeader(token).kid as string;
    const key = await client.getSigningKey(kid);
    const payload = jwt.verify(token, key.getPublicKey(), {
      issuer: ISSUER,
      audience: API,
      algorithms: [alg],
    }) as jwt.JwtPayload;
    expect(payload.scope).toBe('read:claims write:claims');
    expect(payload.iss).toBe(ISSUER);
  });

  it("finds no key for it in the upstream's JWKS", async () => {
    const token = await issue(gatewayFor(alg));
    const client = jwksClient({ jwksUri: upstream.jwksUri, cache: false });
    await expect(client.getSigningKey(jwtHeader(token).kid as string)).rejects.toThrow(
      /Unable to find a signing key/,
    );
    // Even handed the upstream's only key, the signature does not check out.
    const [upstreamKey] = await client.getSigningKeys();
    expect(() =>
      jwt.verify(token, (upstreamKey as jwksClient.SigningKey).getPublicKey(), {
        algorithms: ['RS256', 'ES256'],
      }),
    ).toThrow();
  });
});

describe('the upstream token', () => {
  it("does not verify against scopegate's JWKS", async () => {
    const direct = await postForm(upstream.tokenEndpoint, {
      grant_type: 'client_credentials',
      client_id: 'm2m',
      client_secret: 'm2m-secret',
    });
    const upstreamToken = ((await direct.json()) as { access_token: string }).access_token;
    const gateway = gatewayFor('RS256');
    const jwks = createRemoteJWKSet(await discoveredJwksUri(gateway));
    await expect(jwtVerify(upstreamToken, jwks)).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
  });
});
