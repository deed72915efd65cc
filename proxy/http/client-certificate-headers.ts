/**
 * Headers in which an ingress that terminates TLS passes the client's certificate on. They
 * describe the client's connection, as X-Forwarded-For does, so they are forwarding headers
 * (headers.ts): a trusted proxy's reach the upstream as it sent them, any other peer's never do,
 * whether or not scopegate reads them. An upstream behind scopegate may believe them (Keycloak's
 * X.509 authenticator reads `ssl-client-cert` behind ingress-nginx); a client must not forge one.
 *
 * `server.client_certificate_header.name` is one of CERTIFICATE_HEADER_NAMES, so that the header
 * scopegate reads is always one it strips from untrusted peers.
 */

/** The header formats scopegate reads a certificate from. */
export const CERTIFICATE_HEADER_FORMATS = ['xfcc', 'pem-urlencoded', 'rfc9440'] as const;
export type CertificateHeaderFormat = (typeof CERTIFICATE_HEADER_FORMATS)[number];

/** Headers that may carry the client certificate, lower case. */
export const CERTIFICATE_HEADER_NAMES = [
  // Envoy, Istio, Contour: comma-separated elements, the Cert element a URL-encoded PEM.
  'x-forwarded-client-cert',
  // ingress-nginx ($ssl_client_escaped_cert): a URL-encoded PEM.
  'ssl-client-cert',
  // AWS Application Load Balancer: the leaf as a URL-encoded PEM (verify mode); the whole chain
  // (passthrough mode: readable only when the client sent its certificate alone).
  'x-amzn-mtls-clientcert-leaf',
  'x-amzn-mtls-clientcert',
  // A common name for HAProxy, nginx and Caddy set-ups that choose their own header.
  'x-ssl-client-cert',
  'x-client-cert',
  // RFC 9440: a structured-field byte sequence of the DER certificate.
  'client-cert',
] as const;
export type CertificateHeaderName = (typeof CERTIFICATE_HEADER_NAMES)[number];

/** Headers in which an ingress says whether it verified the certificate (`SUCCESS`). */
export const VERIFICATION_HEADER_NAMES = [
  // ingress-nginx: NONE, SUCCESS or FAILED:<reason>.
  'ssl-client-verify',
  'x-ssl-client-verify',
  'x-client-verify',
] as const;
export type VerificationHeaderName = (typeof VERIFICATION_HEADER_NAMES)[number];

/** Everything an ingress may say about the client certificate, stripped from untrusted peers. */
export const CLIENT_CERTIFICATE_HEADERS: readonly string[] = [
  ...CERTIFICATE_HEADER_NAMES,
  ...VERIFICATION_HEADER_NAMES,
  // The rest of what ingress-nginx, Traefik, AWS ALB and RFC 9440 send about it.
  'ssl-client-subject-dn',
  'ssl-client-issuer-dn',
  'x-ssl-client-dn',
  'client-cert-chain',
  'x-forwarded-tls-client-cert',
  'x-forwarded-tls-client-cert-info',
  'x-amzn-mtls-clientcert-serial-number',
  'x-amzn-mtls-clientcert-issuer',
  'x-amzn-mtls-clientcert-subject',
  'x-amzn-mtls-clientcert-validity',
];
