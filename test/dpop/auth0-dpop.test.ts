/**
 * DPoP through scopegate in front of the Auth0 emulator, which knows nothing of DPoP: openid-client
 * (v6, `getDPoPHandle`) obtains tokens that come back `token_type: DPoP` bound to its key
 * (`cnf.jkt`), the upstream never sees the proof, and a resource server validating with
 * oauth4webapi (`validateJwtAccessToken`) accepts the token with a proof by that key and refuses it
 * without one, with a wrong htu or htm, a stale iat, or another key's proof. Per-client modes,
 * nonces and discovery too. Real HTTP, real keys.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { calculateJwkThumbprint, exportJWK, type JWTPayload, SignJWT } from 'jose';
import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type RunningAuth0Emulator,
  startAuth0Emulator,
} from '../fixtures/auth0-emulator/auth0-emulator.js';
import { type SelfIssuedGateway, startSelfIssuedGateway } from '../oidc/self-issued-gateway.js';
import { discoverClient } from '../support/discover-client.js';
import { jwtPayload } from '../support/gateway.js';

const API = 'https://api.example.com';
const RESOURCE = 'https://rs.example.com/accounts';
const M2M = { client_id: 'm2m', client_secret: 'm2m-secret' };
const STRICT = { client_id: 'strict', client_secret: 'strict-secret' };
const PLAIN = { client_id: 'plain', client_secret: 'plain-secret' };

let upstream: RunningAuth0Emulator;
let gateway: SelfIssuedGateway;
/** The same, with tokens.dpop.nonce. */
let noncing: SelfIssuedGateway;

beforeAll(async () => {
  upstream = await startAuth0Emulator({
    clients: [M2M, STRICT, PLAIN].map((registered) => ({
      clientId: registered.client_id,
      clientSecret: registered.client_secret,
      grants: { [API]: ['read:accounts', 'write:accounts'] },
    })),
    defaultAudience: API,
  });
  const options = (nonce: boolean) => ({
    upstreamUrl: upstream.url,
    scopeRequest: 'omit' as const,
    config: {
      clients: [
        { client_id: STRICT.client_id, dpop: 'required' },
        { client_id: PLAIN.client_id, dpop: 'off' },
      ],
      ...(nonce
        ? { tokens: { dpop: { nonce: { key: randomBytes(32).toString('base64url') } } } }
        : {}),
    },
  });
  [gateway, noncing] = await Promise.all([
    startSelfIssuedGateway(options(false)),
    startSelfIssuedGateway(options(true)),
  ]);
});

afterAll(async () => {
  await Promise.all([gateway?.close(), noncing?.close()]);
  await upstream?.close();
});

async function dpopClient(target: SelfIssuedGateway, registered = M2M) {
  const config = await discoverClient(target.issuer, registered);
  const keyPair = await client.randomDPoPKeyPair('ES256');
  return { config, keyPair, DPoP: client.getDPoPHandle(config, keyPair) };
}

async function thumbprintOf(keyPair: oauth.CryptoKeyPair): Promise<string> {
  return calculateJwkThumbprint(await exportJWK(keyPair.publicKey), 'sha256');
}

/** A proof signed with `keyPair`, as a client would make it, with claims changed at will. */
async function proofBy(
  keyPair: oauth.CryptoKeyPair,
  claims: JWTPayload,
  change: JWTPayload = {},
): Promise<string> {
  return new SignJWT({
    jti: randomBytes(12).toString('base64url'),
    iat: Math.floor(Date.now() / 1000),
    ...claims,
    ...change,
  })
    .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: await exportJWK(keyPair.publicKey) })
    .sign(keyPair.privateKey);
}

async function resourceProof(
  keyPair: oauth.CryptoKeyPair,
  token: string,
  change: JWTPayload = {},
): Promise<string> {
  const ath = createHash('sha256').update(token).digest('base64url');
  return proofBy(keyPair, { htm: 'GET', htu: RESOURCE, ath }, change);
}

/** A resource server request, validated by oauth4webapi against scopegate's metadata and keys. */
function validate(config: client.Configuration, request: Request) {
  return oauth.validateJwtAccessToken(config.serverMetadata(), request, API, {
    [oauth.allowInsecureRequests]: true,
  } as oauth.ValidateJWTAccessTokenOptions);
}

function resourceRequest(token: string, proof?: string, scheme = 'DPoP', method = 'GET') {
  return new Request(RESOURCE, {
    method,
    headers: {
      authorization: `${scheme} ${token}`,
      ...(proof === undefined ? {} : { dpop: proof }),
    },
  });
}

describe('openid-client with DPoP, through scopegate in front of the Auth0 emulator', () => {
  it('gets a DPoP token bound to its key, and the upstream never sees the proof', async () => {
    const { config, keyPair, DPoP } = await dpopClient(gateway);
    const before = upstream.tokenRequests().length;
    const tokens = await client.clientCredentialsGrant(
      config,
      { scope: 'read:accounts', audience: API },
      { DPoP },
    );
    expect(tokens.token_type).toBe('dpop');
    const claims = jwtPayload(tokens.access_token);
    expect(claims.cnf).toEqual({ jkt: await thumbprintOf(keyPair) });
    expect(claims.scope).toBe('read:accounts');
    const seen = upstream.tokenRequests().slice(before);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.headers).not.toHaveProperty('dpop');
  });

  it('without a proof the same client gets a Bearer token with no cnf (allowed)', async () => {
    const config = await discoverClient(gateway.issuer, M2M);
    const tokens = await client.clientCredentialsGrant(config, { audience: API });
    expect(tokens.token_type).toBe('bearer');
    expect(jwtPayload(tokens.access_token)).not.toHaveProperty('cnf');
  });

  it('a proof replayed at the token endpoint is refused', async () => {
    const { keyPair } = await dpopClient(gateway);
    const proof = await proofBy(keyPair, { htm: 'POST', htu: `${gateway.issuer}/oauth/token` });
    const post = () =>
      fetch(`${gateway.url}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: proof },
        body: new URLSearchParams({ grant_type: 'client_credentials', ...M2M }).toString(),
      });
    expect((await post()).status).toBe(200);
    const replayed = await post();
    expect(replayed.status).toBe(400);
    expect(await replayed.json()).toMatchObject({ error: 'invalid_dpop_proof' });
  });

  it('a proof for the upstream URL (the htu of another server) is refused', async () => {
    const { keyPair } = await dpopClient(gateway);
    const proof = await proofBy(keyPair, { htm: 'POST', htu: `${upstream.url}/oauth/token` });
    const answer = await fetch(`${gateway.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: proof },
      body: new URLSearchParams({ grant_type: 'client_credentials', ...M2M }).toString(),
    });
    expect(answer.status).toBe(400);
    expect(await answer.json()).toMatchObject({ error: 'invalid_dpop_proof' });
  });
});

describe('a resource server validating with oauth4webapi', () => {
  let token: string;
  let keyPair: oauth.CryptoKeyPair;
  let config: client.Configuration;

  beforeAll(async () => {
    const dpop = await dpopClient(gateway);
    ({ keyPair, config } = dpop);
    token = (await client.clientCredentialsGrant(config, { audience: API }, { DPoP: dpop.DPoP }))
      .access_token;
  });

  it("accepts the token with openid-client's own proof (fetchProtectedResource)", async () => {
    const dpop = await dpopClient(gateway);
    const own = await client.clientCredentialsGrant(
      dpop.config,
      { audience: API },
      { DPoP: dpop.DPoP },
    );
    const server: Server = createServer((req, res) => {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${req.url}`;
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers)) {
        if (typeof value === 'string') headers.set(name, value);
      }
      validate(dpop.config, new Request(url, { method: req.method ?? 'GET', headers })).then(
        (claims) => res.writeHead(200).end(String(claims.client_id)),
        (error: unknown) => res.writeHead(401).end(String(error)),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/accounts`);
      const answer = await client.fetchProtectedResource(
        dpop.config,
        own.access_token,
        url,
        'GET',
        undefined,
        undefined,
        { DPoP: dpop.DPoP },
      );
      expect(answer.status, await answer.clone().text()).toBe(200);
      expect(await answer.text()).toBe(M2M.client_id);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('accepts the token with a proof by its key', async () => {
    const claims = await validate(
      config,
      resourceRequest(token, await resourceProof(keyPair, token)),
    );
    expect(claims.cnf).toEqual({ jkt: await thumbprintOf(keyPair) });
  });

  it.each<[string, () => Promise<Request>]>([
    ['without a proof', async () => resourceRequest(token)],
    ['as a Bearer token', async () => resourceRequest(token, undefined, 'Bearer')],
    [
      'with a wrong htu',
      async () =>
        resourceRequest(token, await resourceProof(keyPair, token, { htu: `${RESOURCE}/other` })),
    ],
    [
      'with a wrong htm',
      async () => resourceRequest(token, await resourceProof(keyPair, token, { htm: 'POST' })),
    ],
    [
      'with a stale iat',
      async () =>
        resourceRequest(
          token,
          await resourceProof(keyPair, token, { iat: Math.floor(Date.now() / 1000) - 600 }),
        ),
    ],
    [
      "with another key's proof",
      async () =>
        resourceRequest(token, await resourceProof(await client.randomDPoPKeyPair(), token)),
    ],
  ])('refuses it %s', async (_name, request) => {
    await expect(validate(config, await request())).rejects.toThrow();
  });
});

describe('per-client modes (clients[].dpop)', () => {
  it('required: a request without a proof is 400 invalid_dpop_proof, before the upstream', async () => {
    const config = await discoverClient(gateway.issuer, STRICT);
    const before = upstream.tokenRequests().length;
    await expect(client.clientCredentialsGrant(config, { audience: API })).rejects.toMatchObject({
      error: 'invalid_dpop_proof',
      status: 400,
    });
    expect(upstream.tokenRequests().length).toBe(before);
  });

  it('required: with a proof, a DPoP token', async () => {
    const { config, DPoP } = await dpopClient(gateway, STRICT);
    const tokens = await client.clientCredentialsGrant(config, { audience: API }, { DPoP });
    expect(tokens.token_type).toBe('dpop');
  });

  it('off: a request with a proof is refused, never answered with an unbound token', async () => {
    const { config, DPoP } = await dpopClient(gateway, PLAIN);
    await expect(
      client.clientCredentialsGrant(config, { audience: API }, { DPoP }),
    ).rejects.toMatchObject({ error: 'invalid_dpop_proof' });
  });
});

describe('nonces (tokens.dpop.nonce)', () => {
  it('a proof without a nonce gets use_dpop_nonce and a nonce; openid-client retries and succeeds', async () => {
    const { config, keyPair, DPoP } = await dpopClient(noncing);
    const before = upstream.tokenRequests().length;
    const tokens = await client.clientCredentialsGrant(config, { audience: API }, { DPoP });
    expect(tokens.token_type).toBe('dpop');
    expect(jwtPayload(tokens.access_token).cnf).toEqual({ jkt: await thumbprintOf(keyPair) });
    // The first attempt was refused before the upstream: it was called once.
    expect(upstream.tokenRequests().length - before).toBe(1);
  });

  it('the refusal carries a fresh DPoP-Nonce, and a success one too', async () => {
    const { keyPair } = await dpopClient(noncing);
    const htu = `${noncing.issuer}/oauth/token`;
    const post = async (proof: string) =>
      fetch(`${noncing.url}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: proof },
        body: new URLSearchParams({ grant_type: 'client_credentials', ...M2M }).toString(),
      });
    const refused = await post(await proofBy(keyPair, { htm: 'POST', htu }));
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ error: 'use_dpop_nonce' });
    const nonce = refused.headers.get('dpop-nonce');
    expect(nonce).toMatch(/^[0-9a-z]+\.[A-Za-z0-9_-]{22}$/);
    const wrong = await post(await proofBy(keyPair, { htm: 'POST', htu, nonce: 'made-up' }));
    expect(await wrong.json()).toMatchObject({ error: 'use_dpop_nonce' });
    const accepted = await post(await proofBy(keyPair, { htm: 'POST', htu, nonce: nonce ?? '' }));
    expect(accepted.status).toBe(200);
    expect(accepted.headers.get('dpop-nonce')).toBe(nonce);
  });
});

describe('discovery', () => {
  it('advertises dpop_signing_alg_values_supported from tokens.dpop.algorithms', async () => {
    const document = (await (
      await fetch(`${gateway.url}/.well-known/openid-configuration`)
    ).json()) as Record<string, unknown>;
    expect(document.dpop_signing_alg_values_supported).toEqual([
      'ES256',
      'ES384',
      'ES512',
      'PS256',
      'PS384',
      'PS512',
      'EdDSA',
      'RS256',
    ]);
  });
});
