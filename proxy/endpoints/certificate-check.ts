/**
 * TLS client certificates at the endpoints scopegate answers itself (RFC 8705 §3): the token
 * endpoint, which binds a certificate-bound client's tokens to the certificate its request came
 * with, and userinfo, token exchange and every other place that accepts such a token, which
 * accept it only from a connection presenting the same certificate.
 *
 * The certificate comes from where http/client-certificate.ts says (scopegate's own TLS, or a
 * trusted ingress's header). Binding needs no chain: the TLS handshake (scopegate's or the
 * ingress's) proved the client holds the certificate's key, which is all a binding asks; a
 * self-signed certificate binds as well as any (RFC 8705 §3). Refusals are said the way each
 * role says them: `400 invalid_request` at the token endpoint, `401 invalid_token` with a
 * `WWW-Authenticate: Bearer` challenge at a resource (RFC 6750 §3.1; RFC 8705 §3 keeps Bearer).
 */
import type { IncomingMessage } from 'node:http';
import { presentedThumbprint, readClientCertificate } from '../http/client-certificate.js';
import { invalidRequest, type OAuthError } from '../http/oauth-error.js';
import type { Runtime } from '../runtime/runtime.js';
import { bearerError } from './bearer.js';

export interface CertificateSeen {
  /** `x5t#S256` of the request's client certificate, when it has one scopegate can read. */
  thumbprint: string | undefined;
  /** Why the certificate a trusted ingress named could not be read (never its content). */
  unreadable: string | undefined;
}

/** The client certificate of a request, as its thumbprint. */
export function certificateOf(req: IncomingMessage, runtime: Runtime): CertificateSeen {
  const reading = readClientCertificate(req, runtime.trustedProxies, runtime.config.server);
  return {
    thumbprint:
      reading.presented === undefined ? undefined : presentedThumbprint(reading.presented),
    unreadable: reading.unreadable,
  };
}

/** Which role scopegate plays for the certificate: how a refusal is said. */
export type CertificateRole = 'token' | 'resource';

function refusal(role: CertificateRole, description: string): OAuthError {
  return role === 'token' ? invalidRequest(description) : bearerError('invalid_token', description);
}

/** Why no certificate counts: none presented, or one that could not be read. */
function absence(seen: CertificateSeen): string {
  return seen.unreadable === undefined
    ? 'no TLS client certificate was presented'
    : `the TLS client certificate could not be read (${seen.unreadable})`;
}

/** The request's certificate thumbprint, for a client whose tokens must be bound to it. */
export function requiredThumbprint(seen: CertificateSeen, role: CertificateRole): string {
  if (seen.thumbprint !== undefined) return seen.thumbprint;
  throw refusal(
    role,
    `this client's tokens are bound to its TLS client certificate: ${absence(seen)}`,
  );
}

/**
 * Refuses unless the request presents the certificate `bound` names (a token's or a refresh
 * token's `x5t#S256`). Thumbprints are public values: a plain comparison leaks nothing.
 */
export function checkBoundCertificate(
  seen: CertificateSeen,
  bound: string,
  role: CertificateRole,
  what: string,
): void {
  if (seen.thumbprint === undefined) {
    throw refusal(role, `${what} is bound to a TLS client certificate: ${absence(seen)}`);
  }
  if (seen.thumbprint !== bound) {
    throw refusal(role, `${what} is bound to another TLS client certificate`);
  }
}
