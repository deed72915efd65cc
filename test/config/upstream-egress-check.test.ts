/**
 * `check` on the egress settings: a proxy URL that is not one, a CA file without a certificate,
 * a key that is not its certificate's, each on its `FILE:LINE: path:` line, with a real private
 * CA's files (openssl) for the cases that must pass.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkConfig } from '../../proxy/cli/check.js';
import { generatePrivateKeyPem } from '../../proxy/keys/key-material.js';
import { createPrivateCa, type PrivateCa } from '../support/private-ca.js';
import { errorsOf, MINIMAL } from './minimal-config.js';

const withUpstream = (lines: string) =>
  MINIMAL.replace(
    '  url: "https://tenant.example.com"\n',
    `  url: "https://tenant.example.com"\n${lines}`,
  );

describe('upstream.proxy', () => {
  it.each<[string, string]>([
    ['not a URL', 'proxy: "proxy.corp:3128"'],
    ['another scheme', 'proxy: "socks5://proxy.corp:1080"'],
    ['a path', 'proxy: "http://proxy.corp:3128/egress"'],
  ])('refuses %s on its line', (_name, line) => {
    const errors = errorsOf(withUpstream(`  ${line}\n`));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^cfg\.yaml:5: upstream\.proxy: .*proxy URL/);
  });

  it('accepts an http(s) proxy with credentials', () => {
    expect(() => errorsOf(withUpstream('  proxy: "http://user:p%40ss@proxy.corp:3128"\n'))).toThrow(
      'expected the config to be invalid',
    );
  });
});

describe('upstream.tls files (check)', () => {
  let dir: string;
  let ca: PrivateCa;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'scopegate-tls-check-'));
    ca = await createPrivateCa(dir);
    await writeFile(path.join(dir, 'k1.pem'), generatePrivateKeyPem('ES256'), { mode: 0o600 });
    await writeFile(path.join(dir, 'not-a-cert.pem'), generatePrivateKeyPem('ES256'));
    await writeFile(path.join(dir, 'other.key'), generatePrivateKeyPem('ES256'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const check = async (name: string, tls: string) => {
    const file = path.join(dir, `${name}.yaml`);
    // token_path pinned: check does not need the (absent) upstream's discovery to say which.
    await writeFile(file, withUpstream(`  token_path: /oauth/token\n  tls:\n${tls}`));
    return { file, result: await checkConfig(file, {}) };
  };

  it('names a CA file that holds no certificate, on its line', async () => {
    const { file, result } = await check('ca', '    ca_file: not-a-cert.pem\n');
    expect(result.ok).toBe(false);
    expect(result.lines).toEqual([
      `${file}:7: upstream.tls.ca_file: not-a-cert.pem holds no PEM certificate`,
    ]);
  });

  it('names a key that is not the private key of its certificate', async () => {
    const { file, result } = await check(
      'mismatch',
      `    cert_file: ${ca.clientCertFile}\n    key_file: other.key\n`,
    );
    expect(result.ok).toBe(false);
    expect(result.lines).toEqual([
      `${file}:8: upstream.tls.key_file: other.key is not the private key of ${ca.clientCertFile}`,
    ]);
  });

  it('names an unreadable file and a cert without its key', async () => {
    const { file, result } = await check('absent', '    ca_file: absent.pem\n');
    expect(result.lines).toEqual([
      `${file}:7: upstream.tls.ca_file: cannot read absent.pem (ENOENT)`,
    ]);
    const lonely = await check('lonely', `    cert_file: ${ca.clientCertFile}\n`);
    expect(lonely.result.lines).toEqual([
      `${lonely.file}:7: upstream.tls.key_file: cert_file and key_file go together`,
    ]);
  });

  it('refuses a proxy variable scopegate cannot use, unless upstream.proxy overrides it', async () => {
    const file = path.join(dir, 'env.yaml');
    await writeFile(file, withUpstream('  token_path: /oauth/token\n'));
    const result = await checkConfig(file, { HTTPS_PROXY: 'socks5://proxy.corp:1080' });
    expect(result.lines).toEqual([
      `${file}: environment variable HTTPS_PROXY: expected an http(s) proxy URL with a host and port only`,
    ]);
    // Scheme-less, as curl takes it: an HTTP proxy.
    expect((await checkConfig(file, { https_proxy: 'proxy.corp:3128' })).ok).toBe(true);
    await writeFile(
      file,
      withUpstream('  token_path: /oauth/token\n  proxy: "http://proxy.corp:3128"\n'),
    );
    expect((await checkConfig(file, { HTTPS_PROXY: 'socks5://proxy.corp:1080' })).ok).toBe(true);
  });

  it('accepts a private CA and a matching client certificate', async () => {
    const { result } = await check(
      'good',
      `    ca_file: ${ca.caFile}\n    ca_mode: replace\n    cert_file: ${ca.clientCertFile}\n    key_file: ${ca.clientKeyFile}\n    server_name: idp.test\n`,
    );
    expect(result.lines[0]).toMatch(/configuration is valid$/);
    expect(result.ok).toBe(true);
  });
});
