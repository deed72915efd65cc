/**
 * Certificate-bound access tokens (RFC 8705 §3) through scopegate's own TLS listener in front of
 * the Auth0 emulator, which knows nothing of mutual TLS: openid-client, presenting a client
 * certificate through its `customFetch`, gets a Bearer token carrying `cnf.x5t#S256` of that
 * certificate (self-signed ones bind too); a client configured for bound tokens is refused
 * without a certificate or with a DPoP proof before the upstream is asked; other clients' tokens
 * stay unbound; token exchange keeps the binding and asks for the same certificate; discovery
 * says so; and oauth4webapi's resource-server validation, which cannot see a TLS connection,
 * refuses the token rather than taking it for a bearer token.
 */
import { randomBytes, type X509Certificate } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificateThumbprint } from '../../proxy/http/certificate-thumbprint.js';
import {
  type RunningAuth0Emulator,
  startAuth0Emulator,
} from '../fixtures/auth0-emulator/auth0-emulator.js';
import { type SelfIssuedGateway, startSelfIssuedGateway } from '../oidc/self-issued-gateway.js';
import { jwtPayload } from '../support/gateway.js';
import { certificateClient, certificateFetch } from './certificate-fetch.js';
import { createMtlsPki, type KeyPair, type MtlsPki } from './mtls-pki.js';

const API = 'https://api.example.com';
const BOUND = { client_id: 'bound', client_secret: 'bound-secret' };
const PLAIN = { client_id: 'plain', client_secret: 'plain-secret' };
const EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

let pki: MtlsPki;
let upstream: RunningAuth0Emulator;
let gateway: SelfIssuedGateway;

beforeAll(async () => {
  pki = await createMtlsPki();
  upstream = await startAuth0Emulator({
    clients: [BOUND, PLAIN].map((registered) => ({
      clientId: registered.client_id,
      clientSecret: registered.client_secret,
      grants: { [API]: ['read:accounts', 'write:accounts'] },
    })),
    defaultAudience: API,
  });
  gateway = await startSelfIssuedGateway({
    upstreamUrl: upstream.url,
    scopeRequest: 'omit',
    admin: false,
    config: {
      server: {
        watch_config: false,
        tls: {
          cert_file: pki.server.certFile,
          key_file: pki.server.keyFile,
          client_ca_file: pki.caFile,
        },
      },
      clients: [{ client_id: BOUND.client_id, tls_client_certificate_bound_access_tokens: true }],
    },
  });
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
  await pki?.remove();
});

const thumbprint = (certificate: X509Certificate) => certificateThumbprint(certificate);

/** openid-client for `registered`, presenting `certificate` on every request it makes. */
async function mtlsClient(registered: typeof BOUND, certificate?: KeyPair) {
  return certificateClient(
    gateway.issuer,
    registered.client_id,
    client.ClientSecretBasic(registered.client_secret),
    {
      ca: pki.ca,
      client: certificate,
    },
  );
}

/** A token endpoint request as a client makes it, with Basic authentication. */
async function tokenRequest(
  registered: typeof BOUND,
  params: Record<string, string>,
  certificate?: KeyPair,
  headers: Record<string, string> = {},
) {
  const fetcher = certificateFetch({ ca: pki.ca, client: certificate });
  const response = await fetcher(`${gateway.issuer}/oauth/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${registered.client_id}:${registered.client_secret}`).toString('base64')}`,
      ...headers,
    },
    body: new URLSearchParams(params).toString(),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('a client configured for certificate-bound tokens', () => {
  it('gets a Bearer token bound to the certificate it presented (openid-client, customFetch)', async () => {
    const config = await mtlsClient(BOUND, pki.client);
    const tokens = await client.clientCredentialsGrant(config, { audience: API });
    expect(tokens.token_type).toBe('bearer');
    const claims = jwtPayload(tokens.access_token);
    expect(claims.cnf).toEqual({ 'x5t#S256': thumbprint(pki.client.certificate) });
    expect(claims.scope).toBe('read:accounts write:accounts');
  });

  it('binds to a self-signed certificate too: binding needs possession, not a chain', async () => {
    const config = await mtlsClient(BOUND, pki.selfSigned);
    const tokens = await client.clientCredentialsGrant(config, { audience: API });
    expect(jwtPayload(tokens.access_token).cnf).toEqual({
      'x5t#S256': thumbprint(pki.selfSigned.certificate),
    });
  });

  it('is refused without a certificate (400 invalid_request), before the upstream is asked', async () => {
    const before = upstream.tokenRequests().length;
    const answer = await tokenRequest(BOUND, { grant_type: 'client_credentials' });
    expect(answer.status).toBe(400);
    expect(answer.body.error).toBe('invalid_request');
    expect(answer.body.error_description).toContain('TLS client certificate');
    expect(upstream.tokenRequests().length).toBe(before);
  });

  it('is refused with a DPoP proof as well (one binding per client): 400 invalid_dpop_proof', async () => {
    const config = await mtlsClient(BOUND, pki.client);
    const DPoP = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'));
    const before = upstream.tokenRequests().length;
    await expect(
      client.clientCredentialsGrant(config, { audience: API }, { DPoP }),
    ).rejects.toMatchObject({ error: 'invalid_dpop_proof' });
    expect(upstream.tokenRequests().length).toBe(before);
  });

  it("is refused by oauth4webapi's resource-server validation, which cannot check a certificate", async () => {
    const config = await mtlsClient(BOUND, pki.client);
    const tokens = await client.clientCredentialsGrant(config, { audience: API });
    const request = new Request('https://rs.example.com/accounts', {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    await expect(
      oauth.validateJwtAccessToken(config.serverMetadata(), request, API, {
        [oauth.customFetch]: certificateFetch({ ca: pki.ca }),
      } as oauth.ValidateJWTAccessTokenOptions),
    ).rejects.toThrow(oauth.UnsupportedOperationError);
  });
});

describe('a client not configured for them', () => {
  it('gets an unbound Bearer token, certificate or not', async () => {
    for (const certificate of [pki.client, undefined]) {
      const config = await mtlsClient(PLAIN, certificate);
      const tokens = await client.clientCredentialsGrant(config, { audience: API });
      expect(tokens.token_type).toBe('bearer');
      expect(jwtPayload(tokens.access_token)).not.toHaveProperty('cnf');
    }
  });
});

describe('token exchange of a certificate-bound token', () => {
  let subject: string;

  beforeAll(async () => {
    const answer = await tokenRequest(BOUND, { grant_type: 'client_credentials' }, pki.client);
    expect(answer.status).toBe(200);
    subject = answer.body.access_token as string;
  });

  const exchangeWith = (certificate?: KeyPair, headers: Record<string, string> = {}) =>
    certificateFetch({ ca: pki.ca, client: certificate })(`${gateway.issuer}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams({
        grant_type: EXCHANGE_GRANT,
        subject_token: subject,
        subject_token_type: ACCESS_TOKEN_TYPE,
        scope: 'read:accounts',
      }).toString(),
    });

  it('keeps the binding, over a connection presenting the same certificate', async () => {
    const response = await exchangeWith(pki.client);
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body.token_type).toBe('Bearer');
    const claims = jwtPayload(body.access_token as string);
    expect(claims.cnf).toEqual({ 'x5t#S256': thumbprint(pki.client.certificate) });
    expect(claims.scope).toBe('read:accounts');
  });

  /** A valid DPoP proof for scopegate's token endpoint, by a fresh key. */
  async function tokenEndpointProof(): Promise<string> {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    return new SignJWT({
      jti: randomBytes(12).toString('base64url'),
      htm: 'POST',
      htu: `${gateway.issuer}/oauth/token`,
      iat: Math.floor(Date.now() / 1000),
    })
      .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: await exportJWK(publicKey) })
      .sign(privateKey);
  }

  it.each<[string, () => KeyPair | undefined, () => Promise<Record<string, string>>, string]>([
    ['without a certificate', () => undefined, async () => ({}), 'invalid_request'],
    ['with another certificate', () => pki.selfSigned, async () => ({}), 'invalid_request'],
    [
      'with a valid DPoP proof besides the certificate (one binding)',
      () => pki.client,
      async () => ({ dpop: await tokenEndpointProof() }),
      'invalid_dpop_proof',
    ],
  ])('is refused %s', async (_label, certificate, headers, error) => {
    const response = await exchangeWith(certificate(), await headers());
    expect(response.status).toBe(400);
    expect(((await response.json()) as Record<string, unknown>).error).toBe(error);
  });
});

describe('discovery', () => {
  it('advertises certificate-bound tokens, and no mTLS endpoint aliases', async () => {
    const response = await certificateFetch({ ca: pki.ca })(
      `${gateway.issuer}/.well-known/openid-configuration`,
    );
    const document = (await response.json()) as Record<string, unknown>;
    expect(document.tls_client_certificate_bound_access_tokens).toBe(true);
    expect(document).not.toHaveProperty('mtls_endpoint_aliases');
  });
});
