/**
 * scopegate's own userinfo and introspection for certificate-bound tokens (RFC 8705 §3), over its
 * TLS listener in front of node-oidc-provider (which never sees a certificate): a browser login
 * whose code openid-client redeems presenting a client certificate gives a Bearer token bound to
 * it; userinfo answers it only over a connection presenting that certificate, and refuses it with
 * another certificate, none, or in the DPoP scheme, each `401 invalid_token` with a
 * `WWW-Authenticate` challenge; introspection, to a resource server authenticating with
 * `tls_client_auth`, says `cnf` (and refuses it with another certificate or none); a refresh of the
 * (confidential) client
 * binds the new token to the certificate presented for it (RFC 8705 §3: certificates are renewed).
 */
import { randomBytes } from 'node:crypto';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificateThumbprint } from '../../proxy/http/certificate-thumbprint.js';
import { browse } from '../oidc/browser-login.js';
import {
  ACCOUNT,
  type LoginUpstream,
  M2M_CLIENT,
  startLoginUpstream,
  WEB_CLIENT,
} from '../oidc/login-upstream.js';
import { type SelfIssuedGateway, startSelfIssuedGateway } from '../oidc/self-issued-gateway.js';
import { jwtPayload } from '../support/gateway.js';
import { startPkceLogin } from '../support/pkce-login.js';
import { issueCertificate } from '../support/private-ca.js';
import { certificateClient, certificateFetch } from './certificate-fetch.js';
import { createMtlsPki, type KeyPair, type MtlsPki, pair } from './mtls-pki.js';

let pki: MtlsPki;
let upstream: LoginUpstream;
let gateway: SelfIssuedGateway;
let config: client.Configuration;
let token: string;
let refreshToken: string;
let userinfoUrl: string;
/** The certificate the resource server introspects with. */
let resourceServer: KeyPair;

/** openid-client for WEB_CLIENT, presenting `certificate` on every request it makes. */
async function webClient(certificate: KeyPair): Promise<client.Configuration> {
  return certificateClient(
    gateway.issuer,
    WEB_CLIENT.client_id,
    client.ClientSecretBasic(WEB_CLIENT.client_secret),
    {
      ca: pki.ca,
      client: certificate,
    },
  );
}

beforeAll(async () => {
  pki = await createMtlsPki();
  resourceServer = await pair(
    await issueCertificate(pki.dir, 'rs', '/CN=resource server', 'extendedKeyUsage=clientAuth\n'),
  );
  upstream = await startLoginUpstream({ userinfoTokens: true });
  gateway = await startSelfIssuedGateway({
    upstreamUrl: upstream.url,
    tokenPath: upstream.tokenPath,
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
      upstream: {
        token_format: 'auto',
        introspection: { client_id: M2M_CLIENT.client_id, client_secret: M2M_CLIENT.client_secret },
      },
      tokens: {
        refresh_token_key: randomBytes(32).toString('base64url'),
        upstream_token_key: randomBytes(32).toString('base64url'),
      },
      clients: [
        { client_id: WEB_CLIENT.client_id, tls_client_certificate_bound_access_tokens: true },
        // A resource server introspecting with its own certificate (RFC 8705 §2.1).
        {
          client_id: M2M_CLIENT.client_id,
          token_endpoint_auth_method: 'tls_client_auth',
          tls_client_auth_subject_dn: 'CN=resource server',
          upstream_auth: { method: 'client_secret_basic', client_secret: M2M_CLIENT.client_secret },
        },
      ],
    },
  });
  config = await webClient(pki.client);
  const pkce = await startPkceLogin(config, {
    redirect_uri: WEB_CLIENT.redirect_uri,
    scope: 'openid email offline_access',
  });
  // The browser presents no certificate: only the client's token request does.
  const callback = await browse(
    pkce.authorizationUrl.href,
    WEB_CLIENT.redirect_uri,
    new URL(gateway.url).origin,
    certificateFetch({ ca: pki.ca }),
  );
  const tokens = await pkce.redeem(new URL(callback));
  token = tokens.access_token;
  refreshToken = tokens.refresh_token as string;
  userinfoUrl = String(config.serverMetadata().userinfo_endpoint);
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
  await pki?.remove();
});

function userinfo(certificate: KeyPair | undefined, scheme = 'Bearer'): Promise<Response> {
  return certificateFetch({ ca: pki.ca, client: certificate })(userinfoUrl, {
    headers: { authorization: `${scheme} ${token}` },
  });
}

describe('a certificate-bound token from a login through scopegate', () => {
  it('is a Bearer token bound to the certificate the client redeemed the code with', () => {
    expect(jwtPayload(token).cnf).toEqual({
      'x5t#S256': certificateThumbprint(pki.client.certificate),
    });
  });

  it('openid-client reads userinfo with it over a connection presenting that certificate', async () => {
    const answer = await client.fetchUserInfo(config, token, ACCOUNT.sub);
    expect(answer).toMatchObject({ sub: ACCOUNT.sub, email: ACCOUNT.email });
  });

  it.each<[string, () => KeyPair | undefined]>([
    ['with another certificate (self-signed)', () => pki.selfSigned],
    ['with another certificate (another CA)', () => pki.foreign],
    ['without a certificate', () => undefined],
  ])('is refused %s: 401 invalid_token with a Bearer challenge', async (_name, certificate) => {
    const answer = await userinfo(certificate());
    expect(answer.status).toBe(401);
    expect(await answer.json()).toMatchObject({ error: 'invalid_token' });
    expect(answer.headers.get('www-authenticate') ?? '').toMatch(/^Bearer error="invalid_token"/);
  });

  it('is refused in the DPoP scheme, even with its certificate', async () => {
    const answer = await userinfo(pki.client, 'DPoP');
    expect(answer.status).toBe(401);
    expect(await answer.json()).toMatchObject({ error: 'invalid_token' });
  });

  const introspect = (certificate: KeyPair | undefined) =>
    certificateFetch({ ca: pki.ca, client: certificate })(
      String(config.serverMetadata().introspection_endpoint),
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token, client_id: M2M_CLIENT.client_id }).toString(),
      },
    );

  it('introspection, the resource server authenticated by its certificate, answers the binding and Bearer', async () => {
    const answer = await introspect(resourceServer);
    const body = (await answer.json()) as Record<string, unknown>;
    // RFC 8705 §3.2: the cnf, so that the resource server can compare its connection's certificate.
    expect(body).toMatchObject({
      active: true,
      token_type: 'Bearer',
      cnf: { 'x5t#S256': certificateThumbprint(pki.client.certificate) },
    });
  });

  it.each<[string, () => KeyPair | undefined]>([
    ['another certificate', () => pki.client],
    ['no certificate', () => undefined],
  ])('introspection refuses a resource server with %s: 401 invalid_client', async (_l, cert) => {
    const answer = await introspect(cert());
    expect(answer.status).toBe(401);
    expect(await answer.json()).toMatchObject({ error: 'invalid_client' });
  });

  it('a refresh binds the new token to the certificate presented for it (a renewed one)', async () => {
    const renewed = await webClient(pki.selfSigned);
    const refreshed = await client.refreshTokenGrant(renewed, refreshToken);
    expect(jwtPayload(refreshed.access_token).cnf).toEqual({
      'x5t#S256': certificateThumbprint(pki.selfSigned.certificate),
    });
  });
});
