/**
 * server.tls, server.client_certificate_header and
 * clients[].tls_client_certificate_bound_access_tokens in the configuration: what the schema
 * refuses, and what `check` says about the listener's files, as the gateway would read them.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../config/load.js';
import { checkConfig } from '../../proxy/cli/check.js';
import { prepareTestConfig, type TestConfig } from '../support/gateway.js';
import { createMtlsPki, type MtlsPki } from './mtls-pki.js';

let pki: MtlsPki;

beforeAll(async () => {
  pki = await createMtlsPki();
});

afterAll(async () => {
  await pki?.remove();
});

const BASE = [
  'issuer: https://gateway.test',
  'upstream: { url: "https://idp.test", token_path: /oauth/token }',
  'signing: { keys: [{ kid: k, alg: ES256, private_key_file: k.pem, status: active }] }',
];

function errorsOf(server: string): string[] {
  const parsed = parseConfigText([...BASE, server].join('\n'), '/tmp/scopegate.yaml', {});
  return parsed.ok ? [] : parsed.errors;
}

describe('the schema', () => {
  const table: Array<[server: string, error: string | undefined]> = [
    ['server: { tls: { cert_file: a, key_file: b } }', undefined],
    ['server: { tls: { cert_file: a, key_file: b, client_ca_file: c } }', undefined],
    [
      'server: { tls: { cert_file: a, key_file: b, client_certificate: optional, min_version: TLSv1.3 } }',
      undefined,
    ],
    [
      'server: { tls: { cert_file: a, key_file: b, client_certificate: required } }',
      'server.tls.client_ca_file: client_certificate: required verifies client certificates against client_ca_file',
    ],
    [
      'server: { tls: { cert_file: a, key_file: b, client_ca_file: c, client_certificate: off } }',
      'server.tls.client_ca_file: client_certificate: off asks for no client certificate',
    ],
    ['server: { tls: { cert_file: a } }', 'server.tls.key_file'],
    [
      'server: { tls: { cert_file: a, key_file: b, min_version: TLSv1.1 } }',
      'server.tls.min_version',
    ],
    [
      'server: { client_certificate_header: { name: ssl-client-cert, format: pem-urlencoded } }',
      undefined,
    ],
    // Only a header scopegate strips from untrusted peers can be the one it reads.
    [
      'server: { client_certificate_header: { name: x-my-cert, format: pem-urlencoded } }',
      'server.client_certificate_header.name',
    ],
    [
      'server: { client_certificate_header: { name: ssl-client-cert, format: der } }',
      'server.client_certificate_header.format',
    ],
    // Certificate-bound tokens (RFC 8705 §3): a certificate must be able to reach scopegate.
    [
      'server: { tls: { cert_file: a, key_file: b, client_ca_file: c } }\nclients: [{ client_id: x, tls_client_certificate_bound_access_tokens: true }]',
      undefined,
    ],
    [
      'server: { client_certificate_header: { name: ssl-client-cert, format: pem-urlencoded } }\nclients: [{ client_id: x, tls_client_certificate_bound_access_tokens: true }]',
      undefined,
    ],
    [
      'server: { tls: { cert_file: a, key_file: b } }\nclients: [{ client_id: x, tls_client_certificate_bound_access_tokens: true }]',
      'clients[0].tls_client_certificate_bound_access_tokens: no client certificate can reach scopegate',
    ],
    [
      'clients: [{ client_id: x, tls_client_certificate_bound_access_tokens: false }, { client_id: y, tls_client_certificate_bound_access_tokens: true }]',
      'clients[1].tls_client_certificate_bound_access_tokens: no client certificate can reach scopegate',
    ],
    // One binding per client.
    [
      'server: { tls: { cert_file: a, key_file: b, client_ca_file: c } }\nclients: [{ client_id: x, dpop: required, tls_client_certificate_bound_access_tokens: true }]',
      'clients[0].tls_client_certificate_bound_access_tokens: one binding per client',
    ],
  ];
  for (const [server, error] of table) {
    it(server, () => {
      const errors = errorsOf(server);
      if (error === undefined) expect(errors).toEqual([]);
      else expect(errors.join('\n')).toContain(error);
    });
  }
});

describe('scopegate check', () => {
  let prepared: TestConfig | undefined;

  afterAll(async () => {
    await prepared?.remove();
  });

  it('names unreadable and mismatched server.tls files, with their lines', async () => {
    prepared = await prepareTestConfig({
      upstreamUrl: 'http://127.0.0.1:9',
      config: {
        server: {
          tls: {
            cert_file: pki.server.certFile,
            key_file: pki.client.keyFile,
            client_ca_file: 'missing-ca.pem',
          },
        },
      },
    });
    const result = await checkConfig(prepared.configFile, {});
    expect(result.ok).toBe(false);
    const text = result.lines.join('\n');
    expect(text).toMatch(/:\d+: server\.tls\.key_file: .* is not the private key of /);
    expect(text).toMatch(
      /:\d+: server\.tls\.client_ca_file: cannot read missing-ca\.pem \(ENOENT\)/,
    );
    expect(text).not.toContain('BEGIN');
    await writeFile(path.join(prepared.dir, 'bundle.pem'), 'no certificates here');
    await prepared.writeConfig({
      ...prepared.config,
      server: {
        tls: {
          cert_file: pki.server.certFile,
          key_file: pki.server.keyFile,
          client_ca_file: 'bundle.pem',
          ciphers: 'NO-SUCH-CIPHER',
        },
      },
    });
    const again = (await checkConfig(prepared.configFile, {})).lines.join('\n');
    expect(again).toContain('server.tls.client_ca_file: bundle.pem holds no PEM certificate');
    expect(again).toContain('server.tls.ciphers: names no cipher this OpenSSL knows');
  });
});
