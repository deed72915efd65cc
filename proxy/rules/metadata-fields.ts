/**
 * What scopegate does with each field of the upstream's discovery document (OpenID Connect
 * Discovery 1.0, RFC 8414 and the specifications that register fields there). The README's
 * discovery table is checked against this list, so the two cannot drift.
 *
 * - own: scopegate's value replaces the upstream's;
 * - endpoint: the URL is moved onto scopegate's issuer (the request is proxied, or served by
 *   scopegate), or the field is dropped when the URL cannot be reached through scopegate or what
 *   it `requires` is not configured;
 * - filtered: a list from which values that cannot work through scopegate are removed;
 * - kept: passed on as the upstream published it;
 * - dropped: the capability cannot work through scopegate (or would bypass it).
 *
 * The document is built from this list: a field it does not name is left out (any vendor field
 * could otherwise say something untrue of scopegate, such as the upstream's signing algorithms),
 * unless the configuration keeps it by name (`discovery.keep_fields`, see KEEP_LISTED_FIELD).
 */
import { returnsFrontChannelToken } from '../http/front-channel.js';
import { JWT_CLIENT_AUTH_METHODS } from './client-auth-methods.js';

export type FieldTreatment =
  | { kind: 'own'; why: string }
  | {
      kind: 'endpoint';
      why: string;
      /** Advertised only when this setting is configured (the endpoint needs it to work). */
      requires?: 'upstream_token_key';
    }
  | {
      kind: 'filtered';
      remove: readonly string[];
      /** Removes the values it is true for, besides those listed. */
      removeIf?: (value: string) => boolean;
      why: string;
    }
  | { kind: 'kept'; why: string }
  | { kind: 'dropped'; why: string };

const JWT_CLIENT_AUTH: readonly string[] = JWT_CLIENT_AUTH_METHODS;
const MTLS_CLIENT_AUTH = ['tls_client_auth', 'self_signed_tls_client_auth'];
/** Client authentication methods the upstream may list that cannot reach it through scopegate. */
export const UNREACHABLE_CLIENT_AUTH: readonly string[] = [...JWT_CLIENT_AUTH, ...MTLS_CLIENT_AUTH];
const CLIENT_AUTH_WHY =
  "the upstream's methods, less those that cannot reach it through scopegate (JWT assertions name scopegate's issuer as audience, which the upstream refuses; mutual TLS ends at scopegate), plus the JWT and mutual TLS methods scopegate verifies itself for the clients configured with them (clients[].token_endpoint_auth_method)";
const CLIENT_AUTH_ALG_WHY =
  'the algorithms scopegate accepts for the JWT client authentication methods configured (clients[].token_endpoint_auth_method); absent when no client uses one';

const PROXIED = 'proxied to the upstream, so advertised on scopegate';
const SIGNED_BY_UPSTREAM =
  "the upstream signs these with its own key and issuer, which clients of scopegate's issuer refuse";
const CLIENT_SIGNED_FOR_ISSUER =
  "clients sign these for scopegate's issuer as audience; the upstream verifies its own";
const DESCRIPTIVE = 'describes the upstream, true through scopegate as well';

export const METADATA_FIELDS: Readonly<Record<string, FieldTreatment>> = {
  issuer: { kind: 'own', why: "scopegate's issuer, the iss of every token it issues" },
  jwks_uri: { kind: 'own', why: "scopegate's public keys only, never the upstream's" },
  token_endpoint: { kind: 'own', why: 'intercepted by scopegate, which narrows and re-signs' },
  id_token_signing_alg_values_supported: {
    kind: 'own',
    why: "scopegate re-signs ID tokens: its default key's algorithm, and a next key's of an algorithm no key signs yet",
  },
  access_token_signing_alg_values_supported: {
    kind: 'own',
    why: 'scopegate signs the access tokens it issues: the algorithms of its active and next keys',
  },
  dpop_signing_alg_values_supported: {
    kind: 'own',
    why: 'scopegate verifies DPoP proofs itself and binds its tokens (cnf.jkt): tokens.dpop.algorithms, whatever the upstream knows',
  },
  request_parameter_supported: {
    kind: 'own',
    why: `false: request objects are not supported (${CLIENT_SIGNED_FOR_ISSUER})`,
  },
  request_uri_parameter_supported: {
    kind: 'own',
    why: 'false, for the same reason (absent would mean true); pushed requests still work',
  },

  authorization_endpoint: { kind: 'endpoint', why: `${PROXIED}; the response's iss is rewritten` },
  revocation_endpoint: {
    kind: 'endpoint',
    why: "served by scopegate: a wrapped refresh token is revoked at the upstream, and so is the upstream's access token sealed in one of scopegate's; every scopegate access token is remembered as revoked until it expires (tokens.revocation), and only its own client may revoke it",
  },
  end_session_endpoint: {
    kind: 'endpoint',
    why: `${PROXIED}; id_token_hint is translated back for the upstream`,
  },
  userinfo_endpoint: {
    kind: 'endpoint',
    requires: 'upstream_token_key',
    why: "served by scopegate with tokens.upstream_token_key (dropped without it): scopegate's access token is verified and the upstream's, sealed inside it, is sent to the upstream",
  },
  introspection_endpoint: {
    kind: 'endpoint',
    why: "served by scopegate: the caller is authenticated by the upstream; only scopegate's own valid tokens are active (the upstream's sealed token must be active too)",
  },
  pushed_authorization_request_endpoint: {
    kind: 'endpoint',
    why: `${PROXIED}; scopegate's own (/par below the issuer) with the top-level profile, or with clients[].profile when the upstream has none`,
  },
  registration_endpoint: { kind: 'endpoint', why: PROXIED },
  device_authorization_endpoint: {
    kind: 'endpoint',
    why: `${PROXIED}; the device code is redeemed at the token endpoint`,
  },
  backchannel_authentication_endpoint: {
    kind: 'endpoint',
    why: `${PROXIED}; tokens are polled from the token endpoint`,
  },

  token_endpoint_auth_methods_supported: { kind: 'own', why: CLIENT_AUTH_WHY },
  introspection_endpoint_auth_methods_supported: { kind: 'own', why: CLIENT_AUTH_WHY },
  revocation_endpoint_auth_methods_supported: { kind: 'own', why: CLIENT_AUTH_WHY },
  response_modes_supported: {
    kind: 'filtered',
    remove: ['jwt', 'query.jwt', 'fragment.jwt', 'form_post.jwt'],
    why: `JARM: ${SIGNED_BY_UPSTREAM}; form_post is kept (the iss inside the upstream's form is rewritten)`,
  },
  backchannel_token_delivery_modes_supported: {
    kind: 'filtered',
    remove: ['push'],
    why: "push delivers the upstream's tokens straight to the client, around scopegate",
  },

  signed_metadata: { kind: 'dropped', why: "signed by the upstream about the upstream's URLs" },
  mtls_endpoint_aliases: {
    kind: 'dropped',
    why: "the aliases are the upstream's own hosts: the token alias bypasses scopegate",
  },
  tls_client_certificate_bound_access_tokens: {
    kind: 'own',
    why: "true when some client's tokens are bound to its TLS client certificate (clients[].tls_client_certificate_bound_access_tokens): scopegate binds them itself (cnf x5t#S256) from the certificate on its own TLS listener or a trusted ingress's header, whatever the upstream knows; absent otherwise",
  },
  token_endpoint_auth_signing_alg_values_supported: { kind: 'own', why: CLIENT_AUTH_ALG_WHY },
  introspection_endpoint_auth_signing_alg_values_supported: {
    kind: 'own',
    why: CLIENT_AUTH_ALG_WHY,
  },
  revocation_endpoint_auth_signing_alg_values_supported: {
    kind: 'own',
    why: CLIENT_AUTH_ALG_WHY,
  },
  request_object_signing_alg_values_supported: { kind: 'dropped', why: CLIENT_SIGNED_FOR_ISSUER },
  request_object_encryption_alg_values_supported: {
    kind: 'dropped',
    why: CLIENT_SIGNED_FOR_ISSUER,
  },
  request_object_encryption_enc_values_supported: {
    kind: 'dropped',
    why: CLIENT_SIGNED_FOR_ISSUER,
  },
  backchannel_authentication_request_signing_alg_values_supported: {
    kind: 'dropped',
    why: CLIENT_SIGNED_FOR_ISSUER,
  },
  userinfo_signing_alg_values_supported: { kind: 'dropped', why: SIGNED_BY_UPSTREAM },
  userinfo_encryption_alg_values_supported: { kind: 'dropped', why: SIGNED_BY_UPSTREAM },
  userinfo_encryption_enc_values_supported: { kind: 'dropped', why: SIGNED_BY_UPSTREAM },
  authorization_signing_alg_values_supported: { kind: 'dropped', why: SIGNED_BY_UPSTREAM },
  authorization_encryption_alg_values_supported: { kind: 'dropped', why: SIGNED_BY_UPSTREAM },
  authorization_encryption_enc_values_supported: { kind: 'dropped', why: SIGNED_BY_UPSTREAM },
  introspection_signing_alg_values_supported: { kind: 'dropped', why: SIGNED_BY_UPSTREAM },
  introspection_encryption_alg_values_supported: { kind: 'dropped', why: SIGNED_BY_UPSTREAM },
  introspection_encryption_enc_values_supported: { kind: 'dropped', why: SIGNED_BY_UPSTREAM },
  id_token_encryption_alg_values_supported: {
    kind: 'dropped',
    why: 'scopegate re-signs ID tokens and cannot open one encrypted to the client',
  },
  id_token_encryption_enc_values_supported: {
    kind: 'dropped',
    why: 'scopegate re-signs ID tokens and cannot open one encrypted to the client',
  },
  backchannel_logout_supported: { kind: 'dropped', why: `logout tokens: ${SIGNED_BY_UPSTREAM}` },
  backchannel_logout_session_supported: {
    kind: 'dropped',
    why: `logout tokens: ${SIGNED_BY_UPSTREAM}`,
  },
  frontchannel_logout_supported: {
    kind: 'dropped',
    why: "the logout request carries the upstream's iss",
  },
  frontchannel_logout_session_supported: {
    kind: 'dropped',
    why: "the logout request carries the upstream's iss",
  },
  check_session_iframe: {
    kind: 'dropped',
    why: "session management checks the upstream's origin in the browser; untested through scopegate",
  },

  response_types_supported: {
    kind: 'filtered',
    remove: [],
    removeIf: returnsFrontChannelToken,
    why: "response types that return a token from the authorization endpoint (token, id_token) are refused: the upstream's access token would bypass narrowing, its ID token scopegate's re-signing",
  },
  grant_types_supported: {
    kind: 'filtered',
    remove: ['implicit'],
    why: 'the implicit grant is refused at the authorization endpoint; every other grant is redeemed at the token endpoint',
  },
  code_challenge_methods_supported: {
    kind: 'kept',
    why: 'PKCE is checked by the upstream; with the profile, S256 only, checked by scopegate',
  },
  scopes_supported: { kind: 'kept', why: DESCRIPTIVE },
  claims_supported: { kind: 'kept', why: 'ID token claims are carried when re-signed' },
  claim_types_supported: { kind: 'kept', why: DESCRIPTIVE },
  claims_parameter_supported: { kind: 'kept', why: DESCRIPTIVE },
  claims_locales_supported: { kind: 'kept', why: DESCRIPTIVE },
  subject_types_supported: { kind: 'kept', why: 'sub is carried unchanged' },
  acr_values_supported: { kind: 'kept', why: 'acr is carried unchanged' },
  display_values_supported: { kind: 'kept', why: DESCRIPTIVE },
  ui_locales_supported: { kind: 'kept', why: DESCRIPTIVE },
  prompt_values_supported: { kind: 'kept', why: DESCRIPTIVE },
  service_documentation: { kind: 'kept', why: 'documentation, not an endpoint' },
  op_policy_uri: { kind: 'kept', why: 'a document, not an endpoint' },
  op_tos_uri: { kind: 'kept', why: 'a document, not an endpoint' },
  require_request_uri_registration: { kind: 'kept', why: DESCRIPTIVE },
  require_signed_request_object: { kind: 'kept', why: DESCRIPTIVE },
  require_pushed_authorization_requests: {
    kind: 'kept',
    why: `${DESCRIPTIVE}; true with the profile, which scopegate enforces`,
  },
  authorization_response_iss_parameter_supported: {
    kind: 'kept',
    why: "the iss parameter is rewritten to scopegate's issuer; true with the profile, where scopegate adds it",
  },
  backchannel_user_code_parameter_supported: { kind: 'kept', why: DESCRIPTIVE },
};

/** The table's treatment of a field, or undefined when the table does not name it. */
export function listedTreatment(name: string): FieldTreatment | undefined {
  // Own members only: `constructor` or `toString` are not fields of the table.
  return Object.hasOwn(METADATA_FIELDS, name) ? METADATA_FIELDS[name] : undefined;
}

/**
 * A vendor field the configuration keeps by name (`discovery.keep_fields`): passed on, except
 * that a URL on the upstream's origin is moved onto scopegate and an `*_endpoint` scopegate
 * cannot reach is dropped. Fields the table names cannot be keep-listed (config/schema.ts).
 */
export const KEEP_LISTED_FIELD: FieldTreatment = {
  kind: 'kept',
  why: "kept by discovery.keep_fields; URLs on the upstream's origin are moved onto scopegate, endpoints elsewhere dropped",
};

/** Why a field cannot be keep-listed: the table already decides what scopegate does with it. */
export function keepListRefusal(name: string): string | undefined {
  const treatment = listedTreatment(name);
  if (treatment === undefined) return undefined;
  switch (treatment.kind) {
    case 'own':
      return `scopegate owns ${name} (${treatment.why}); it cannot be kept from the upstream`;
    case 'dropped':
      return `scopegate drops ${name} (${treatment.why}); it cannot be kept`;
    case 'endpoint':
    case 'filtered':
      return `scopegate rewrites ${name} (${treatment.why}); it cannot be kept as the upstream wrote it`;
    case 'kept':
      return `${name} is in the discovery table and already kept; remove it from keep_fields`;
  }
}
