/**
 * The configuration check refuses settings that contradict the FAPI 2.0 profile, each error
 * naming its path; conforming settings pass, and the contract without a profile is unchanged.
 */
import { createPublicKey } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { exportJWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../config/load.js';
import { clientKey } from '../client-auth/client-auth-harness.js';
import { errorsOf, MINIMAL } from '../config/minimal-config.js';
import { createSelfSigned } from '../support/private-ca.js';

/** The DPoP proof algorithms the profile allows: one list serves every client. */
const PROOFS = 'tokens:\n  dpop:\n    algorithms: [ES256, PS256, EdDSA]\n';
const BASE = `${MINIMAL}${PROOFS}`;
const RSA_KEYS = BASE.replace('alg: ES256', 'alg: RS256');

/** A client authenticated by scopegate with private_key_jwt, as the profile requires. */
const JWK = JSON.stringify((await clientKey('bank-1')).publicJwk);
const BANK_AUTH = `    token_endpoint_auth_method: private_key_jwt\n    jwks: {keys: [${JWK}]}\n    upstream_auth: {method: client_secret_basic, client_secret: s3cret}\n`;

function valid(text: string): boolean {
  return parseConfigText(text, 'cfg.yaml', {}).ok;
}

/** A listener asking for client certificates, which mutual TLS and certificate binding need. */
const TLS = `${BASE}server:\n  tls: {cert_file: s.crt, key_file: s.key, client_ca_file: ca.crt}\n`;
const UPSTREAM_AUTH = '    upstream_auth: {method: client_secret_basic, client_secret: s3cret}\n';
/** A held client authenticated by the subject of its CA-issued certificate. */
const BANK_TLS = `    token_endpoint_auth_method: tls_client_auth\n    tls_client_auth_subject_dn: "CN=bank,O=Example Bank"\n${UPSTREAM_AUTH}`;

let workDir: string;
/** A held client authenticated by the self-signed certificate it registered (x5c in jwks). */
let bankSelfSigned: string;

beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'scopegate-fapi2-config-'));
  const files = await createSelfSigned(workDir, 'bank', '/CN=bank', [
    'extendedKeyUsage=clientAuth',
  ]);
  const pem = await readFile(files.cert, 'utf8');
  const jwk = {
    ...(await exportJWK(createPublicKey(pem))),
    x5c: [pem.replace(/-----[A-Z ]+-----|\s/g, '')],
  };
  bankSelfSigned = `    token_endpoint_auth_method: self_signed_tls_client_auth\n    jwks: {keys: [${JSON.stringify(jwk)}]}\n${UPSTREAM_AUTH}`;
});

afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

describe('mutual TLS under the fapi2 profile in the configuration', () => {
  const rows: Array<[string, () => string, true | RegExp]> = [
    [
      'a held client authenticated with tls_client_auth',
      () => `${TLS}profile: fapi2\nclients:\n  - client_id: bank\n${BANK_TLS}`,
      true,
    ],
    [
      'a held client authenticated with self_signed_tls_client_auth',
      () => `${TLS}clients:\n  - client_id: bank\n    profile: fapi2\n${bankSelfSigned}`,
      true,
    ],
    [
      'DPoP off for a held client whose tokens are bound to its certificate',
      () =>
        `${TLS}profile: fapi2\nclients:\n  - client_id: bank\n    dpop: "off"\n    tls_client_certificate_bound_access_tokens: true\n${BANK_TLS}`,
      true,
    ],
    [
      'DPoP off for a held mutual TLS client whose tokens are not bound to its certificate',
      () =>
        `${TLS}profile: fapi2\nclients:\n  - client_id: bank\n    dpop: "off"\n    tls_client_certificate_bound_access_tokens: false\n${BANK_TLS}`,
      /clients\[0\]\.dpop: fapi2 requires sender-constrained tokens/,
    ],
    [
      'a held client authenticated with client_secret_basic, over the TLS listener too',
      () =>
        `${TLS}profile: fapi2\nclients:\n  - client_id: bank\n    token_endpoint_auth_method: client_secret_basic\n    tls_client_certificate_bound_access_tokens: true\n`,
      /clients\[0\]\.token_endpoint_auth_method: fapi2 requires private_key_jwt or mutual TLS .*found client_secret_basic/,
    ],
  ];

  it.each(rows)('%s', (_name, text, expected) => {
    if (expected === true) {
      const parsed = parseConfigText(text(), 'cfg.yaml', {});
      expect(parsed.ok ? [] : parsed.errors).toEqual([]);
    } else {
      expect(errorsOf(text()).join('\n')).toMatch(expected);
    }
  });
});

describe('the fapi2 profile in the configuration', () => {
  it('accepts the profile with an ES256 key, per client too, with registered redirect URIs', () => {
    expect(valid(`${BASE}profile: fapi2\n`)).toBe(true);
    expect(
      valid(
        `${BASE}clients:\n  - client_id: bank\n    profile: fapi2\n    redirect_uris: ["https://bank.example/cb"]\n${BANK_AUTH}`,
      ),
    ).toBe(true);
    expect(valid(`${BASE}profile: fapi2\nclients:\n  - client_id: bank\n${BANK_AUTH}`)).toBe(true);
    expect(valid(RSA_KEYS)).toBe(true);
    expect(valid(MINIMAL.replace('alg: ES256', 'alg: RS256'))).toBe(true);
  });

  const refused: Array<[string, string, RegExp]> = [
    [
      'ID and access tokens signed RS256 under the top-level profile',
      `${RSA_KEYS}profile: fapi2\n`,
      /profile: fapi2 allows PS256, ES256 and EdDSA signatures only: .* RS256/,
    ],
    [
      'ID tokens signed RS256 for a client held to the profile',
      `${RSA_KEYS}clients:\n  - client_id: bank\n    profile: fapi2\n`,
      /clients\[0\]\.profile: fapi2 allows PS256, ES256 and EdDSA/,
    ],
    [
      "a held client's token profile signing RS256",
      `${BASE.replace(
        '      private_key_file: "k1.pem"\n',
        '      private_key_file: "k1.pem"\n    - kid: "k2"\n      alg: RS256\n      private_key_file: "k2.pem"\n  default_alg: ES256\n',
      )}profile: fapi2\nclients:\n  - client_id: bank\n    token: {alg: RS256}\n`,
      /clients\[0\]\.token\.alg: fapi2 allows PS256, ES256 and EdDSA signatures only, not RS256/,
    ],
    [
      'a profile on a rule for one audience',
      `${BASE}clients:\n  - client_id: bank\n    audience: https://api\n    profile: fapi2\n`,
      /clients\[0\]\.profile: profile applies to the client, whatever the audience/,
    ],
    [
      'a redirect URI with a fragment',
      `${MINIMAL}clients:\n  - client_id: bank\n    redirect_uris: ["https://bank.example/cb#x"]\n`,
      /clients\[0\]\.redirect_uris\[0\]: a redirect URI has no fragment/,
    ],
    [
      'codes living longer than 60 s',
      `${BASE}profile: fapi2\npushed_authorization:\n  code_lifetime: 2m\n`,
      /pushed_authorization\.code_lifetime: at most 60s/,
    ],
    [
      'a request_uri living longer than 600 s',
      `${BASE}profile: fapi2\npushed_authorization:\n  request_uri_lifetime: 11m\n`,
      /pushed_authorization\.request_uri_lifetime: between 5s and 600s/,
    ],
    [
      'a Redis store without Redis',
      `${BASE}profile: fapi2\npushed_authorization:\n  store: redis\n`,
      /pushed_authorization\.redis: store redis needs redis/,
    ],
    ['another profile', `${MINIMAL}profile: fapi1\n`, /profile/],
    [
      'a held client authenticated with a secret',
      `${BASE}clients:\n  - client_id: bank\n    profile: fapi2\n    token_endpoint_auth_method: client_secret_basic\n`,
      /clients\[0\]\.token_endpoint_auth_method: fapi2 requires private_key_jwt .*found client_secret_basic/,
    ],
    [
      'a client listed under the top-level profile without client authentication',
      `${BASE}profile: fapi2\nclients:\n  - client_id: bank\n    scope_format: array\n`,
      /clients\[0\]\.token_endpoint_auth_method: fapi2 requires private_key_jwt .*none set/,
    ],
    [
      'DPoP proofs signed with algorithms the profile does not allow (the default list)',
      `${MINIMAL}profile: fapi2\n`,
      /tokens\.dpop\.algorithms: fapi2 allows PS256, ES256 and EdDSA .* remove ES384, ES512, PS384, PS512, RS256/,
    ],
    [
      'DPoP off for a client held to the profile',
      `${BASE}profile: fapi2\nclients:\n  - client_id: bank\n    dpop: "off"\n`,
      /clients\[0\]\.dpop: fapi2 requires sender-constrained tokens/,
    ],
  ];

  it.each(refused)('refuses %s', (_name, text, expected) => {
    const errors = errorsOf(text);
    expect(errors.join('\n')).toMatch(expected);
  });
});
