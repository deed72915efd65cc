import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  generatePrivateKeyPem,
  keyAlgorithmMismatch,
  parsePrivateKey,
  publicJwk,
  type SigningAlgorithm,
} from '../../proxy/keys/key-material.js';
import { KeyLoadError, loadSigningKeys } from '../../proxy/keys/signing-keys.js';

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'scopegate-keys-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('generated keys', () => {
  it.each<[SigningAlgorithm, string, Record<string, string>]>([
    ['ES256', 'EC', { crv: 'P-256' }],
    ['ES384', 'EC', { crv: 'P-384' }],
    ['ES512', 'EC', { crv: 'P-521' }],
    ['RS256', 'RSA', { e: 'AQAB' }],
    ['PS256', 'RSA', { e: 'AQAB' }],
    ['EdDSA', 'OKP', { crv: 'Ed25519' }],
  ])('%s: PKCS#8 PEM whose public JWK carries public members only', (alg, kty, extra) => {
    const pem = generatePrivateKeyPem(alg);
    expect(pem.startsWith('-----BEGIN PRIVATE KEY-----')).toBe(true);
    const key = parsePrivateKey(pem);
    expect(keyAlgorithmMismatch(key, alg)).toBeUndefined();
    const jwk = publicJwk(key, 'kid-1', alg);
    expect(jwk).toMatchObject({ kty, kid: 'kid-1', alg, use: 'sig', ...extra });
    for (const member of PRIVATE_MEMBERS) expect(jwk).not.toHaveProperty(member);
  });
});

describe('key parsing and algorithm checks', () => {
  it('reads a private JWK', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const jwk = JSON.stringify(privateKey.export({ format: 'jwk' }));
    expect(keyAlgorithmMismatch(parsePrivateKey(jwk), 'ES256')).toBeUndefined();
  });

  it.each([
    ['a public JWK', JSON.stringify({ kty: 'EC', crv: 'P-256', x: 'a', y: 'b' }), /no "d" member/],
    ['garbage JSON', '{nope', /neither PEM nor valid JSON/],
    ['a certificate', '-----BEGIN CERTIFICATE-----\nMII\n-----END CERTIFICATE-----', /PKCS#8 PEM/],
  ])('refuses %s', (_name, text, message) => {
    expect(() => parsePrivateKey(text)).toThrow(message);
  });

  it.each<[string, SigningAlgorithm, SigningAlgorithm, RegExp]>([
    ['a P-256 key for ES384', 'ES256', 'ES384', /curve secp384r1/],
    ['an EC key for RS256', 'ES256', 'RS256', /needs an RSA key/],
    ['an RSA key for EdDSA', 'RS256', 'EdDSA', /Ed25519/],
    ['an Ed25519 key for ES256', 'EdDSA', 'ES256', /EC key/],
  ])('refuses %s', (_name, generatedFor, configuredFor, message) => {
    const key = parsePrivateKey(generatePrivateKeyPem(generatedFor));
    expect(keyAlgorithmMismatch(key, configuredFor)).toMatch(message);
  });

  it('refuses an RSA key shorter than 2048 bits', () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    expect(keyAlgorithmMismatch(privateKey, 'RS256')).toMatch(/at least 2048 bits/);
  });
});

describe('loading the configured key set', () => {
  it('loads files relative to the config and publishes in configured order', async () => {
    await writeFile(path.join(dir, 'a.pem'), generatePrivateKeyPem('ES256'));
    await writeFile(path.join(dir, 'b.pem'), generatePrivateKeyPem('EdDSA'));
    const set = await loadSigningKeys(
      [
        { kid: 'a', alg: 'ES256', private_key_file: 'a.pem', status: 'retired' },
        { kid: 'b', alg: 'EdDSA', private_key_file: 'b.pem', status: 'active' },
      ],
      path.join(dir, 'scopegate.yaml'),
    );
    expect(set.active.kid).toBe('b');
    expect(set.jwks().keys.map((key) => key.kid)).toEqual(['a', 'b']);
  });

  it('stops publishing a retired key after publish_until', async () => {
    await writeFile(path.join(dir, 'old.pem'), generatePrivateKeyPem('ES256'));
    await writeFile(path.join(dir, 'new.pem'), generatePrivateKeyPem('ES256'));
    const until = '2030-01-01T00:00:00Z';
    const set = await loadSigningKeys(
      [
        {
          kid: 'old',
          alg: 'ES256',
          private_key_file: 'old.pem',
          status: 'retired',
          publish_until: until,
        },
        { kid: 'new', alg: 'ES256', private_key_file: 'new.pem', status: 'active' },
      ],
      path.join(dir, 'scopegate.yaml'),
    );
    const instant = Date.parse(until);
    expect(set.jwks(instant - 1).keys.map((key) => key.kid)).toEqual(['old', 'new']);
    expect(set.jwks(instant).keys.map((key) => key.kid)).toEqual(['new']);
  });

  it('reports every bad key at once', async () => {
    await writeFile(path.join(dir, 'rsa.pem'), generatePrivateKeyPem('RS256'));
    const loading = loadSigningKeys(
      [
        { kid: 'x', alg: 'ES256', private_key_file: 'missing.pem', status: 'active' },
        { kid: 'y', alg: 'ES256', private_key_file: 'rsa.pem', status: 'next' },
        { kid: 'z', alg: 'ES256', private_key: 'not a key', status: 'next' },
      ],
      path.join(dir, 'scopegate.yaml'),
    );
    await expect(loading).rejects.toBeInstanceOf(KeyLoadError);
    await expect(loading).rejects.toMatchObject({
      problems: [
        'signing.keys[0] (kid x): cannot read missing.pem (ENOENT)',
        'signing.keys[1] (kid y): ES256 needs an EC key on curve prime256v1',
        'signing.keys[2] (kid z): expected a PKCS#8 PEM private key or a private JWK',
      ],
    });
  });
});
