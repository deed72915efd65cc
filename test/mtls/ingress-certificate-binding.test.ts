/**
 * Certificate-bound tokens behind an ingress that terminates TLS (a real forward hop: an https
 * proxy on port 0 that asks for a client certificate and passes it to scopegate in Envoy's
 * `X-Forwarded-Client-Cert`), in front of the Auth0 emulator: through the trusted ingress the
 * token is bound to the certificate the client presented to the ingress; the same header sent
 * straight to scopegate from a peer that is not a trusted proxy is ignored, so a client that must
 * have bound tokens is refused. Behind an ingress that verifies client certificates against the
 * client CA (`verified: always`), `tls_client_auth` works, and the same header from an untrusted
 * peer authenticates nobody.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificateThumbprint } from '../../proxy/http/certificate-thumbprint.js';
import {
  type RunningAuth0Emulator,
  startAuth0Emulator,
} from '../fixtures/auth0-emulator/auth0-emulator.js';
import { jwtPayload, startTestGateway, type TestGateway } from '../support/gateway.js';
import { certificateFetch } from './certificate-fetch.js';
import {
  type ForwardingProxy,
  startForwardingProxy,
  xfccElement,
} from './certificate-forwarding-proxy.js';
import { createMtlsPki, type KeyPair, type MtlsPki } from './mtls-pki.js';

const API = 'https://api.example.com';
const BOUND = { client_id: 'bound', client_secret: 'bound-secret' };
/** A tls_client_auth client; scopegate authenticates to the upstream with this secret for it. */
const TPP = { client_id: 'tpp', upstreamSecret: 'tpp-upstream-secret' };

let pki: MtlsPki;
let upstream: RunningAuth0Emulator;
let gateway: TestGateway;
let ingress: ForwardingProxy;

beforeAll(async () => {
  pki = await createMtlsPki();
  upstream = await startAuth0Emulator({
    clients: [
      { clientId: BOUND.client_id, clientSecret: BOUND.client_secret },
      { clientId: TPP.client_id, clientSecret: TPP.upstreamSecret },
    ].map((registered) => ({ ...registered, grants: { [API]: ['read:accounts'] } })),
    defaultAudience: API,
  });
  gateway = await startTestGateway({
    upstreamUrl: upstream.url,
    scopeRequest: 'omit',
    admin: false,
    config: {
      server: {
        watch_config: false,
        // The ingress connects from 127.0.0.1; a client connecting from 127.0.0.2 is not it.
        trusted_proxies: ['127.0.0.1/32'],
        client_certificate_header: { name: 'x-forwarded-client-cert', format: 'xfcc' },
      },
      clients: [{ client_id: BOUND.client_id, tls_client_certificate_bound_access_tokens: true }],
    },
  });
  ingress = await startForwardingProxy(pki.server, gateway.url);
});

afterAll(async () => {
  await ingress?.close();
  await gateway?.close();
  await upstream?.close();
  await pki?.remove();
});

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

async function clientCredentials(
  url: string,
  registered: typeof BOUND,
  options: { certificate?: KeyPair; localAddress?: string; headers?: Record<string, string> },
): Promise<Answer> {
  const fetcher = certificateFetch({
    ca: pki.ca,
    client: options.certificate,
    ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
  });
  const response = await fetcher(`${url}/oauth/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${registered.client_id}:${registered.client_secret}`).toString('base64')}`,
      ...options.headers,
    },
    body: 'grant_type=client_credentials',
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** What an attacker would send straight to scopegate: the header naming another's certificate. */
const forged = () => ({
  'x-forwarded-client-cert': xfccElement(pki.client.cert, pki.client.certificate.raw),
});

describe('through a trusted ingress that terminates TLS', () => {
  it('binds the token to the certificate the client presented to the ingress', async () => {
    for (const certificate of [pki.client, pki.selfSigned]) {
      const answer = await clientCredentials(ingress.url, BOUND, { certificate });
      expect(answer.status).toBe(200);
      expect(answer.body.token_type).toBe('Bearer');
      expect(jwtPayload(answer.body.access_token as string).cnf).toEqual({
        'x5t#S256': certificateThumbprint(certificate.certificate),
      });
    }
  });

  it('refuses a bound client that presented no certificate to the ingress', async () => {
    const answer = await clientCredentials(ingress.url, BOUND, { headers: forged() });
    // The ingress replaced the client's header with none: there is no certificate.
    expect(answer.status).toBe(400);
    expect(answer.body.error).toBe('invalid_request');
  });
});

describe('the header from a peer that is not a trusted proxy', () => {
  it('is ignored: a bound client is refused as if it had sent no certificate', async () => {
    const answer = await clientCredentials(gateway.url, BOUND, {
      localAddress: '127.0.0.2',
      headers: forged(),
    });
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ error: 'invalid_request' });
    expect(answer.body.error_description).toContain('no TLS client certificate was presented');
    expect(gateway.logs.text()).toContain(
      'client certificate header from a peer that is not a trusted proxy: ignored',
    );
  });

  it('is read from the trusted peer itself (the same request from 127.0.0.1 binds)', async () => {
    const answer = await clientCredentials(gateway.url, BOUND, { headers: forged() });
    expect(answer.status).toBe(200);
    expect(jwtPayload(answer.body.access_token as string).cnf).toEqual({
      'x5t#S256': certificateThumbprint(pki.client.certificate),
    });
  });
});

describe('tls_client_auth behind an ingress that verifies client certificates', () => {
  let verifying: TestGateway;
  let verifyingIngress: ForwardingProxy;

  beforeAll(async () => {
    verifying = await startTestGateway({
      upstreamUrl: upstream.url,
      scopeRequest: 'omit',
      admin: false,
      config: {
        server: {
          watch_config: false,
          trusted_proxies: ['127.0.0.1/32'],
          client_certificate_header: {
            name: 'x-forwarded-client-cert',
            format: 'xfcc',
            verified: 'always',
          },
        },
        clients: [
          {
            client_id: TPP.client_id,
            token_endpoint_auth_method: 'tls_client_auth',
            tls_client_auth_subject_dn: 'CN=scopegate',
            upstream_auth: { method: 'client_secret_basic', client_secret: TPP.upstreamSecret },
          },
        ],
      },
    });
    verifyingIngress = await startForwardingProxy(pki.server, verifying.url, pki.ca);
  });

  afterAll(async () => {
    await verifyingIngress?.close();
    await verifying?.close();
  });

  const tlsClientAuth = (
    url: string,
    options: { certificate?: KeyPair; localAddress?: string; headers?: Record<string, string> },
  ) =>
    certificateFetch({
      ca: pki.ca,
      client: options.certificate,
      ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
    })(`${url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...options.headers },
      body: `grant_type=client_credentials&client_id=${TPP.client_id}`,
    });

  it('authenticates the client by the certificate it presented to the ingress', async () => {
    const response = await tlsClientAuth(verifyingIngress.url, { certificate: pki.client });
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(jwtPayload(body.access_token as string)).toMatchObject({ client_id: TPP.client_id });
  });

  it('authenticates nobody with the same header from a peer that is not a trusted proxy', async () => {
    const response = await tlsClientAuth(verifying.url, {
      localAddress: '127.0.0.2',
      headers: forged(),
    });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: 'invalid_client' });
  });
});
