/**
 * The node:crypto signer (proxy/keys/jwt-signer.ts) produces JWS that independent verifiers
 * accept, for every configurable algorithm: jose (WebCrypto) and jsonwebtoken (node:crypto via
 * jws), against the public JWK scopegate publishes. A flipped signature bit is refused.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { decodeProtectedHeader, importJWK, jwtVerify } from 'jose';
import jwt from 'jsonwebtoken';
import { describe, expect, it } from 'vitest';
import { SIGNING_ALGORITHMS } from '../../config/schema.js';
import { createJwtSigner } from '../../proxy/keys/jwt-signer.js';
import {
  generatePrivateKeyPem,
  parsePrivateKey,
  publicJwk,
  type SigningAlgorithm,
} from '../../proxy/keys/key-material.js';

const CLAIMS = { iss: 'https://gw.test', sub: 'svc', scope: 'a b', exp: 4_000_000_000, n: 'é✓' };

/** jsonwebtoken has no EdDSA; jose covers it. */
const JSONWEBTOKEN_ALGS = SIGNING_ALGORITHMS.filter((alg) => alg !== 'EdDSA');

function tamper(token: string): string {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const bytes = Buffer.from(signature, 'base64url');
  bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 1;
  return `${header}.${payload}.${bytes.toString('base64url')}`;
}

describe.each(SIGNING_ALGORITHMS)('node:crypto signer, %s', (alg: SigningAlgorithm) => {
  const privateKey: KeyObject = parsePrivateKey(generatePrivateKeyPem(alg));
  const signer = createJwtSigner(alg, `kid-${alg}`, privateKey);
  const token = signer.sign(CLAIMS);

  it('carries the prepared header', () => {
    expect(decodeProtectedHeader(token)).toEqual({ alg, kid: `kid-${alg}`, typ: 'at+jwt' });
  });

  it('verifies with jose against the published JWK; a flipped bit does not', async () => {
    const key = await importJWK(publicJwk(privateKey, `kid-${alg}`, alg), alg);
    const { payload } = await jwtVerify(token, key, { algorithms: [alg], typ: 'at+jwt' });
    expect(payload).toEqual(CLAIMS);
    await expect(jwtVerify(tamper(token), key, { algorithms: [alg] })).rejects.toThrow(
      /signature verification failed/,
    );
  });
});

describe.each(JSONWEBTOKEN_ALGS)('node:crypto signer read by jsonwebtoken, %s', (alg) => {
  it('verifies', () => {
    const privateKey = parsePrivateKey(generatePrivateKeyPem(alg));
    const token = createJwtSigner(alg, 'k', privateKey).sign(CLAIMS);
    const verified = jwt.verify(token, createPublicKey(privateKey), { algorithms: [alg] });
    expect(verified).toEqual(CLAIMS);
  });
});
