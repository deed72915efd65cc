/**
 * Compact JWS signing with node:crypto directly, prepared once per key (so once per config
 * generation): the encoded protected header and the sign options are fixed when the key loads,
 * and a token costs one JSON.stringify, two base64url encodings and one synchronous sign call.
 * Measured against jose's SignJWT (which goes through WebCrypto and re-encodes the header per
 * token) in test/bench/crypto-bench.ts; the output is an ordinary JWS any library verifies.
 */
import { constants, type KeyObject, type SignKeyObjectInput, sign } from 'node:crypto';
import type { TokenTyp } from '../rules/token-typ.js';
import type { SigningAlgorithm } from './key-material.js';

export interface JwtSigner {
  /** The compact JWS of `claims` with header `{alg, kid, typ}` (no `typ` for `none`). */
  sign(claims: object): string;
}

/** Digest per algorithm; EdDSA signs the message itself (no separate digest). */
const DIGESTS: Record<SigningAlgorithm, string | null> = {
  ES256: 'sha256',
  ES384: 'sha384',
  ES512: 'sha512',
  RS256: 'sha256',
  RS384: 'sha384',
  RS512: 'sha512',
  PS256: 'sha256',
  PS384: 'sha384',
  PS512: 'sha512',
  EdDSA: null,
};

function signOptions(alg: SigningAlgorithm, key: KeyObject): KeyObject | SignKeyObjectInput {
  // JWS wants ECDSA signatures as r||s (IEEE P1363), not DER.
  if (alg.startsWith('ES')) return { key, dsaEncoding: 'ieee-p1363' };
  // RFC 7518 §3.5: PSS with MGF1 of the same hash and a salt as long as the digest.
  if (alg.startsWith('PS')) {
    return {
      key,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
    };
  }
  return key;
}

export function createJwtSigner(
  alg: SigningAlgorithm,
  kid: string,
  key: KeyObject,
  typ: TokenTyp = 'at+jwt',
): JwtSigner {
  const fields = typ === 'none' ? { alg, kid } : { alg, kid, typ };
  const header = Buffer.from(JSON.stringify(fields)).toString('base64url');
  const prefix = `${header}.`;
  const digest = DIGESTS[alg];
  const options = signOptions(alg, key);
  return {
    sign(claims: object): string {
      const signingInput = prefix + Buffer.from(JSON.stringify(claims)).toString('base64url');
      const signature = sign(digest, Buffer.from(signingInput), options);
      return `${signingInput}.${signature.toString('base64url')}`;
    },
  };
}
