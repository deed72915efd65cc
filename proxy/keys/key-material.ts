/**
 * Private signing keys from PKCS#8 PEM or private JWK text, checked against the algorithm they
 * are configured for, and their public halves as JWKs built by copying public members only.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import type { SIGNING_ALGORITHMS } from '../../config/schema.js';

export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

export interface PublicJwk {
  kty: string;
  kid: string;
  alg: string;
  use: 'sig';
  crv?: string;
  x?: string;
  y?: string;
  n?: string;
  e?: string;
}

const PUBLIC_MEMBERS = ['kty', 'crv', 'x', 'y', 'n', 'e'] as const;

const EC_CURVES: Partial<Record<SigningAlgorithm, string>> = {
  ES256: 'prime256v1',
  ES384: 'secp384r1',
  ES512: 'secp521r1',
};

/** Why `key` cannot sign with `alg`, or undefined when it can. */
export function keyAlgorithmMismatch(key: KeyObject, alg: SigningAlgorithm): string | undefined {
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  if (alg.startsWith('ES')) {
    if (type !== 'ec' || details.namedCurve !== EC_CURVES[alg]) {
      return `${alg} needs an EC key on curve ${EC_CURVES[alg]}`;
    }
  } else if (alg.startsWith('RS') || alg.startsWith('PS')) {
    if (type !== 'rsa' && !(alg.startsWith('PS') && type === 'rsa-pss')) {
      return `${alg} needs an RSA key`;
    }
    if ((details.modulusLength ?? 0) < 2048) return `${alg} needs an RSA key of at least 2048 bits`;
  } else if (alg === 'EdDSA') {
    if (type !== 'ed25519' && type !== 'ed448') return 'EdDSA needs an Ed25519 or Ed448 key';
  }
  return undefined;
}

/** Parses PEM (PKCS#8, or PKCS#1/SEC1 which Node also reads) or a private JWK in JSON. */
export function parsePrivateKey(text: string): KeyObject {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let jwk: unknown;
    try {
      jwk = JSON.parse(trimmed);
    } catch {
      throw new Error('the key is neither PEM nor valid JSON');
    }
    if (typeof jwk !== 'object' || jwk === null || !('d' in jwk)) {
      throw new Error('the JWK is not a private key (no "d" member)');
    }
    return createPrivateKey({ key: jwk as Record<string, string>, format: 'jwk' });
  }
  if (!trimmed.includes('PRIVATE KEY-----')) {
    throw new Error('expected a PKCS#8 PEM private key or a private JWK');
  }
  return createPrivateKey({ key: trimmed, format: 'pem' });
}

export function publicJwk(privateKey: KeyObject, kid: string, alg: SigningAlgorithm): PublicJwk {
  const exported = createPublicKey(privateKey).export({ format: 'jwk' }) as Record<string, unknown>;
  const jwk: PublicJwk = { kty: String(exported.kty), kid, alg, use: 'sig' };
  for (const member of PUBLIC_MEMBERS) {
    const value = exported[member];
    if (typeof value === 'string') jwk[member] = value;
  }
  return jwk;
}

/** A fresh key pair for `alg`, as PKCS#8 PEM. */
export function generatePrivateKeyPem(alg: SigningAlgorithm): string {
  let privateKey: KeyObject;
  if (alg.startsWith('ES')) {
    privateKey = generateKeyPairSync('ec', { namedCurve: EC_CURVES[alg] as string }).privateKey;
  } else if (alg === 'EdDSA') {
    privateKey = generateKeyPairSync('ed25519').privateKey;
  } else {
    privateKey = generateKeyPairSync('rsa', { modulusLength: 3072 }).privateKey;
  }
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}
