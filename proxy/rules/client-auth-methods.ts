/**
 * Client authentication at scopegate's token, revocation and introspection endpoints: the
 * methods a client may be configured for (`clients[].token_endpoint_auth_method`), the signing
 * algorithms each JWT method accepts, the names a mutual TLS client is known by, and the request
 * parameters that carry a client's credentials. One table for the configuration, the verifier and the discovery document.
 */

/** RFC 7591 §2 / OpenID Connect Registration names of the methods scopegate verifies. */
export const CLIENT_AUTH_METHODS = [
  'client_secret_basic',
  'client_secret_post',
  'client_secret_jwt',
  'private_key_jwt',
  'tls_client_auth',
  'self_signed_tls_client_auth',
  'none',
] as const;
export type ClientAuthMethod = (typeof CLIENT_AUTH_METHODS)[number];

/** The mutual TLS methods (RFC 8705 §2): the client's certificate authenticates it. */
export const TLS_CLIENT_AUTH_METHODS = ['tls_client_auth', 'self_signed_tls_client_auth'] as const;
export type TlsClientAuthMethod = (typeof TLS_CLIENT_AUTH_METHODS)[number];

export function isTlsMethod(method: ClientAuthMethod): method is TlsClientAuthMethod {
  return (TLS_CLIENT_AUTH_METHODS as readonly string[]).includes(method);
}

/**
 * The `tls_client_auth` name a client registers, exactly one of (RFC 8705 §2.1.2), and the
 * certificate field each is compared with.
 */
export const TLS_CLIENT_AUTH_NAMES = [
  'tls_client_auth_subject_dn',
  'tls_client_auth_san_dns',
  'tls_client_auth_san_uri',
  'tls_client_auth_san_ip',
  'tls_client_auth_san_email',
] as const;
export type TlsClientAuthName = (typeof TLS_CLIENT_AUTH_NAMES)[number];

/** The methods that present a JWT assertion (RFC 7523 §2.2). */
export const JWT_CLIENT_AUTH_METHODS = ['client_secret_jwt', 'private_key_jwt'] as const;
export type JwtClientAuthMethod = (typeof JWT_CLIENT_AUTH_METHODS)[number];

export function isJwtMethod(method: ClientAuthMethod): method is JwtClientAuthMethod {
  return (JWT_CLIENT_AUTH_METHODS as readonly string[]).includes(method);
}

/** The methods that need the client's secret at scopegate. */
export const SECRET_CLIENT_AUTH_METHODS = [
  'client_secret_basic',
  'client_secret_post',
  'client_secret_jwt',
] as const;

/**
 * Algorithms an assertion may be signed with, per method. Asymmetric only for private_key_jwt
 * (an HMAC "signed" with a public key as secret is the classic confusion attack); HMAC only for
 * client_secret_jwt; `none` for neither.
 */
export const ASSERTION_ALGORITHMS: Readonly<Record<JwtClientAuthMethod, readonly string[]>> = {
  private_key_jwt: [
    'RS256',
    'RS384',
    'RS512',
    'PS256',
    'PS384',
    'PS512',
    'ES256',
    'ES384',
    'ES512',
    'EdDSA',
  ],
  client_secret_jwt: ['HS256', 'HS384', 'HS512'],
};

/** RFC 7523 §2.2: the only client assertion type. */
export const JWT_BEARER_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/**
 * Request parameters that carry a client's credentials (RFC 6749 §2.3.1, RFC 7521 §4.2): never
 * forwarded for a client scopegate authenticates, whose upstream credentials are scopegate's.
 */
export const CLIENT_CREDENTIAL_PARAMETERS = [
  'client_id',
  'client_secret',
  'client_assertion',
  'client_assertion_type',
] as const;

/**
 * The token request parameters forwarded to the upstream for a client scopegate authenticated
 * (an allowlist: the registered token endpoint parameters of RFC 6749, 7521/7522/7523, 7636, 8628,
 * 8693, 8707, 9126 and OpenID CIBA, plus Auth0's `audience` and `organization`). Anything else
 * the client sent stays at scopegate.
 */
export const FORWARDED_TOKEN_PARAMETERS: ReadonlySet<string> = new Set([
  'grant_type',
  'code',
  'redirect_uri',
  'code_verifier',
  'refresh_token',
  'scope',
  'username',
  'password',
  'assertion',
  'device_code',
  'auth_req_id',
  'audience',
  'organization',
  'resource',
  'requested_token_type',
  'subject_token',
  'subject_token_type',
  'actor_token',
  'actor_token_type',
]);
