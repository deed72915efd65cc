/**
 * The front channel: an authorization request whose response type includes `token` (implicit,
 * hybrid) would have the upstream hand its own, unnarrowed access token to the client in a
 * redirect, around the token endpoint. Such requests are refused on every proxied path (not only
 * the authorization endpoint's spellings): in the query, or inside a request object passed by
 * value. Request objects by reference are refused except PAR's own URNs.
 */
import { parseFormPairs } from './form-urlencoded.js';
import { OAuthError } from './oauth-error.js';

/** RFC 9126 request_uri values: the PAR endpoint answered them to a request checked here. */
const PUSHED_REQUEST_URI = 'urn:ietf:params:oauth:request_uri:';

/** A response_type names `token` as one of its space-separated values (read loosely). */
function includesToken(responseType: unknown): boolean {
  const values = Array.isArray(responseType) ? responseType : [responseType];
  return values.some(
    (value) =>
      typeof value === 'string' &&
      value.split(/(?:\s|\+|,|%20)+/i).some((part) => part.toLowerCase() === 'token'),
  );
}

const unsupportedResponseType = () =>
  new OAuthError(
    'unsupported_response_type',
    'response types that return an access token from the authorization endpoint are not supported; use the code flow',
    400,
  );

/** The claims of a request object (RFC 9101), read without trusting its signature. */
function requestObjectClaims(jwt: string): Record<string, unknown> | OAuthError {
  const parts = jwt.split('.');
  const refused = (why: string) => new OAuthError('invalid_request_object', why, 400);
  // An encrypted object (JWE, five parts) is readable by the upstream only: it cannot be checked.
  if (parts.length !== 3) return refused('the request object is not a signed or unsecured JWT');
  try {
    const claims: unknown = JSON.parse(Buffer.from(parts[1] ?? '', 'base64url').toString('utf8'));
    if (typeof claims === 'object' && claims !== null && !Array.isArray(claims)) {
      return claims as Record<string, unknown>;
    }
  } catch {
    // falls through to the refusal
  }
  return refused('the request object payload is not a JSON object');
}

/**
 * Why these authorization parameters must not reach the upstream, or undefined. Names compare
 * case-insensitively: an upstream that is lenient about them must not be a way around.
 */
export function frontChannelRefusal(
  params: Iterable<readonly [string, unknown]>,
  depth = 0,
): OAuthError | undefined {
  for (const [rawName, value] of params) {
    const name = rawName.trim().toLowerCase();
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
