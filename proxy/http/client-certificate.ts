/**
 * Where a request's client certificate comes from (RFC 8705): the TLS connection scopegate
 * terminated itself, or, behind an ingress that terminates TLS, the ingress's header, believed
 * only from a peer in `server.trusted_proxies`.
 *
 * - From a trusted proxy, when `server.client_certificate_header` is set, only its header counts,
 *   present or not: the connection is the proxy's, and a certificate on it (a re-encrypting
 *   proxy's own) is not the client's.
 * - Otherwise the TLS connection's peer certificate counts, when `server.tls.client_certificate`
 *   asks for one; a certificate header from such a peer is ignored (`ignoredHeader`), and it
 *   never reaches the upstream either (client-certificate-headers.ts).
 *
 * `chainedToClientCa` says whether the certificate was verified against the CAs trusted for
 * client certificates; RFC 8705 §2.1 (tls_client_auth) needs that, §2.2 (self-signed) does not:
 * - On scopegate's own listener: Node's `authorized`, true only when the handshake verified the
 *   chain (signatures, validity dates, CA constraints) against `ca`, and counted only when that
 *   `ca` is `server.tls.client_ca_file`. Without a client_ca_file Node verifies against its default
 *   public roots, which say nothing about who may be a client, so nothing is chained then.
 * - From a header: as the ingress says (`verified: always` for an ingress that only forwards
 *   certificates it verified, `verified: header` when its verification header is `SUCCESS`),
 *   never otherwise.
 */
import type { X509Certificate } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { certificateFromHeader } from './certificate-header.js';
import { certificateThumbprint } from './certificate-thumbprint.js';
import type {
  CertificateHeaderFormat,
  CertificateHeaderName,
  VerificationHeaderName,
} from './client-certificate-headers.js';
import { OAuthError } from './oauth-error.js';
import type { TrustedProxies } from './trusted-proxies.js';

export type ClientCertificateMode = 'off' | 'optional' | 'required';

/** The settings read here; `Config['server']` is one. */
export interface ClientCertificateSettings {
  tls?: { client_ca_file?: string; client_certificate?: ClientCertificateMode };
  client_certificate_header?: {
    name: CertificateHeaderName;
    format: CertificateHeaderFormat;
    verified: 'none' | 'always' | 'header';
    verified_header: VerificationHeaderName;
  };
}

export interface PresentedClientCertificate {
  certificate: X509Certificate;
  chainedToClientCa: boolean;
  via: 'tls' | 'header';
}

export interface ClientCertificateReading {
  presented: PresentedClientCertificate | undefined;
  /** Why the certificate a trusted proxy's header names could not be read (never its content). */
  unreadable: string | undefined;
  /** The request carried the certificate header, but not from a trusted proxy: ignored. */
  ignoredHeader: boolean;
}

/** server.tls.client_certificate as in force: `optional` with a client_ca_file, `off` without. */
export function clientCertificateMode(
  tls: ClientCertificateSettings['tls'],
): ClientCertificateMode {
  if (tls === undefined) return 'off';
  return tls.client_certificate ?? (tls.client_ca_file === undefined ? 'off' : 'optional');
}

/** The header's values, one per line received (Node would join most repeats with ", "). */
function headerValues(req: IncomingMessage, name: string): string[] | undefined {
  const values = req.headersDistinct[name];
  return values === undefined || values.length === 0 ? undefined : values;
}

function fromHeader(
  req: IncomingMessage,
  header: NonNullable<ClientCertificateSettings['client_certificate_header']>,
  values: string[],
): ClientCertificateReading {
  const found = certificateFromHeader(header.format, values);
  if (!found.ok) return { presented: undefined, unreadable: found.reason, ignoredHeader: false };
  const verification = headerValues(req, header.verified_header);
  const chainedToClientCa =
    header.verified === 'always' ||
    (header.verified === 'header' && verification?.length === 1 && verification[0] === 'SUCCESS');
  return {
    presented: { certificate: found.certificate, chainedToClientCa, via: 'header' },
    unreadable: undefined,
    ignoredHeader: false,
  };
}

function fromConnection(
  req: IncomingMessage,
  settings: ClientCertificateSettings,
  ignoredHeader: boolean,
): ClientCertificateReading {
  const socket = req.socket as Partial<TLSSocket>;
  if (
    clientCertificateMode(settings.tls) === 'off' ||
    socket.encrypted !== true ||
    typeof socket.getPeerX509Certificate !== 'function'
  ) {
    return { presented: undefined, unreadable: undefined, ignoredHeader };
  }
  const certificate = socket.getPeerX509Certificate();
  if (certificate === undefined)
    return { presented: undefined, unreadable: undefined, ignoredHeader };
  const chainedToClientCa =
    settings.tls?.client_ca_file !== undefined && socket.authorized === true;
  return {
    presented: { certificate, chainedToClientCa, via: 'tls' },
    unreadable: undefined,
    ignoredHeader,
  };
}

/** Everything known about the request's client certificate. */
export function readClientCertificate(
  req: IncomingMessage,
  trusted: TrustedProxies,
  settings: ClientCertificateSettings,
): ClientCertificateReading {
  const header = settings.client_certificate_header;
  const values = header === undefined ? undefined : headerValues(req, header.name);
  if (header !== undefined && trusted.trusts(req.socket.remoteAddress)) {
    return values === undefined
      ? { presented: undefined, unreadable: undefined, ignoredHeader: false }
      : fromHeader(req, header, values);
  }
  return fromConnection(req, settings, values !== undefined);
}

/** The request's client certificate, or undefined: none, or one that cannot be read. */
export function presentedClientCertificate(
  req: IncomingMessage,
  trusted: TrustedProxies,
  settings: ClientCertificateSettings,
): PresentedClientCertificate | undefined {
  return readClientCertificate(req, trusted, settings).presented;
}

/**
 * For a request that needs a certificate: the certificate, or the OAuth error to answer with
 * (RFC 8705 §2: a client that cannot be authenticated by its certificate is `invalid_client`).
 */
export function requiredClientCertificate(
  reading: ClientCertificateReading,
): PresentedClientCertificate | OAuthError {
  if (reading.presented !== undefined) return reading.presented;
  const why =
    reading.unreadable === undefined
      ? 'no client certificate was presented'
      : `the client certificate could not be read: ${reading.unreadable}`;
  return new OAuthError('invalid_client', why, 401);
}

/** The certificate's `x5t#S256` (RFC 8705 §3.1), for binding tokens to it. */
export function presentedThumbprint(presented: PresentedClientCertificate): string {
  return certificateThumbprint(presented.certificate);
}
