/** Token type identifiers of RFC 8693 §3 that scopegate reads or issues. */
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
export const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';

/** Subject and actor tokens scopegate can verify: access tokens, in JWT form or opaque. */
export const ACCEPTED_INPUT_TYPES: ReadonlySet<string> = new Set([
  ACCESS_TOKEN_TYPE,
  JWT_TOKEN_TYPE,
]);
