/**
 * Mutual TLS through scopegate in front of the real glewlwyd, which knows neither mutual TLS
 * client authentication nor certificate-bound tokens: openid-client's `TlsClientAuth` with a
 * client certificate (through `customFetch`) authenticates at scopegate's TLS listener by the
 * certificate's subject, scopegate asks glewlwyd with the client's secret there
 * (`upstream_auth`), and the token scopegate signs is bound to the certificate. A certificate
 * with the client's subject that does not chain to the client CA, or one that does with another
 * subject, authenticates nobody.
 */
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificateThumbprint } from '../../proxy/http/certificate-thumbprint.js';
import {
  CC_CLIENT,
  type GlewlwydIdp,
  startGlewlwyd,
} from '../fixtures/glewlwyd/identity-provider.js';
import { startGlewlwydGateway } from '../glewlwyd/glewlwyd-gateway.js';
import type { SelfIssuedGateway } from '../oidc/self-issued-gateway.js';
import { jwtPayload } from '../support/gateway.js';
import { createSelfSigned, issueCertificate } from '../support/private-ca.js';
import { certificateClient } from './certificate-fetch.js';
import { createMtlsPki, type KeyPair, type MtlsPki, pair } from './mtls-pki.js';

let pki: MtlsPki;
let idp: GlewlwydIdp;
let gateway: SelfIssuedGateway;
/** CN=scopegate (pki.client's subject), but self-signed, or issued by a CA not trusted for clients. */
let selfSignedNamed: KeyPair;
let foreignNamed: KeyPair;
/** Issued by the client CA for another subject. */
let otherSubject: KeyPair;

beforeAll(async () => {
  pki = await createMtlsPki();
  const clientAuth = 'extendedKeyUsage=clientAuth';
  selfSignedNamed = await pair(
    await createSelfSigned(pki.dir, 'self-named', '/CN=scopegate', [clientAuth]),
  );
  foreignNamed = await pair(
    await issueCertificate(
      pki.dir,
      'foreign-named',
      '/CN=scopegate',
      `${clientAuth}\n`,
      'other-ca',
    ),
  );
  otherSubject = await pair(
    await issueCertificate(pki.dir, 'other-subject', '/CN=someone else', `${clientAuth}\n`),
  );
  idp = await startGlewlwyd();
  gateway = await startGlewlwydGateway(idp, {
    config: {
      server: {
        watch_config: false,
        shutdown_grace: '5s',
        tls: {
          cert_file: pki.server.certFile,
          key_file: pki.server.keyFile,
          client_ca_file: pki.caFile,
        },
      },
      clients: [
        {
          client_id: CC_CLIENT.client_id,
          token_endpoint_auth_method: 'tls_client_auth',
          // pki.client's subject, as its owner would write it.
          tls_client_auth_subject_dn: 'CN=scopegate',
          tls_client_certificate_bound_access_tokens: true,
          upstream_auth: { method: 'client_secret_basic', client_secret: CC_CLIENT.client_secret },
        },
      ],
    },
  });
});

afterAll(async () => {
  await gateway?.close();
  await idp?.stop();
  await pki?.remove();
});

async function tlsClient(certificate: KeyPair): Promise<client.Configuration> {
  return certificateClient(gateway.issuer, CC_CLIENT.client_id, client.TlsClientAuth(), {
    ca: pki.ca,
    client: certificate,
  });
}

describe('openid-client with mutual TLS through scopegate in front of glewlwyd', () => {
  it('authenticates by its certificate and gets a token scopegate signed, bound to it', async () => {
    const config = await tlsClient(pki.client);
    expect(config.serverMetadata().token_endpoint_auth_methods_supported).toContain(
      'tls_client_auth',
    );
    const tokens = await client.clientCredentialsGrant(config, { scope: 'api.read' });
    expect(tokens.token_type).toBe('bearer');
    expect(jwtPayload(tokens.access_token)).toMatchObject({
      iss: gateway.issuer,
      scope: 'api.read',
      cnf: { 'x5t#S256': certificateThumbprint(pki.client.certificate) },
    });
  });

  it.each<[string, () => KeyPair]>([
    ['a self-signed certificate with its subject', () => selfSignedNamed],
    ['a certificate with its subject from another CA', () => foreignNamed],
    ['a certificate of the client CA with another subject', () => otherSubject],
  ])('authenticates nobody with %s', async (_label, certificate) => {
    const config = await tlsClient(certificate());
    await expect(
      client.clientCredentialsGrant(config, { scope: 'api.read' }),
    ).rejects.toMatchObject({ error: 'invalid_client', status: 401 });
  });
});
