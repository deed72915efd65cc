/**
 * Mutual TLS client authentication (RFC 8705 §2) verified by scopegate, over its own TLS listener
 * in front of the Auth0 emulator (which knows only client secrets): openid-client's `TlsClientAuth`
 * with a client certificate through `customFetch`. A table of certificates against clients:
 * `tls_client_auth` by subject DN (compared as a name) and by each SAN type, refusing a wrong
 * subject, a certificate of another CA and a self-signed one with the right subject;
 * `self_signed_tls_client_auth` accepting the certificate registered in `jwks` (x5c) and refusing
 * any other. The upstream is authenticated with `clients[].upstream_auth`, never sees a
 * certificate, and is not asked when scopegate refuses. Discovery lists the methods.
 */
import { createPublicKey } from 'node:crypto';
import { exportJWK } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificateThumbprint } from '../../proxy/http/certificate-thumbprint.js';
import {
  type RunningAuth0Emulator,
  startAuth0Emulator,
} from '../fixtures/auth0-emulator/auth0-emulator.js';
import { type SelfIssuedGateway, startSelfIssuedGateway } from '../oidc/self-issued-gateway.js';
import { jwtPayload } from '../support/gateway.js';
import { createSelfSigned, issueCertificate } from '../support/private-ca.js';
import { certificateClient, certificateFetch } from './certificate-fetch.js';
import { createMtlsPki, type KeyPair, type MtlsPki, pair } from './mtls-pki.js';

const API = 'https://api.example.com';
const CLIENT_EXTENSIONS = 'extendedKeyUsage=clientAuth\n';
const SUBJECT = '/C=SE/O=Example Bank/OU=Payments/CN=tpp-client';
const SANS =
  'subjectAltName=DNS:tpp.example.com,URI:https://tpp.example.com/client,IP:10.1.2.3,email:ops@tpp.example.com\n';

/** scopegate's clients (each also registered at the upstream, with its upstream secret). */
const CLIENTS = {
  // A name written as people do: other case, spaces after commas, most significant last.
  'tpp-dn': { tls_client_auth_subject_dn: 'cn=TPP-Client, OU=Payments, O=Example  Bank, C=SE' },
  'tpp-dns': { tls_client_auth_san_dns: 'TPP.example.com' },
  'tpp-uri': { tls_client_auth_san_uri: 'https://tpp.example.com/client' },
  'tpp-ip': { tls_client_auth_san_ip: '10.1.2.3' },
  'tpp-email': { tls_client_auth_san_email: 'ops@TPP.example.com' },
} as const;
type ClientName = keyof typeof CLIENTS | 'tpp-self';

let pki: MtlsPki;
let upstream: RunningAuth0Emulator;
let gateway: SelfIssuedGateway;
/** Issued by the client CA with SUBJECT. */
let named: KeyPair;
/** Issued by the client CA with SUBJECT's CN changed. */
let otherSubject: KeyPair;
/** Issued by the client CA with SANS (and a subject no client registers). */
let withSans: KeyPair;
/** SUBJECT, but self-signed; SUBJECT, but issued by a CA not trusted for clients. */
let selfSignedNamed: KeyPair;
let foreignNamed: KeyPair;
/** Another self-signed certificate than the one registered. */
let unregistered: KeyPair;

const upstreamSecret = (id: string) => `${id}-upstream-secret`;

beforeAll(async () => {
  pki = await createMtlsPki();
  const { dir } = pki;
  named = await pair(await issueCertificate(dir, 'named', SUBJECT, CLIENT_EXTENSIONS));
  otherSubject = await pair(
    await issueCertificate(
      dir,
      'other-subject',
      SUBJECT.replace('tpp-client', 'tpp-other'),
      CLIENT_EXTENSIONS,
    ),
  );
  withSans = await pair(
    await issueCertificate(dir, 'with-sans', '/CN=san client', `${SANS}${CLIENT_EXTENSIONS}`),
  );
  selfSignedNamed = await pair(
    await createSelfSigned(dir, 'self-named', SUBJECT, ['extendedKeyUsage=clientAuth']),
  );
  foreignNamed = await pair(
    await issueCertificate(dir, 'foreign-named', SUBJECT, CLIENT_EXTENSIONS, 'other-ca'),
  );
  unregistered = await pair(
    await createSelfSigned(dir, 'unregistered', '/CN=self-signed client', [
      'extendedKeyUsage=clientAuth',
    ]),
  );
  const ids: ClientName[] = [...(Object.keys(CLIENTS) as ClientName[]), 'tpp-self'];
  upstream = await startAuth0Emulator({
    clients: ids.map((id) => ({
      clientId: id,
      clientSecret: upstreamSecret(id),
      grants: { [API]: ['read:accounts'] },
    })),
    defaultAudience: API,
  });
  const registered = {
    ...(await exportJWK(createPublicKey(pki.selfSigned.cert))),
    x5c: [pki.selfSigned.certificate.raw.toString('base64')],
  };
  const upstreamAuth = (id: string) => ({
    method: 'client_secret_basic',
    client_secret: upstreamSecret(id),
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
      clients: [
        ...Object.entries(CLIENTS).map(([id, name]) => ({
          client_id: id,
          token_endpoint_auth_method: 'tls_client_auth',
          ...name,
          upstream_auth: upstreamAuth(id),
          // FAPI's pairing: authenticated by the certificate, tokens bound to it.
          ...(id === 'tpp-dn' ? { tls_client_certificate_bound_access_tokens: true } : {}),
        })),
        {
          client_id: 'tpp-self',
          token_endpoint_auth_method: 'self_signed_tls_client_auth',
          jwks: { keys: [registered] },
          upstream_auth: upstreamAuth('tpp-self'),
        },
      ],
    },
  });
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
  await pki?.remove();
});

/** openid-client with TlsClientAuth for `id`, presenting `certificate`. */
async function tlsClient(id: ClientName, certificate: KeyPair | undefined) {
  return certificateClient(gateway.issuer, id, client.TlsClientAuth(), {
    ca: pki.ca,
    client: certificate,
  });
}

describe('tls_client_auth and self_signed_tls_client_auth, verified by scopegate', () => {
  const table: Array<[ClientName, string, () => KeyPair | undefined, boolean]> = [
    ['tpp-dn', 'its certificate (subject DN)', () => named, true],
    ['tpp-dn', 'a certificate of the same CA with another subject', () => otherSubject, false],
    ['tpp-dn', 'a self-signed certificate with its subject', () => selfSignedNamed, false],
    ['tpp-dn', 'a certificate with its subject from another CA', () => foreignNamed, false],
    ['tpp-dn', 'no certificate', () => undefined, false],
    ['tpp-dns', 'a certificate with its dNSName SAN', () => withSans, true],
    ['tpp-dns', 'a certificate without it', () => named, false],
    ['tpp-uri', 'a certificate with its URI SAN', () => withSans, true],
    ['tpp-uri', 'a certificate without it', () => named, false],
    ['tpp-ip', 'a certificate with its iPAddress SAN', () => withSans, true],
    ['tpp-ip', 'a certificate without it', () => named, false],
    ['tpp-email', 'a certificate with its rfc822Name SAN', () => withSans, true],
    ['tpp-email', 'a certificate without it', () => named, false],
    ['tpp-self', 'the self-signed certificate it registered', () => pki.selfSigned, true],
    ['tpp-self', 'another self-signed certificate', () => unregistered, false],
    ['tpp-self', 'a certificate of the client CA it did not register', () => pki.client, false],
    ['tpp-self', 'no certificate', () => undefined, false],
  ];

  for (const [id, label, certificate, accepted] of table) {
    it(`${id} with ${label}: ${accepted ? 'authenticated' : '401 invalid_client'}`, async () => {
      const config = await tlsClient(id, certificate());
      const before = upstream.tokenRequests().length;
      const grant = client.clientCredentialsGrant(config, { audience: API });
      if (!accepted) {
        await expect(grant).rejects.toMatchObject({ error: 'invalid_client', status: 401 });
        expect(upstream.tokenRequests().length).toBe(before);
        return;
      }
      const tokens = await grant;
      expect(jwtPayload(tokens.access_token)).toMatchObject({ client_id: id });
      // The upstream got scopegate's credentials for the client, nothing of the certificate.
      const seen = upstream.tokenRequests().at(-1);
      const basic = Buffer.from(`${id}:${upstreamSecret(id)}`).toString('base64');
      expect(seen?.headers.authorization).toBe(`Basic ${basic}`);
      expect(JSON.stringify(seen?.headers)).not.toContain('BEGIN');
    });
  }

  it('a client secret instead of the certificate is refused (the client is held to its method)', async () => {
    const response = await certificateFetch({ ca: pki.ca, client: named })(
      `${gateway.issuer}/oauth/token`,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`tpp-dn:${upstreamSecret('tpp-dn')}`).toString('base64')}`,
        },
        body: 'grant_type=client_credentials',
      },
    );
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: 'invalid_client' });
  });

  it('authenticated by its certificate and configured for bound tokens, its token is bound to it', async () => {
    const tokens = await client.clientCredentialsGrant(await tlsClient('tpp-dn', named), {
      audience: API,
    });
    expect(tokens.token_type).toBe('bearer');
    expect(jwtPayload(tokens.access_token).cnf).toEqual({
      'x5t#S256': certificateThumbprint(named.certificate),
    });
  });

  it('discovery lists both methods', async () => {
    const config = await tlsClient('tpp-dn', named);
    const methods = config.serverMetadata().token_endpoint_auth_methods_supported ?? [];
    expect(methods).toEqual(
      expect.arrayContaining(['tls_client_auth', 'self_signed_tls_client_auth']),
    );
    expect(config.serverMetadata().tls_client_certificate_bound_access_tokens).toBe(true);
  });
});
