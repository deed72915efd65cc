/**
 * The certificate a JWK carries in `x5c` (RFC 7517 §4.7): the first element, base64 (not
 * base64url) DER, whose public key must be the JWK's own. For `self_signed_tls_client_auth`
 * (RFC 8705 §2.2.2: the client registers its certificates in its JWK set with `x5c`).
 */
import { createPublicKey, type JsonWebKeyInput, X509Certificate } from 'node:crypto';

export type JwkCertificate =
  | { ok: true; certificate: X509Certificate }
  | { ok: false; reason: string };

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

export function jwkCertificate(jwk: Readonly<Record<string, unknown>>): JwkCertificate {
  const chain = jwk.x5c;
  if (!Array.isArray(chain) || chain.length === 0) return { ok: false, reason: 'no x5c' };
  const first = chain[0];
  if (typeof first !== 'string' || !BASE64.test(first)) {
    return { ok: false, reason: 'x5c[0] is not base64' };
  }
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(Buffer.from(first, 'base64'));
  } catch {
    return { ok: false, reason: 'x5c[0] is not a certificate' };
  }
  try {
    const key = createPublicKey({ key: jwk as JsonWebKeyInput['key'], format: 'jwk' });
    if (!certificate.publicKey.equals(key)) {
      return { ok: false, reason: "x5c[0]'s public key is not the JWK's" };
    }
  } catch {
    return { ok: false, reason: 'not a public key node can import' };
  }
  return { ok: true, certificate };
}
