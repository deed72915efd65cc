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
  | 'server_error'
  | 'temporarily_unavailable';

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

export class OAuthError extends Error {
  readonly kind: OAuthErrorKind;

  constructor(
    readonly error: OAuthErrorCode,
    readonly description: string,
    readonly status: number,
    kind?: OAuthErrorKind,
  ) {
    super(`${error}: ${description}`);
    this.name = 'OAuthError';
    this.kind = kind ?? defaultKind(error, status);
  }

  toJSON(): { error: string; error_description: string } {
    return { error: this.error, error_description: this.description };
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

/** Writes a JSON body with the headers every gateway-made response carries. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const payload = JSON.stringify(body);
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
    'cache-control': 'no-store',
    pragma: 'no-cache',
  });
}
