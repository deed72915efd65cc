/**
 * scopegate's own userinfo and introspection for DPoP-bound tokens, in front of node-oidc-provider
 * (which never sees the proof): a login with openid-client and a DPoP key gives a bound token;
 * userinfo answers it only in the DPoP scheme with a proof by that key for this request (RFC 9449
 * §7), and refuses it as Bearer, without a proof, with a replayed proof, another key's, a wrong
 * htu or htm, each with a `WWW-Authenticate: DPoP` challenge; introspection says `cnf`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, type JWTPayload, SignJWT } from 'jose';
import type * as oauth from 'oauth4webapi';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserLogin } from '../oidc/browser-login.js';
import {
  ACCOUNT,
  type LoginUpstream,
  M2M_CLIENT,
  startLoginUpstream,
  WEB_CLIENT,
} from '../oidc/login-upstream.js';
import { type SelfIssuedGateway, startSelfIssuedGateway } from '../oidc/self-issued-gateway.js';
import { discoverClient } from '../support/discover-client.js';
import { jwtPayload } from '../support/gateway.js';

let upstream: LoginUpstream;
let gateway: SelfIssuedGateway;
let config: client.Configuration;
let keyPair: oauth.CryptoKeyPair;
let token: string;
let userinfoUrl: string;

beforeAll(async () => {
  upstream = await startLoginUpstream({ userinfoTokens: true });
  gateway = await startSelfIssuedGateway({
    upstreamUrl: upstream.url,
    tokenPath: upstream.tokenPath,
    config: {
      upstream: {
        token_format: 'auto',
        introspection: { client_id: M2M_CLIENT.client_id, client_secret: M2M_CLIENT.client_secret },
      },
      tokens: {
        refresh_token_key: randomBytes(32).toString('base64url'),
        upstream_token_key: randomBytes(32).toString('base64url'),
      },
    },
  });
  config = await discoverClient(gateway.issuer, WEB_CLIENT);
  keyPair = await client.randomDPoPKeyPair('ES256');
  const { tokens } = await browserLogin(config, gateway.url, 'openid email', {
    DPoP: client.getDPoPHandle(config, keyPair),
  });
  token = tokens.access_token;
  userinfoUrl = String(config.serverMetadata().userinfo_endpoint);
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

async function proofBy(pair: oauth.CryptoKeyPair, change: JWTPayload = {}): Promise<string> {
  return new SignJWT({
    jti: randomBytes(12).toString('base64url'),
    htm: 'GET',
    htu: userinfoUrl,
    iat: Math.floor(Date.now() / 1000),
    ath: createHash('sha256').update(token).digest('base64url'),
    ...change,
  })
    .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: await exportJWK(pair.publicKey) })
    .sign(pair.privateKey);
}

function userinfo(headers: Record<string, string>): Promise<Response> {
  return fetch(userinfoUrl, { headers });
}

describe('a DPoP-bound token from a login through scopegate', () => {
  it('is DPoP and bound to the key the client used', async () => {
    expect(jwtPayload(token).cnf).toEqual({
      jkt: await calculateJwkThumbprint(await exportJWK(keyPair.publicKey), 'sha256'),
    });
  });

  it('openid-client reads userinfo with it (DPoP scheme, its own proof)', async () => {
    const answer = await client.fetchUserInfo(config, token, ACCOUNT.sub, {
      DPoP: client.getDPoPHandle(config, keyPair),
    });
    expect(answer).toMatchObject({ sub: ACCOUNT.sub, email: ACCOUNT.email });
  });

  it.each<[string, () => Promise<Record<string, string>>, string]>([
    ['as a Bearer token', async () => ({ authorization: `Bearer ${token}` }), 'invalid_token'],
    [
      'as a Bearer token with a valid proof',
      async () => ({ authorization: `Bearer ${token}`, dpop: await proofBy(keyPair) }),
      'invalid_token',
    ],
    ['without a proof', async () => ({ authorization: `DPoP ${token}` }), 'invalid_dpop_proof'],
    [
      "with another key's proof",
      async () => ({
        authorization: `DPoP ${token}`,
        dpop: await proofBy(await client.randomDPoPKeyPair('ES256')),
      }),
      'invalid_dpop_proof',
    ],
    [
      'with a wrong htu (the upstream userinfo)',
      async () => ({
        authorization: `DPoP ${token}`,
        dpop: await proofBy(keyPair, { htu: `${upstream.url}/me` }),
      }),
      'invalid_dpop_proof',
    ],
    [
      'with a wrong htm',
      async () => ({
        authorization: `DPoP ${token}`,
        dpop: await proofBy(keyPair, { htm: 'POST' }),
      }),
      'invalid_dpop_proof',
    ],
    [
      'with a stale iat',
      async () => ({
        authorization: `DPoP ${token}`,
        dpop: await proofBy(keyPair, { iat: Math.floor(Date.now() / 1000) - 600 }),
      }),
      'invalid_dpop_proof',
    ],
    [
      'with a proof for another token (ath)',
      async () => ({
        authorization: `DPoP ${token}`,
        dpop: await proofBy(keyPair, { ath: createHash('sha256').update('x').digest('base64url') }),
      }),
      'invalid_dpop_proof',
    ],
  ])('is refused %s, with a DPoP challenge', async (_name, headers, code) => {
    const answer = await userinfo(await headers());
    expect(answer.status).toBe(401);
    expect(await answer.json()).toMatchObject({ error: code });
    const challenge = answer.headers.get('www-authenticate') ?? '';
    expect(challenge).toMatch(new RegExp(`^DPoP error="${code}"`));
    expect(challenge).toContain('algs="ES256 ES384 ES512 PS256 PS384 PS512 EdDSA RS256"');
  });

  it('is refused with a replayed proof', async () => {
    const headers = { authorization: `DPoP ${token}`, dpop: await proofBy(keyPair) };
    expect((await userinfo(headers)).status).toBe(200);
    const replayed = await userinfo(headers);
    expect(replayed.status).toBe(401);
    expect(await replayed.json()).toMatchObject({ error: 'invalid_dpop_proof' });
  });

  it('introspection answers its binding (RFC 9449 §6.2)', async () => {
    const answer = await fetch(String(config.serverMetadata().introspection_endpoint), {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${M2M_CLIENT.client_id}:${M2M_CLIENT.client_secret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ token }).toString(),
    });
    const body = (await answer.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ active: true, token_type: 'DPoP', cnf: jwtPayload(token).cnf });
  });
});

describe('an unbound token', () => {
  it('is refused in the DPoP scheme', async () => {
    const bearerConfig = await discoverClient(gateway.issuer, WEB_CLIENT);
    const { tokens } = await browserLogin(bearerConfig, gateway.url, 'openid email');
    expect(jwtPayload(tokens.access_token)).not.toHaveProperty('cnf');
    const answer = await userinfo({ authorization: `DPoP ${tokens.access_token}` });
    expect(answer.status).toBe(401);
    expect(await answer.json()).toMatchObject({ error: 'invalid_token' });
  });
});
