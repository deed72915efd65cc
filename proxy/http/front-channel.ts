/**
 * The front channel: an authorization request whose response type includes `token` or
 * `id_token` (implicit, hybrid) would have the upstream hand its own tokens (an unnarrowed access
 * token, an ID token scopegate has not re-signed) to the client in a redirect, around the token
 * endpoint. Such requests are refused on every proxied path (not only
 * the authorization endpoint's spellings): in the query, in a body of any carrier
 * (inspected-body.ts), or inside a request object passed by value. Request objects by reference
 * are refused except PAR's own URNs. This is the first fence; the answer is screened again on
 * its way back (relay/front-channel-screen.ts).
 */
import { canonicalParamName, canonicalParamValue } from './canonical-param.js';
import { parseFormPairs } from './form-urlencoded.js';
import { OAuthError } from './oauth-error.js';
import { parseUntrustedObject } from './untrusted-json.js';

/** RFC 9126 request_uri values: the PAR endpoint answered them to a request checked here. */
const PUSHED_REQUEST_URI = 'urn:ietf:params:oauth:request_uri:';

/**
 * Response types the authorization endpoint answers with a token of the upstream's own: `token`
 * (its access token, unnarrowed) and `id_token` (its ID token, signed with its key and issuer,
 * which scopegate re-signs only at the token endpoint). Both would reach the client in a redirect
 * around scopegate. Read loosely: any separator a lenient upstream might split on, any case.
 */
const FRONT_CHANNEL_TOKENS: ReadonlySet<string> = new Set(['token', 'id_token']);

/** Whether one response_type value asks the authorization endpoint for a token. */
export function returnsFrontChannelToken(responseType: string): boolean {
  return responseType
    .split(/(?:\s|\+|,|%20)+/i)
    .some((part) => FRONT_CHANNEL_TOKENS.has(part.toLowerCase()));
}

function includesToken(responseType: unknown): boolean {
  const values = Array.isArray(responseType) ? responseType : [responseType];
  return values.some(
    (value) => typeof value === 'string' && returnsFrontChannelToken(canonicalParamValue(value)),
  );
}

const unsupportedResponseType = () =>
  new OAuthError(
    'unsupported_response_type',
    'response types that return a token from the authorization endpoint (token, id_token) are not supported; use the code flow',
    400,
  );

/** The claims of a request object (RFC 9101), read without trusting its signature. */
function requestObjectClaims(jwt: string): Record<string, unknown> | OAuthError {
  const parts = jwt.split('.');
  const refused = (why: string) => new OAuthError('invalid_request_object', why, 400);
  // An encrypted object (JWE, five parts) is readable by the upstream only: it cannot be checked.
  if (parts.length !== 3) return refused('the request object is not a signed or unsecured JWT');
  try {
    const claims = parseUntrustedObject(Buffer.from(parts[1] ?? '', 'base64url').toString('utf8'));
    if (claims !== undefined) return claims;
  } catch {
    // falls through to the refusal
  }
  return refused('the request object payload is not a JSON object');
}

/**
 * Why these authorization parameters must not reach the upstream, or undefined. Names compare in
 * their canonical form (canonical-param.ts: escapes undone, trimmed, any case): an upstream that
 * is lenient about them must not be a way around.
 */
export function frontChannelRefusal(
  params: Iterable<readonly [string, unknown]>,
  depth = 0,
): OAuthError | undefined {
  for (const [rawName, value] of params) {
    const name = canonicalParamName(rawName);
    if (name === 'response_type' && includesToken(value)) return unsupportedResponseType();
    if (name === 'request_uri') {
      if (typeof value !== 'string' || !value.startsWith(PUSHED_REQUEST_URI)) {
        return new OAuthError(
          'request_uri_not_supported',
          'request_uri is supported only for pushed authorization requests',
          400,
        );
      }
    }
    if (name === 'request') {
      if (depth > 0) return new OAuthError('invalid_request_object', 'nested request object', 400);
      if (typeof value !== 'string') {
        return new OAuthError('invalid_request_object', 'the request object is not a JWT', 400);
      }
      const claims = requestObjectClaims(value);
      if (claims instanceof OAuthError) return claims;
      const inner = frontChannelRefusal(Object.entries(claims), depth + 1);
      if (inner) return inner;
    }
  }
  return undefined;
}

/** Query parameters as lenient servers read them: `;` separates too. */
export function queryParams(query: string): Array<[string, string]> {
  return parseFormPairs(Buffer.from(query.replace(/;/g, '&')));
}
