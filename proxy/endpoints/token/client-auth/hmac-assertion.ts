/**
 * Verifies a `client_secret_jwt` assertion (RFC 7523 §2.2 with an HMAC, OpenID Connect Core §9):
 * a compact JWS whose header names one of the allowed HS algorithms, no `crit`, and whose MAC,
 * keyed with the client's secret, matches in constant time. Returns the payload only then.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { parseUntrustedObject } from '../../../http/untrusted-json.js';
import { JwsRefused, type VerifiedJws } from '../../../keys/jws-verifier.js';

const DIGEST: Readonly<Record<string, string>> = {
  HS256: 'sha256',
  HS384: 'sha384',
  HS512: 'sha512',
};

const BASE64URL = /^[A-Za-z0-9_-]+$/;

function decodedObject(segment: string): { value: Record<string, unknown>; text: string } {
  if (!BASE64URL.test(segment)) throw new JwsRefused('malformed');
  const text = Buffer.from(segment, 'base64url').toString('utf8');
  let value: Record<string, unknown> | undefined;
  try {
    value = parseUntrustedObject(text);
  } catch {
    throw new JwsRefused('malformed');
  }
  if (value === undefined) throw new JwsRefused('malformed');
  return { value, text };
}

export function verifyHmacJws(
  token: string,
  secret: string,
  algorithms: readonly string[],
): VerifiedJws {
  const parts = token.split('.');
  if (parts.length !== 3) throw new JwsRefused('malformed');
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
  const header = decodedObject(headerPart);
  const alg = header.value.alg;
  if (typeof alg !== 'string' || !algorithms.includes(alg)) throw new JwsRefused('alg_not_allowed');
  if (header.value.crit !== undefined || header.value.b64 !== undefined) {
    throw new JwsRefused('unsupported_header');
  }
  if (!BASE64URL.test(signaturePart)) throw new JwsRefused('malformed');
  const expected = createHmac(DIGEST[alg] as string, secret)
    .update(`${headerPart}.${payloadPart}`)
    .digest();
  const presented = Buffer.from(signaturePart, 'base64url');
  if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) {
    throw new JwsRefused('bad_signature');
  }
  const payload = decodedObject(payloadPart);
  return {
    header: header.value,
    headerText: header.text,
    payload: payload.value,
    payloadText: payload.text,
  };
}
