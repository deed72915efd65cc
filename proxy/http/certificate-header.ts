/**
 * The client certificate in an ingress's header, by the header's format:
 * - `xfcc` (Envoy): the `Cert` element of the LAST element, a URL-encoded PEM. Each proxy appends
 *   its element at the end, so the last one is the trusted proxy's own; earlier ones were written
 *   by whoever came before it, the client included.
 * - `pem-urlencoded` (ingress-nginx's `ssl-client-cert`, AWS ALB): a URL-encoded PEM.
 * - `rfc9440` (`Client-Cert`): a structured-field byte sequence, `:` base64 DER `:`.
 *
 * URL-decoding is percent-decoding only: `+` stays `+` (it is a base64 character of the PEM, and
 * nginx and ALB leave it unescaped), never a space as form decoding would make it. The header
 * must name exactly one certificate (the leaf); anything else is unreadable, with a reason that
 * never quotes the header.
 */
import { X509Certificate } from 'node:crypto';
import type { CertificateHeaderFormat } from './client-certificate-headers.js';
import { parseXfcc, xfccValues } from './xfcc.js';

export type HeaderCertificate =
  | { ok: true; certificate: X509Certificate }
  | { ok: false; reason: string };

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;
const STRUCTURED_BYTES = /^:([A-Za-z0-9+/]+={0,2}):$/;

const unreadable = (reason: string): HeaderCertificate => ({ ok: false, reason });

function parsed(certificate: () => X509Certificate): HeaderCertificate {
  try {
    return { ok: true, certificate: certificate() };
  } catch {
    return unreadable('the certificate is not a valid X.509 certificate');
  }
}

/** One PEM certificate, percent-encoded. */
export function certificateFromUrlEncodedPem(value: string): HeaderCertificate {
  let pem: string;
  try {
    pem = decodeURIComponent(value.trim());
  } catch {
    return unreadable('the certificate is not validly percent-encoded');
  }
  const blocks = pem.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length !== 1) {
    return unreadable(blocks.length === 0 ? 'no PEM certificate' : 'more than one PEM certificate');
  }
  const block = blocks[0] as string;
  // Nothing but the one block: text around it would be read differently by other parsers.
  if (pem.trim() !== block) return unreadable('text around the PEM certificate');
  return parsed(() => new X509Certificate(block));
}

function certificateFromXfcc(value: string): HeaderCertificate {
  const xfcc = parseXfcc(value);
  if (!xfcc.ok) return unreadable(`malformed X-Forwarded-Client-Cert: ${xfcc.reason}`);
  const last = xfcc.elements.at(-1) ?? [];
  const certs = xfccValues(last, 'cert');
  if (certs.length === 0) return unreadable('the last X-Forwarded-Client-Cert element has no Cert');
  if (certs.length > 1) {
    return unreadable('the last X-Forwarded-Client-Cert element has more than one Cert');
  }
  return certificateFromUrlEncodedPem(certs[0] as string);
}

function certificateFromStructuredBytes(value: string): HeaderCertificate {
  const match = STRUCTURED_BYTES.exec(value.trim());
  if (match === null) return unreadable('not a structured-field byte sequence');
  return parsed(() => new X509Certificate(Buffer.from(match[1] as string, 'base64')));
}

/**
 * The certificate in the header's values (one per header line, as received). XFCC lines are
 * one list, as RFC 9110 §5.3 combines them; any other format must come in one line.
 */
export function certificateFromHeader(
  format: CertificateHeaderFormat,
  values: readonly string[],
): HeaderCertificate {
  if (format === 'xfcc') return certificateFromXfcc(values.join(','));
  if (values.length !== 1) return unreadable('the header is repeated');
  const value = values[0] as string;
  return format === 'rfc9440'
    ? certificateFromStructuredBytes(value)
    : certificateFromUrlEncodedPem(value);
}
