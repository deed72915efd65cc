/**
 * The demo upstream's signing keys: RS256 like Auth0's, with opaque random kids as Auth0 has
 * them, so a new key is visible as a new kid.
 */
import { randomBytes } from 'node:crypto';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK } from 'jose';

export interface DemoSigningKey {
  kid: string;
  privateKey: CryptoKey;
  /** only the public members, as published in the JWKS */
  publicJwk: JWK;
}

export async function newDemoSigningKey(kidPrefix = ''): Promise<DemoSigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const kid = `${kidPrefix}${randomBytes(16).toString('base64url')}`;
  const exported = await exportJWK(publicKey);
  return { kid, privateKey, publicJwk: publicMembers(exported, kid) };
}

/**
 * Copies only the public RSA members, so a private member can never leak into a published JWKS
 * even if the exported key were a private one.
 */
function publicMembers(jwk: JWK, kid: string): JWK {
  if (jwk.kty !== 'RSA' || typeof jwk.n !== 'string' || typeof jwk.e !== 'string') {
    throw new Error('expected an RSA public key');
  }
  return { kty: 'RSA', use: 'sig', alg: 'RS256', kid, n: jwk.n, e: jwk.e };
}
