/**
 * Compact JWS verification with node:crypto, against keys prepared once per JWKS fetch.
 *
 * jose's `jwtVerify` goes through WebCrypto, whose per-call cost (algorithm normalisation, a
 * promise job per verification) is about twice node:crypto's synchronous `verify` for ES256
 * (test/bench/crypto-bench.ts). Every upstream token is verified on the token path, so this
 * module does the same selection and checks jose does, with the key objects imported once:
 *
 * - the header is a JSON object whose `alg` is in the allow-list; `crit` is refused (no
 *   extension is understood, RFC 7515 §4.1.11), so is `b64`;
 * - candidate keys are chosen the way jose's local JWKS does: key type and curve of the
 *   algorithm, equal `kid` when the header has one, equal `alg` and `use: sig` and
 *   `key_ops` containing `verify` when the key says so; RSA keys under 2048 bits are never used;
 * - the token is accepted when one candidate's signature verifies (a header without `kid` may
 *   match several keys of a rotation);
 * - every segment is strict base64url, the payload a JSON object.
 *
 * The result is the payload's bytes and the header: claims are checked by the caller.
 * Differential tests against jose: test/keys/jws-verifier.test.ts.
 */
import {
  constants,
  createPublicKey,
  type JsonWebKeyInput,
  type KeyObject,
  type VerifyKeyObjectInput,
  verify,
} from 'node:crypto';
import { parseUntrustedObject, UntrustedJsonRefused } from '../http/untrusted-json.js';

/** Why a token was refused: the caller maps these to its own errors. */
export type JwsRefusal =
  | 'malformed'
  | 'alg_not_allowed'
  | 'unsupported_header'
  | 'no_matching_key'
  | 'bad_signature'
  /** The header or the (signed) payload has a member named `__proto__` (untrusted-json.ts). */
  | 'prototype_member';

export class JwsRefused extends Error {
  constructor(readonly refusal: JwsRefusal) {
    super(`token refused: ${refusal}`);
    this.name = 'JwsRefused';
  }
}

interface AlgorithmProfile {
  kty: 'RSA' | 'EC' | 'OKP';
  /** Required curve of EC and OKP keys. */
  crv?: string;
  /** Digest for node:crypto's verify; null for EdDSA, which hashes internally. */
  digest: string | null;
  padding?: 'pss';
}

const PROFILES: Record<string, AlgorithmProfile> = {
  RS256: { kty: 'RSA', digest: 'sha256' },
  RS384: { kty: 'RSA', digest: 'sha384' },
  RS512: { kty: 'RSA', digest: 'sha512' },
  PS256: { kty: 'RSA', digest: 'sha256', padding: 'pss' },
  PS384: { kty: 'RSA', digest: 'sha384', padding: 'pss' },
  PS512: { kty: 'RSA', digest: 'sha512', padding: 'pss' },
  ES256: { kty: 'EC', crv: 'P-256', digest: 'sha256' },
  ES384: { kty: 'EC', crv: 'P-384', digest: 'sha384' },
  ES512: { kty: 'EC', crv: 'P-521', digest: 'sha512' },
  EdDSA: { kty: 'OKP', crv: 'Ed25519', digest: null },
};

const MIN_RSA_BITS = 2048;

/** One published key, imported once, with the JWK members that decide where it may be used. */
export interface PreparedKey {
  kty: string;
  crv: string | undefined;
  kid: string | undefined;
  alg: string | undefined;
  use: string | undefined;
  keyOps: readonly string[] | undefined;
  key: KeyObject;
}

type Jwk = Record<string, unknown>;

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/**
 * Imports the public keys of a JWKS. A key node cannot import, a private key, an RSA key under
 * 2048 bits or a key with malformed `key_ops` is left out: no token can select it, as jose would
 * refuse it when selected.
 */
export function prepareKeys(keys: readonly Jwk[]): PreparedKey[] {
  const prepared: PreparedKey[] = [];
  for (const jwk of keys) {
    const kty = jwk.kty;
    if (kty !== 'RSA' && kty !== 'EC' && kty !== 'OKP') continue;
    const keyOps = jwk.key_ops;
    if (
      keyOps !== undefined &&
      !(
        Array.isArray(keyOps) &&
        keyOps.every((op, index) => typeof op === 'string' && keyOps.indexOf(op) === index)
      )
    ) {
      continue;
    }
    if (jwk.ext !== undefined && typeof jwk.ext !== 'boolean') continue;
    let key: KeyObject;
    try {
      key = createPublicKey({ key: jwk as JsonWebKeyInput['key'], format: 'jwk' });
    } catch {
      continue;
    }
    if (key.type !== 'public') continue;
    if (kty === 'RSA' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < MIN_RSA_BITS) continue;
    prepared.push({
      kty,
      crv: optionalString(jwk.crv),
      kid: optionalString(jwk.kid),
      alg: optionalString(jwk.alg),
      use: optionalString(jwk.use),
      keyOps: keyOps as string[] | undefined,
      key,
    });
  }
  return prepared;
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

function decodeSegment(segment: string): Buffer {
  if (!BASE64URL.test(segment) || segment.length % 4 === 1) throw new JwsRefused('malformed');
  return Buffer.from(segment, 'base64url');
}

/** A JSON object without prototypes (untrusted-json.ts), or the refusal saying why not. */
function parseObject(bytes: Buffer): Record<string, unknown> {
  let value: Record<string, unknown> | undefined;
  try {
    value = parseUntrustedObject(bytes.toString('utf8'));
  } catch (error) {
    const prototypeMember =
      error instanceof UntrustedJsonRefused && error.reason === 'prototype_member';
    throw new JwsRefused(prototypeMember ? 'prototype_member' : 'malformed');
  }
  if (value === undefined) throw new JwsRefused('malformed');
  return value;
}

function usable(key: PreparedKey, alg: string, profile: AlgorithmProfile, kid: unknown): boolean {
  return (
    key.kty === profile.kty &&
    (profile.crv === undefined || key.crv === profile.crv) &&
    (kid === undefined || key.kid === kid) &&
    (key.alg === undefined || key.alg === alg) &&
    (key.use === undefined || key.use === 'sig') &&
    (key.keyOps === undefined || key.keyOps.includes('verify'))
  );
}

function verifyOptions(
  profile: AlgorithmProfile,
  key: KeyObject,
): KeyObject | VerifyKeyObjectInput {
  if (profile.kty === 'EC') return { key, dsaEncoding: 'ieee-p1363' };
  if (profile.padding === 'pss') {
    return {
      key,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
    };
  }
  return key;
}

export interface VerifiedJws {
  header: Record<string, unknown>;
  /** The header as signed, decoded from base64url (for duplicate-member checks). */
  headerText: string;
  /** The payload, parsed: always a JSON object. */
  payload: Record<string, unknown>;
  /** The payload as signed, decoded from base64url (for duplicate-member checks). */
  payloadText: string;
}

/**
 * Verifies `token` against `keys` with one of `algorithms`. Throws JwsRefused; never returns an
 * unverified payload.
 */
export function verifyCompactJws(
  token: string,
  keys: readonly PreparedKey[],
  algorithms: readonly string[],
): VerifiedJws {
  const first = token.indexOf('.');
  const second = token.indexOf('.', first + 1);
  if (first < 0 || second < 0 || token.indexOf('.', second + 1) >= 0) {
    throw new JwsRefused('malformed');
  }
  const headerBytes = decodeSegment(token.slice(0, first));
  const header = parseObject(headerBytes);
  const alg = header.alg;
  if (typeof alg !== 'string') throw new JwsRefused('malformed');
  const profile = PROFILES[alg];
  if (profile === undefined || !algorithms.includes(alg)) throw new JwsRefused('alg_not_allowed');
  if ('crit' in header || 'b64' in header) throw new JwsRefused('unsupported_header');
  const kid = header.kid;
  if (kid !== undefined && typeof kid !== 'string') throw new JwsRefused('malformed');
  const payloadBytes = decodeSegment(token.slice(first + 1, second));
  const signature = decodeSegment(token.slice(second + 1));
  const candidates = keys.filter((key) => usable(key, alg, profile, kid));
  if (candidates.length === 0) throw new JwsRefused('no_matching_key');
  const signingInput = Buffer.from(token.slice(0, second), 'latin1');
  const verified = candidates.some((candidate) => {
    try {
      return verify(profile.digest, signingInput, verifyOptions(profile, candidate.key), signature);
    } catch {
      // A signature of the wrong length for the curve, say: not a valid signature.
      return false;
    }
  });
  if (!verified) throw new JwsRefused('bad_signature');
  return {
    header,
    headerText: headerBytes.toString('utf8'),
    payload: parseObject(payloadBytes),
    payloadText: payloadBytes.toString('utf8'),
  };
}
