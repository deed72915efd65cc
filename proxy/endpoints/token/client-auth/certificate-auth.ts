/**
 * Mutual TLS client authentication (RFC 8705 §2), checked by scopegate with the certificate the
 * request came with (http/client-certificate.ts: scopegate's own TLS, or a trusted ingress's
 * header; the handshake, scopegate's or the ingress's, proved the client holds its key):
 *
 * - `tls_client_auth` (§2.1): the certificate chains to a CA trusted for client certificates
 *   (`server.tls.client_ca_file`, or an ingress that says it verified) and carries the one name
 *   the client registered (§2.1.2): its subject DN (compared as a name, http/distinguished-name.ts)
 *   or a SAN of the registered type (http/subject-alt-names.ts). A self-signed or foreign
 *   certificate never passes, whatever its subject says: anyone can write any subject into one.
 * - `self_signed_tls_client_auth` (§2.2): the certificate is one the client registered in its
 *   `jwks` (`x5c`), the same DER; no chain is asked for, and its validity dates are checked (no
 *   CA did).
 *
 * Every refusal is `401 invalid_client` (RFC 6749 §5.2), with no challenge: the client did not
 * use HTTP Basic.
 */
import type { X509Certificate } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { ClientRuleConfig } from '../../../../config/schema.js';
import { certificateThumbprint } from '../../../http/certificate-thumbprint.js';
import {
  type ClientCertificateReading,
  readClientCertificate,
} from '../../../http/client-certificate.js';
import {
  parseNodeSubject,
  parseRfc4514,
  sameDistinguishedName,
} from '../../../http/distinguished-name.js';
import { jwkCertificate } from '../../../http/jwk-certificate.js';
import { ClientAuthenticationFailed } from '../../../http/oauth-error.js';
import { hasSubjectAltName } from '../../../http/subject-alt-names.js';
import type { TlsClientAuthMethod } from '../../../rules/client-auth-methods.js';
import type { Runtime } from '../../../runtime/runtime.js';

/** Reads the request's certificate when a method needs it (most requests never do). */
export type CertificateReader = () => ClientCertificateReading;

export function certificateReaderOf(req: IncomingMessage, runtime: Runtime): CertificateReader {
  return () => readClientCertificate(req, runtime.trustedProxies, runtime.config.server);
}

const refused = (description: string) => new ClientAuthenticationFailed(false, description);

/** Whether the certificate carries the one name the rule registers (RFC 8705 §2.1.2). */
function carriesRegisteredName(certificate: X509Certificate, rule: ClientRuleConfig): boolean {
  if (rule.tls_client_auth_subject_dn !== undefined) {
    const expected = parseRfc4514(rule.tls_client_auth_subject_dn);
    const actual = parseNodeSubject(certificate.subject);
    return (
      expected !== undefined && actual !== undefined && sameDistinguishedName(expected, actual)
    );
  }
  if (rule.tls_client_auth_san_dns !== undefined) {
    return hasSubjectAltName(certificate, 'dns', rule.tls_client_auth_san_dns);
  }
  if (rule.tls_client_auth_san_uri !== undefined) {
    return hasSubjectAltName(certificate, 'uri', rule.tls_client_auth_san_uri);
  }
  if (rule.tls_client_auth_san_ip !== undefined) {
    return hasSubjectAltName(certificate, 'ip', rule.tls_client_auth_san_ip);
  }
  if (rule.tls_client_auth_san_email !== undefined) {
    return hasSubjectAltName(certificate, 'email', rule.tls_client_auth_san_email);
  }
  // The configuration names exactly one; none would match nothing.
  return false;
}

/** The thumbprints of the certificates a rule registers in `jwks`, computed once per rule. */
const registeredByRule = new WeakMap<ClientRuleConfig, ReadonlySet<string>>();

function registeredThumbprints(rule: ClientRuleConfig): ReadonlySet<string> {
  let registered = registeredByRule.get(rule);
  if (registered === undefined) {
    const thumbprints = new Set<string>();
    for (const jwk of rule.jwks?.keys ?? []) {
      const read = jwkCertificate(jwk);
      if (read.ok) thumbprints.add(certificateThumbprint(read.certificate));
    }
    registered = thumbprints;
    registeredByRule.set(rule, registered);
  }
  return registered;
}

function withinValidity(certificate: X509Certificate, nowMs: number): boolean {
  const from = Date.parse(certificate.validFrom);
  const to = Date.parse(certificate.validTo);
  return Number.isFinite(from) && Number.isFinite(to) && from <= nowMs && nowMs <= to;
}

/** Throws `invalid_client` unless the request's certificate authenticates the client. */
export function verifyCertificateAuthentication(
  method: TlsClientAuthMethod,
  rule: ClientRuleConfig,
  read: CertificateReader,
  nowMs = Date.now(),
): void {
  const reading = read();
  const presented = reading.presented;
  if (presented === undefined) {
    throw refused(
      reading.unreadable === undefined
        ? `this client must authenticate with ${method}: no TLS client certificate was presented`
        : `the TLS client certificate could not be read (${reading.unreadable})`,
    );
  }
  const { certificate } = presented;
  if (method === 'tls_client_auth') {
    if (!presented.chainedToClientCa) {
      throw refused('the TLS client certificate is not issued by a CA trusted for clients');
    }
    if (!carriesRegisteredName(certificate, rule)) {
      throw refused("the TLS client certificate does not carry this client's registered name");
    }
    return;
  }
  if (!registeredThumbprints(rule).has(certificateThumbprint(certificate))) {
    throw refused('the TLS client certificate is not one this client registered');
  }
  if (!withinValidity(certificate, nowMs)) {
    throw refused('the TLS client certificate is outside its validity period');
  }
}
