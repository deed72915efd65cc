/**
 * Mutual TLS under the FAPI 2.0 profile (FAPI 2.0 §5.3.2.1: mTLS client authentication and
 * certificate-bound tokens, RFC 8705 §2.1 and §3), end to end over scopegate's own TLS listener in
 * front of an IdP that knows neither PAR nor mutual TLS (instant-login.ts). A held client
 * authenticated by `tls_client_auth` (the subject DN of a certificate the client CA issued) with
 * certificate-bound tokens pushes over mTLS, is authorized through scopegate and redeems its code
 * without any DPoP proof (openid-client, TlsClientAuth and PAR, its certificate through
 * customFetch): its token is a Bearer token carrying `cnf.x5t#S256` of that certificate; so does a
 * held `self_signed_tls_client_auth` client with `dpop: off`. Discovery lists both methods. Pushes and
 * token requests without the certificate, or with another one, are refused before the upstream is
 * asked; a held private_key_jwt client without a certificate binding still needs DPoP.
 */
import { createPublicKey } from 'node:crypto';
import { exportJWK, generateKeyPair } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificateThumbprint } from '../../proxy/http/certificate-thumbprint.js';
import { certificateClient, certificateFetch } from '../mtls/certificate-fetch.js';
import { createMtlsPki, type KeyPair, type MtlsPki, pair } from '../mtls/mtls-pki.js';
import { jwtPayload } from '../support/gateway.js';
import { issueCertificate } from '../support/private-ca.js';
import {
  APP,
  clientAssertion,
  heldClientRule,
  type InstantLogin,
  pkcePair,
  pushedParams,
  startInstantLogin,
  tokenProof,
} from './instant-login.js';

/** A client held to the profile (the top-level one), authenticated and bound by its certificate. */
const BANK = { client_id: 'bank', redirect_uri: 'https://bank.example/cb' } as const;
/** Held too, authenticated by the self-signed certificate it registered (RFC 8705 §2.2). */
const SELF_SIGNED = { client_id: 'fintech', redirect_uri: 'https://fintech.example/cb' } as const;
const CLIENT_EXTENSIONS = 'extendedKeyUsage=clientAuth\n';

let pki: MtlsPki;
let login: InstantLogin;
/** Issued by the client CA to the bank (the subject its rule names). */
let bankCertificate: KeyPair;
/** Issued by the same CA, to another subject. */
let otherCertificate: KeyPair;

beforeAll(async () => {
  pki = await createMtlsPki();
  bankCertificate = await pair(
    await issueCertificate(pki.dir, 'bank', '/C=SE/O=Example Bank/CN=bank', CLIENT_EXTENSIONS),
  );
  otherCertificate = await pair(
    await issueCertificate(
      pki.dir,
      'not-bank',
      '/C=SE/O=Example Bank/CN=teller',
      CLIENT_EXTENSIONS,
    ),
  );
  login = await startInstantLogin({
    server: {
      watch_config: false,
      tls: {
        cert_file: pki.server.certFile,
        key_file: pki.server.keyFile,
        client_ca_file: pki.caFile,
      },
    },
    clients: [
      {
        client_id: BANK.client_id,
        redirect_uris: [BANK.redirect_uri],
        token_endpoint_auth_method: 'tls_client_auth',
        tls_client_auth_subject_dn: 'CN=bank,O=Example Bank,C=SE',
        tls_client_certificate_bound_access_tokens: true,
        upstream_auth: { method: 'client_secret_post', client_secret: 'bank-secret' },
      },
      {
        client_id: SELF_SIGNED.client_id,
        redirect_uris: [SELF_SIGNED.redirect_uri],
        token_endpoint_auth_method: 'self_signed_tls_client_auth',
        jwks: {
          keys: [
            {
              ...(await exportJWK(createPublicKey(pki.selfSigned.cert))),
              x5c: [pki.selfSigned.certificate.raw.toString('base64')],
            },
          ],
        },
        tls_client_certificate_bound_access_tokens: true,
        dpop: 'off',
        upstream_auth: { method: 'client_secret_post', client_secret: 'fintech-secret' },
      },
      heldClientRule(APP),
    ],
  });
});

afterAll(async () => {
  await login?.close();
  await pki?.remove();
});

/** A form POST to one of scopegate's paths over its TLS listener, presenting `certificate`. */
function postOverTls(
  path: string,
  params: Record<string, string>,
  certificate: KeyPair | undefined,
  headers: Record<string, string> = {},
): Promise<Response> {
  return certificateFetch({ ca: pki.ca, client: certificate })(`${login.gateway.issuer}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(params).toString(),
  });
}

/** The browser at scopegate's authorization endpoint (no certificate): the redirect's URL. */
async function browse(authorizationUrl: URL): Promise<URL> {
  const answer = await certificateFetch({ ca: pki.ca })(authorizationUrl);
  const location = answer.headers.get('location');
  if (answer.status !== 302 || location === null) {
    throw new Error(`authorize answered ${answer.status}: ${await answer.text()}`);
  }
  return new URL(location);
}

/**
 * Pushed over mTLS with `certificate` (and, for a private_key_jwt client, its assertion), then
 * authorized: the code and the verifier to redeem it with.
 */
async function pushedCode(
  registered: { client_id: string; redirect_uri: string },
  certificate: KeyPair | undefined,
): Promise<{ code: string; verifier: string }> {
  const { verifier, challenge } = pkcePair();
  const pushed = await postOverTls(
    '/par',
    {
      ...pushedParams(registered, challenge),
      ...(await clientAssertion(login.gateway, registered.client_id)),
    },
    certificate,
  );
  expect(pushed.status).toBe(201);
  const { request_uri } = (await pushed.json()) as { request_uri: string };
  const authorization = new URL(`${login.gateway.issuer}/authorize`);
  authorization.searchParams.set('client_id', registered.client_id);
  authorization.searchParams.set('request_uri', request_uri);
  const callback = await browse(authorization);
  return { code: callback.searchParams.get('code') as string, verifier };
}

/** The code grant of `registered` over mTLS with `certificate`, without a DPoP proof unless given. */
async function redeemOverTls(
  registered: { client_id: string; redirect_uri: string },
  pushed: { code: string; verifier: string },
  certificate: KeyPair | undefined,
  headers: Record<string, string> = {},
): Promise<Response> {
  return postOverTls(
    '/oauth/token',
    {
      ...(await clientAssertion(login.gateway, registered.client_id)),
      grant_type: 'authorization_code',
      client_id: registered.client_id,
      code: pushed.code,
      code_verifier: pushed.verifier,
      redirect_uri: registered.redirect_uri,
    },
    certificate,
    headers,
  );
}

/** openid-client for the bank: TlsClientAuth, its certificate on every request it makes. */
async function bankClient(): Promise<client.Configuration> {
  return certificateClient(login.gateway.issuer, BANK.client_id, client.TlsClientAuth(), {
    ca: pki.ca,
    client: bankCertificate,
  });
}

describe('a held client authenticated and bound by its certificate', () => {
  it('pushes, is authorized and redeems over mTLS without DPoP: a Bearer token bound to its certificate', async () => {
    const config = await bankClient();
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const authorizationUrl = await client.buildAuthorizationUrlWithPAR(config, {
      redirect_uri: BANK.redirect_uri,
      scope: 'openid api.read',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });
    expect(authorizationUrl.href.startsWith(`${login.gateway.issuer}/authorize?`)).toBe(true);
    expect([...authorizationUrl.searchParams.keys()].sort()).toEqual(['client_id', 'request_uri']);
    const callback = await browse(authorizationUrl);
    expect(callback.searchParams.get('iss')).toBe(login.gateway.issuer);
    const asked = login.upstream.requests.length;
    // No DPoP option: openid-client sends no proof.
    const tokens = await client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    expect(tokens.token_type.toLowerCase()).toBe('bearer');
    const claims = jwtPayload(tokens.access_token);
    expect(claims).toMatchObject({ iss: login.gateway.issuer, client_id: BANK.client_id });
    expect(claims.cnf).toEqual({ 'x5t#S256': certificateThumbprint(bankCertificate.certificate) });
    // The upstream was asked once, with scopegate's credentials for the bank, no DPoP proof.
    expect(login.upstream.requests.length).toBe(asked + 1);
    const seen = login.upstream.requests.at(-1);
    expect(seen?.params.client_secret).toBe('bank-secret');
    expect(seen?.headers.dpop).toBeUndefined();
  });

  it('discovery lists mutual TLS among the methods the profile allows, and certificate binding', async () => {
    const metadata = (await bankClient()).serverMetadata();
    expect(metadata.token_endpoint_auth_methods_supported).toEqual([
      'private_key_jwt',
      'self_signed_tls_client_auth',
      'tls_client_auth',
    ]);
    expect(metadata.tls_client_certificate_bound_access_tokens).toBe(true);
  });

  it('self_signed_tls_client_auth, DPoP off: pushed and redeemed over mTLS, its token bound to its certificate', async () => {
    const redeemed = await redeemOverTls(
      SELF_SIGNED,
      await pushedCode(SELF_SIGNED, pki.selfSigned),
      pki.selfSigned,
    );
    expect(redeemed.status).toBe(200);
    const body = (await redeemed.json()) as { access_token: string; token_type: string };
    expect(body.token_type).toBe('Bearer');
    expect(jwtPayload(body.access_token)).toMatchObject({
      client_id: SELF_SIGNED.client_id,
      cnf: { 'x5t#S256': certificateThumbprint(pki.selfSigned.certificate) },
    });
  });

  it('a raw push over mTLS is answered 201 with a request_uri', async () => {
    const pushed = await postOverTls(
      '/par',
      pushedParams(BANK, pkcePair().challenge),
      bankCertificate,
    );
    expect(pushed.status).toBe(201);
    expect(await pushed.json()).toMatchObject({
      request_uri: expect.stringMatching(/^urn:ietf:params:oauth:request_uri:/),
      expires_in: 60,
    });
  });
});

interface Refusal {
  status: number;
  error: string;
}

async function refusalOf(response: Response): Promise<Refusal> {
  const body = (await response.json()) as { error: string; error_description: unknown };
  expect(typeof body.error_description).toBe('string');
  return { status: response.status, error: body.error };
}

describe('requests the profile refuses, over the TLS listener', () => {
  const rows: Array<[string, () => Promise<Response>, Refusal]> = [
    [
      'a push of the bank without a certificate',
      () => postOverTls('/par', pushedParams(BANK, pkcePair().challenge), undefined),
      { status: 401, error: 'invalid_client' },
    ],
    [
      'a push of the bank with a certificate of the same CA for another subject',
      () => postOverTls('/par', pushedParams(BANK, pkcePair().challenge), otherCertificate),
      { status: 401, error: 'invalid_client' },
    ],
    [
      "the bank's code redeemed over a connection with another certificate",
      async () => redeemOverTls(BANK, await pushedCode(BANK, bankCertificate), otherCertificate),
      { status: 401, error: 'invalid_client' },
    ],
    [
      "the bank's code redeemed without a certificate",
      async () => redeemOverTls(BANK, await pushedCode(BANK, bankCertificate), undefined),
      { status: 401, error: 'invalid_client' },
    ],
    [
      "the bank's code redeemed with a DPoP proof (its tokens are bound to its certificate)",
      async () =>
        redeemOverTls(BANK, await pushedCode(BANK, bankCertificate), bankCertificate, {
          dpop: await tokenProof(login.gateway, await generateKeyPair('ES256')),
        }),
      { status: 400, error: 'invalid_dpop_proof' },
    ],
    [
      "the self-signed client's code redeemed with a certificate of the client CA it did not register",
      async () =>
        redeemOverTls(SELF_SIGNED, await pushedCode(SELF_SIGNED, pki.selfSigned), pki.client),
      { status: 401, error: 'invalid_client' },
    ],
    [
      'a held private_key_jwt client without a certificate binding, redeeming without DPoP',
      async () => redeemOverTls(APP, await pushedCode(APP, undefined), undefined),
      { status: 400, error: 'invalid_dpop_proof' },
    ],
  ];

  it.each(rows)('%s: refused before the upstream is asked', async (_name, send, expected) => {
    const asked = login.upstream.requests.length;
    expect(await refusalOf(await send())).toEqual(expected);
    expect(login.upstream.requests.length).toBe(asked);
  });
});
