/**
 * What discovery says about the security profile (`profile`, `clients[].profile`) and scopegate's
 * own PAR endpoint. Every value here is one scopegate makes true itself, in front of an upstream
 * that may support none of it:
 *
 * - `pushed_authorization_request_endpoint`: scopegate's (endpoints/par/), when every client is
 *   held to the profile, or when some are and the upstream has no PAR endpoint of its own
 *   (otherwise the upstream's stays, for the clients the profile does not hold);
 * - with the top-level profile, which holds every client: `require_pushed_authorization_requests`
 *   and `authorization_response_iss_parameter_supported` true (scopegate refuses requests that
 *   were not pushed, and adds `iss` to every authorization response), `code_challenge_methods_supported`
 *   `S256` only, `response_types_supported` `code` only, `response_modes_supported` the modes
 *   whose responses scopegate binds (query, fragment), `token_endpoint_auth_methods_supported`
 *   `private_key_jwt` (with the profile's algorithms) and the mutual TLS methods the document
 *   already lists, which scopegate verifies for the clients configured with them.
 */
import {
  FAPI2_ALGORITHMS,
  FAPI2_CLIENT_AUTH_METHODS,
  FAPI2_CODE_CHALLENGE_METHOD,
  FAPI2_RESPONSE_TYPE,
  PUSHED_AUTHORIZATION_PATH,
  type SecurityProfile,
} from '../rules/security-profile.js';
import { issuerUrl } from '../upstream/discovery.js';

export interface ProfileMetadataContext {
  issuer: string;
  /** The top-level profile: it holds every client. */
  profile: SecurityProfile | undefined;
  /** Whether any client is held to a profile (top-level or clients[].profile). */
  anyProfile: boolean;
}

const HELD_RESPONSE_MODES = ['query', 'fragment'];

export function withProfileMetadata(
  document: Record<string, unknown>,
  context: ProfileMetadataContext,
): Record<string, unknown> {
  if (!context.anyProfile) return document;
  const result = { ...document };
  if (context.profile !== undefined || result.pushed_authorization_request_endpoint === undefined) {
    result.pushed_authorization_request_endpoint = issuerUrl(
      context.issuer,
      PUSHED_AUTHORIZATION_PATH,
    );
  }
  if (context.profile === undefined) return result;
  result.require_pushed_authorization_requests = true;
  result.authorization_response_iss_parameter_supported = true;
  result.code_challenge_methods_supported = [FAPI2_CODE_CHALLENGE_METHOD];
  result.response_types_supported = [FAPI2_RESPONSE_TYPE];
  // The client authentication a held client may use: private_key_jwt, with the algorithms the
  // profile allows, and mutual TLS where the document lists it (scopegate verifies it then).
  const listed = result.token_endpoint_auth_methods_supported;
  result.token_endpoint_auth_methods_supported = [
    ...new Set([
      'private_key_jwt',
      ...(Array.isArray(listed) ? listed : []).filter(
        (method) => typeof method === 'string' && FAPI2_CLIENT_AUTH_METHODS.has(method),
      ),
    ]),
  ];
  const signing = result.token_endpoint_auth_signing_alg_values_supported;
  result.token_endpoint_auth_signing_alg_values_supported = (
    Array.isArray(signing) ? signing : [...FAPI2_ALGORITHMS]
  ).filter((alg) => typeof alg === 'string' && FAPI2_ALGORITHMS.has(alg));
  const modes = Array.isArray(result.response_modes_supported)
    ? result.response_modes_supported.filter((mode) => HELD_RESPONSE_MODES.includes(mode))
    : HELD_RESPONSE_MODES;
  result.response_modes_supported = modes.length > 0 ? modes : HELD_RESPONSE_MODES;
  return result;
}
