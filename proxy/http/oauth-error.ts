/**
 * The one OAuth error type and its one serializer (RFC 6749 §5.2). Every failure the gateway
 * produces itself leaves through here, so clients always get `{error, error_description}` JSON.
 */
import type { ServerResponse } from 'node:http';

export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_scope'
  | 'invalid_client'
  | 'invalid_grant'
  | 'invalid_target'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'unsupported_response_type'
  | 'invalid_request_object'
  | 'request_uri_not_supported'
  | 'access_denied'
  | 'authorization_pending'
  | 'slow_down'
  | 'expired_token'
  | 'invalid_dpop_proof'
  | 'use_dpop_nonce'
  | 'server_error'
  | 'temporarily_unavailable'
  // RFC 6750 §3.1: answers of the endpoints scopegate serves as a resource server (userinfo).
  | 'invalid_token'
  | 'insufficient_scope'
  // RFC 7009 §2.2.1: the revocation endpoint's own.
  | 'unsupported_token_type';

/**
 * Every code a token endpoint may answer with: RFC 6749 §5.2, RFC 8707 (invalid_target),
 * RFC 8628 §3.5 (device flow), RFC 9449 (DPoP), and the two §4.1.2.1 codes IdPs also use here.
 */
export const OAUTH_ERROR_CODES: ReadonlySet<string> = new Set<OAuthErrorCode>([
  'invalid_request',
  'invalid_scope',
  'invalid_client',
  'invalid_grant',
  'invalid_target',
  'unauthorized_client',
  'unsupported_grant_type',
  'access_denied',
  'authorization_pending',
  'slow_down',
  'expired_token',
  'invalid_dpop_proof',
  'use_dpop_nonce',
  'server_error',
  'temporarily_unavailable',
]);

export function isOAuthErrorCode(value: string): value is OAuthErrorCode {
  return OAUTH_ERROR_CODES.has(value);
}

/** The longest error_description scopegate emits: enough to explain, too short to smuggle. */
export const MAX_DESCRIPTION_LENGTH = 300;

/** Characters outside RFC 6749 §5.2's error_description set: %x20-21 / %x23-5B / %x5D-7E. */
const OUTSIDE_DESCRIPTION_CHARSET = /[^\x20\x21\x23-\x5B\x5D-\x7E]+/g;

/**
 * Something shaped like a JWS/JWE compact token or a piece of one: a JOSE header's base64url
 * (`eyJ`) and the segments joined to it by dots. Never part of a description, whoever wrote it.
 * One character class and no required continuation, so matching stays linear.
 */
const COMPACT_TOKEN = /eyJ[A-Za-z0-9_.-]*/g;

/**
 * An error_description in the RFC 6749 §5.2 character set: double quotes become single ones,
 * other characters outside it (backslashes, control characters, non-ASCII) become a space, runs of spaces collapse, anything
 * shaped like a token is removed, and the text is cut to MAX_DESCRIPTION_LENGTH. Linear.
 */
export function safeDescription(text: string): string {
  const cleaned = text
    .slice(0, MAX_DESCRIPTION_LENGTH * 4)
    .replace(COMPACT_TOKEN, '(token removed)')
    .replace(/"/g, "'")
    .replace(OUTSIDE_DESCRIPTION_CHARSET, ' ')
    .replace(/ {2,}/g, ' ')
    .trim();
  return cleaned.length > MAX_DESCRIPTION_LENGTH
    ? `${cleaned.slice(0, MAX_DESCRIPTION_LENGTH - 3)}...`
    : cleaned;
}

/**
 * What went wrong, for metrics and logs: read from here, never from the wording of the
 * description, so rewording a message cannot move a metric.
 */
export type OAuthErrorKind =
  /** The client's request is malformed or names something it may not have. */
  | 'client_request'
  /** Scopes the client asked for are refused by grants or policies. */
  | 'scope_refused'
  /** An audience/resource the client asked for is not one the upstream issued the token for. */
  | 'target_refused'
  /** The upstream answered the token request with its own OAuth error. */
  | 'upstream_error'
  /** The upstream could not be reached, timed out, or its keys/discovery are unavailable. */
  | 'upstream_unavailable'
  /** The upstream answered with something that is not a trustworthy token. */
  | 'upstream_untrusted'
  /** scopegate itself failed (signing, an unexpected exception). */
  | 'internal';

function defaultKind(error: OAuthErrorCode, status: number): OAuthErrorKind {
  if (error === 'temporarily_unavailable') return 'upstream_unavailable';
  if (status === 502) return 'upstream_untrusted';
  if (status >= 500) return 'internal';
  return 'client_request';
}

export interface OAuthErrorBody {
  error: string;
  error_description: string;
  error_uri?: string;
}

export class OAuthError extends Error {
  readonly kind: OAuthErrorKind;
  /** Already in the RFC 6749 §5.2 character set, whatever the caller passed. */
  readonly description: string;
  /** Only ever set from an upstream error, after checking it (see upstream-error.ts). */
  errorUri: string | undefined;
  /** Headers the response carries besides scopegate's own (e.g. the upstream's CORS). */
  headers: Record<string, string> = {};

  constructor(
    readonly error: OAuthErrorCode,
    description: string,
    readonly status: number,
    kind?: OAuthErrorKind,
  ) {
    const safe = safeDescription(description);
    super(`${error}: ${safe}`);
    this.name = 'OAuthError';
    this.description = safe;
    this.kind = kind ?? defaultKind(error, status);
  }

  toJSON(): OAuthErrorBody {
    const body: OAuthErrorBody = { error: this.error, error_description: this.description };
    if (this.errorUri !== undefined) body.error_uri = this.errorUri;
    return body;
  }
}

export const invalidRequest = (description: string) =>
  new OAuthError('invalid_request', description, 400);
export const invalidScope = (description: string) =>
  new OAuthError('invalid_scope', description, 400);
/** Requested scopes that grants or policies refuse (as opposed to a malformed scope). */
export const scopeRefused = (description: string) =>
  new OAuthError('invalid_scope', description, 400, 'scope_refused');
/**
 * A requested audience/resource (RFC 8707) the verified upstream token does not carry: the
 * client asked for a target it cannot have, not an upstream failure (RFC 8707 §2).
 */
export const targetRefused = (description: string) =>
  new OAuthError('invalid_target', description, 400, 'target_refused');
/** The upstream answered with something the gateway cannot turn into a trustworthy token. */
export const badUpstream = (description: string) =>
  new OAuthError('server_error', description, 502, 'upstream_untrusted');
export const internalError = (description: string) =>
  new OAuthError('server_error', description, 500, 'internal');
export const unavailable = (description: string, status = 503) =>
  new OAuthError('temporarily_unavailable', description, status, 'upstream_unavailable');

/**
 * 401 invalid_client. When the client tried HTTP Basic, RFC 6749 §5.2 requires a
 * `WWW-Authenticate` challenge for that scheme.
 */
export class ClientAuthenticationFailed extends OAuthError {
  constructor(
    readonly basicChallenge: boolean,
    description = 'client authentication failed',
  ) {
    super('invalid_client', description, 401);
  }
}

/** Writes a JSON body with the headers every gateway-made response carries. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  sendSerializedJson(res, status, JSON.stringify(body), headers);
}

/** sendJson for a body already serialised (and checked) by the caller. */
export function sendSerializedJson(
  res: ServerResponse,
  status: number,
  payload: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
    ...headers,
  });
  res.end(payload);
}

export function sendOAuthError(res: ServerResponse, error: OAuthError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, error.status, error.toJSON(), {
    ...error.headers,
    'cache-control': 'no-store',
    pragma: 'no-cache',
    ...(error instanceof ClientAuthenticationFailed && error.basicChallenge
      ? { 'www-authenticate': 'Basic realm="token"' }
      : {}),
  });
}
