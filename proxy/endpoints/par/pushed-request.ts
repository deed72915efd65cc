/**
 * A pushed authorization request (RFC 9126 §2.1) checked under the FAPI 2.0 Security Profile
 * (§5.3.2.2) before scopegate keeps it: what the upstream, which may know neither PAR nor PKCE,
 * will be sent on the client's behalf, and what the code it issues will be bound to.
 *
 * Built from an allowlist of the checks, each with the error RFC 9126 §2.3 and the profile name.
 * The parameters kept are the client's, less its authentication (client_assertion,
 * client_secret), which the upstream's authorization endpoint never sees.
 */
import type { Config } from '../../../config/schema.js';
import { frontChannelRefusal } from '../../http/front-channel.js';
import { invalidRequest, invalidScope, OAuthError } from '../../http/oauth-error.js';
import { registeredRedirectUris } from '../../issued/client-profile.js';
import { FAPI2_CODE_CHALLENGE_METHOD, FAPI2_RESPONSE_TYPE } from '../../rules/security-profile.js';
import type { PushedRequest } from '../../runtime/authorization-store.js';
import { parseScopeParameter } from '../../scope/grammar.js';
import { MAX_REQUESTED_SCOPES } from '../token/token-request.js';

/** Client authentication members (RFC 6749 §2.3.1, RFC 7523 §2.2): never part of the request. */
const CLIENT_AUTHENTICATION = new Set([
  'client_secret',
  'client_assertion',
  'client_assertion_type',
]);

/** Parameters scopegate consumes itself and never sends the upstream's authorization endpoint. */
const KEPT_BY_SCOPEGATE = new Set(['dpop_jkt']);

/** A PKCE S256 challenge, and a DPoP JWK thumbprint: base64url of a SHA-256 digest. */
const SHA256_BASE64URL = /^[A-Za-z0-9_-]{43}$/;

/** Response modes whose answer passes scopegate as a redirect it can bind and rewrite. */
const RESPONSE_MODES = new Set(['query', 'fragment']);

/** Whether `uri` can be a redirect URI: absolute, http(s), without a fragment (RFC 6749 §3.1.2). */
function isRedirectUri(uri: string): boolean {
  if (!URL.canParse(uri) || uri.includes('#')) return false;
  const { protocol } = new URL(uri);
  return protocol === 'https:' || protocol === 'http:';
}

/**
 * The request to keep for `clientId` (authenticated as at the token endpoint), or the OAuth
 * error that refuses it.
 */
export function checkPushedRequest(
  params: ReadonlyMap<string, string>,
  resources: readonly string[],
  clientId: string,
  config: Config,
): PushedRequest {
  // RFC 9126 §2.1: request_uri is not allowed in a pushed request.
  if (params.has('request_uri')) {
    throw invalidRequest('request_uri is not allowed in a pushed authorization request');
  }
  if (params.has('request')) {
    throw new OAuthError(
      'request_not_supported',
      'request objects are not supported; push the parameters themselves',
      400,
    );
  }
  const named = params.get('client_id');
  if (named !== undefined && named !== clientId) {
    throw invalidRequest('client_id is not the authenticated client');
  }
  const responseType = params.get('response_type');
  if (responseType === undefined) throw invalidRequest('response_type is required');
  if (responseType !== FAPI2_RESPONSE_TYPE) {
    throw new OAuthError(
      'unsupported_response_type',
      'only response_type code is allowed under the fapi2 profile',
      400,
    );
  }
  const refusal = frontChannelRefusal(params);
  if (refusal !== undefined) throw refusal;
  const responseMode = params.get('response_mode');
  if (responseMode !== undefined && !RESPONSE_MODES.has(responseMode)) {
    throw invalidRequest(`response_mode ${responseMode} is not supported under the fapi2 profile`);
  }
  const redirectUri = params.get('redirect_uri');
  if (redirectUri === undefined) {
    throw invalidRequest('redirect_uri is required in a pushed authorization request');
  }
  if (!isRedirectUri(redirectUri)) throw invalidRequest('redirect_uri is not a valid redirect URI');
  const registered = registeredRedirectUris(config, clientId);
  if (registered !== undefined && !registered.includes(redirectUri)) {
    throw invalidRequest('redirect_uri is not registered for this client');
  }
  const codeChallenge = params.get('code_challenge');
  if (codeChallenge === undefined) throw invalidRequest('code_challenge (PKCE) is required');
  if (params.get('code_challenge_method') !== FAPI2_CODE_CHALLENGE_METHOD) {
    throw invalidRequest('code_challenge_method must be S256');
  }
  if (!SHA256_BASE64URL.test(codeChallenge)) {
    throw invalidRequest('code_challenge is not an S256 challenge');
  }
  const dpopJkt = params.get('dpop_jkt');
  if (dpopJkt !== undefined && !SHA256_BASE64URL.test(dpopJkt)) {
    throw invalidRequest('dpop_jkt is not a JWK SHA-256 thumbprint');
  }
  const scope = params.get('scope');
  if (scope !== undefined) {
    const parsed = parseScopeParameter(scope, MAX_REQUESTED_SCOPES);
    if (!parsed.ok) throw invalidScope(parsed.reason);
  }
  const kept: [string, string][] = [['client_id', clientId]];
  for (const [name, value] of params) {
    if (name === 'client_id' || CLIENT_AUTHENTICATION.has(name) || KEPT_BY_SCOPEGATE.has(name)) {
      continue;
    }
    kept.push([name, value]);
  }
  for (const resource of resources) kept.push(['resource', resource]);
  return {
    clientId,
    redirectUri,
    codeChallenge,
    ...(dpopJkt === undefined ? {} : { dpopJkt }),
    params: kept,
  };
}
