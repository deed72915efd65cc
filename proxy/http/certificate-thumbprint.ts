/**
 * The X.509 certificate SHA-256 thumbprint (RFC 8705 §3.1, `cnf` member `x5t#S256`): the
 * base64url-encoded (no padding) SHA-256 hash of the certificate's DER encoding.
 */
import { createHash, type X509Certificate } from 'node:crypto';

export function certificateThumbprint(certificate: X509Certificate): string {
  return createHash('sha256').update(certificate.raw).digest('base64url');
}
