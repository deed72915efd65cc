/**
 * The configuration of mutual TLS client authentication (RFC 8705 §2), as a table: what the schema
 * refuses for `tls_client_auth` (exactly one registered name, a source of chained certificates, a
 * well-formed DN or IP) and `self_signed_tls_client_auth` (certificates in `jwks` x5c whose key is
 * the JWK's), and that neither takes a secret or goes without `upstream_auth`.
 */
import { createPublicKey } from 'node:crypto';
import { exportJWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../config/load.js';
import { createMtlsPki, type MtlsPki } from './mtls-pki.js';

let pki: MtlsPki;
/** The self-signed certificate's JWK with its x5c; another key's JWK with the same x5c. */
let registered: Record<string, unknown>;
let mismatched: Record<string, unknown>;

beforeAll(async () => {
  pki = await createMtlsPki();
  const x5c = [pki.selfSigned.certificate.raw.toString('base64')];
  registered = { ...(await exportJWK(createPublicKey(pki.selfSigned.cert))), x5c };
  mismatched = { ...(await exportJWK(createPublicKey(pki.client.cert))), x5c };
});

afterAll(async () => {
  await pki?.remove();
});

const TLS = 'server: { tls: { cert_file: a, key_file: b, client_ca_file: c } }';
const UPSTREAM = 'upstream_auth: { method: client_secret_basic, client_secret: s }';

function errorsOf(lines: string[]): string {
  const parsed = parseConfigText(
    [
      'issuer: https://gateway.test',
      'upstream: { url: "https://idp.test", token_path: /oauth/token }',
      'signing: { keys: [{ kid: k, alg: ES256, private_key_file: k.pem, status: active }] }',
      ...lines,
    ].join('\n'),
    '/tmp/scopegate.yaml',
    {},
  );
  return parsed.ok ? '' : parsed.errors.join('\n');
}

const client = (members: string) => `clients: [{ client_id: x, ${members} }]`;

describe('tls_client_auth', () => {
  const table: Array<[string, string[], string | undefined]> = [
    [
      'a subject DN',
      [
        TLS,
        client(
          `token_endpoint_auth_method: tls_client_auth, tls_client_auth_subject_dn: "CN=a,O=b", ${UPSTREAM}`,
        ),
      ],
      undefined,
    ],
    [
      'a SAN, certificates from a verifying ingress',
      [
        'server: { client_certificate_header: { name: x-forwarded-client-cert, format: xfcc, verified: always } }',
        client(
          `token_endpoint_auth_method: tls_client_auth, tls_client_auth_san_dns: a.example, ${UPSTREAM}`,
        ),
      ],
      undefined,
    ],
    [
      'no name',
      [TLS, client(`token_endpoint_auth_method: tls_client_auth, ${UPSTREAM}`)],
      'tls_client_auth needs exactly one of',
    ],
    [
      'two names',
      [
        TLS,
        client(
          `token_endpoint_auth_method: tls_client_auth, tls_client_auth_san_dns: a, tls_client_auth_san_uri: "https://a", ${UPSTREAM}`,
        ),
      ],
      'tls_client_auth needs exactly one of',
    ],
    [
      'no certificate can be called chained (an ingress that verifies nothing)',
      [
        'server: { client_certificate_header: { name: x-forwarded-client-cert, format: xfcc } }',
        client(
          `token_endpoint_auth_method: tls_client_auth, tls_client_auth_san_dns: a, ${UPSTREAM}`,
        ),
      ],
      'tls_client_auth needs certificates verified against client CAs',
    ],
    [
      'no certificate at all',
      [
        client(
          `token_endpoint_auth_method: tls_client_auth, tls_client_auth_san_dns: a, ${UPSTREAM}`,
        ),
      ],
      'no client certificate can reach scopegate',
    ],
    [
      'a DN that does not parse',
      [
        TLS,
        client(
          `token_endpoint_auth_method: tls_client_auth, tls_client_auth_subject_dn: "CN", ${UPSTREAM}`,
        ),
      ],
      'expected an RFC 4514 distinguished name',
    ],
    [
      'an IP that is not one',
      [
        TLS,
        client(
          `token_endpoint_auth_method: tls_client_auth, tls_client_auth_san_ip: "10.0.0", ${UPSTREAM}`,
        ),
      ],
      'expected an IPv4 or IPv6 address',
    ],
    [
      'without upstream_auth',
      [TLS, client('token_endpoint_auth_method: tls_client_auth, tls_client_auth_san_dns: a')],
      'tls_client_auth is verified by scopegate',
    ],
    [
      'with a secret',
      [
        TLS,
        client(
          `token_endpoint_auth_method: tls_client_auth, tls_client_auth_san_dns: a, client_secret: s, ${UPSTREAM}`,
        ),
      ],
      'client_secret: not used by tls_client_auth',
    ],
    [
      'a name without the method',
      [TLS, client('tls_client_auth_san_dns: a')],
      'used by token_endpoint_auth_method: tls_client_auth only',
    ],
  ];
  for (const [label, lines, error] of table) {
    it(`${label}: ${error ?? 'accepted'}`, () => {
      const errors = errorsOf(lines);
      if (error === undefined) expect(errors).toBe('');
      else expect(errors).toContain(error);
    });
  }
});

describe('self_signed_tls_client_auth', () => {
  const selfSigned = (jwks: string) =>
    client(`token_endpoint_auth_method: self_signed_tls_client_auth, ${jwks}, ${UPSTREAM}`);
  const table: Array<[string, () => string[], string | undefined]> = [
    [
      'its certificate in jwks',
      () => [TLS, selfSigned(`jwks: { keys: [${JSON.stringify(registered)}] }`)],
      undefined,
    ],
    [
      'a key without x5c',
      () => [
        TLS,
        selfSigned(`jwks: { keys: [${JSON.stringify({ ...registered, x5c: undefined })}] }`),
      ],
      'no x5c',
    ],
    [
      "an x5c whose key is not the JWK's",
      () => [TLS, selfSigned(`jwks: { keys: [${JSON.stringify(mismatched)}] }`)],
      "x5c[0]'s public key is not the JWK's",
    ],
    [
      'a jwks_uri',
      () => [TLS, selfSigned('jwks_uri: "https://client.example/jwks"')],
      'self_signed_tls_client_auth takes its certificates from jwks (x5c)',
    ],
    [
      'no jwks',
      () => [TLS, client(`token_endpoint_auth_method: self_signed_tls_client_auth, ${UPSTREAM}`)],
      'needs the client’s certificates in jwks (x5c)',
    ],
  ];
  for (const [label, lines, error] of table) {
    it(`${label}: ${error ?? 'accepted'}`, () => {
      const errors = errorsOf(lines());
      if (error === undefined) expect(errors).toBe('');
      else expect(errors).toContain(error);
    });
  }
});
