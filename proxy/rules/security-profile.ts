/**
 * The security profiles a client can be held to (`profile`, `clients[].profile`), and what the
 * configuration and the endpoints share about them. One profile today: the FAPI 2.0 Security
 * Profile (OpenID Foundation, final 2025). Its requirements are listed, with how scopegate meets
 * each, in the README's table; the numbers here are the profile's.
 */

export const SECURITY_PROFILES = ['fapi2'] as const;
export type SecurityProfile = (typeof SECURITY_PROFILES)[number];

/**
 * JWS algorithms the profile allows (FAPI 2.0 §5.4.1): for scopegate's own signatures (access and
 * ID tokens a profile client receives) and, once scopegate verifies them, for client assertions
 * and DPoP proofs.
 */
export const FAPI2_ALGORITHMS: ReadonlySet<string> = new Set(['PS256', 'ES256', 'EdDSA']);

/**
 * Client authentication the profile allows (FAPI 2.0 §5.3.2.1): private_key_jwt, or mutual TLS as
 * RFC 8705 §2 defines it (PKI or self-signed certificates).
 */
export const FAPI2_CLIENT_AUTH_METHODS: ReadonlySet<string> = new Set([
  'private_key_jwt',
  'tls_client_auth',
  'self_signed_tls_client_auth',
]);

/** Longest life of an authorization code (FAPI 2.0 §5.3.2.2: at most 60 seconds). */
export const FAPI2_MAX_CODE_LIFETIME_MS = 60_000;

/** Bounds of a pushed request's `expires_in` (FAPI 2.0 §5.3.2.2: between 5 and 600 seconds). */
export const FAPI2_REQUEST_URI_LIFETIME_MS = { min: 5_000, max: 600_000 } as const;

/** The only PKCE method the profile accepts (FAPI 2.0 §5.3.2.2, RFC 7636 §4.2). */
export const FAPI2_CODE_CHALLENGE_METHOD = 'S256';

/** The only response type the profile accepts: the authorization code flow. */
export const FAPI2_RESPONSE_TYPE = 'code';

/** Where scopegate serves its own pushed authorization request endpoint, below its issuer. */
export const PUSHED_AUTHORIZATION_PATH = '/par';

/** The prefix of every request_uri (RFC 9126 §2.2). */
export const REQUEST_URI_PREFIX = 'urn:ietf:params:oauth:request_uri:';

/**
 * The start of the `state` scopegate sends the upstream for an authorization it holds to a
 * profile, so that the answer, on whatever path it comes back, is recognised as one to bind.
 */
export const AUTHORIZATION_STATE_PREFIX = 'sgpar1.';
