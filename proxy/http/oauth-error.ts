/**
 * The one OAuth error type and its one serializer (RFC 6749 §5.2). Every failure the gateway
 * produces itself leaves through here, so clients always get `{error, error_description}` JSON.
 */
import type { ServerResponse } from 'node:http';

export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_scope'
  | 'invalid_client'
  | 'unsupported_grant_type'
  | 'server_error'
  | 'temporarily_unavailable';

export class OAuthError extends Error {
  constructor(
    readonly error: OAuthErrorCode,
    readonly description: string,
    readonly status: number,
  ) {
    super(`${error}: ${description}`);
    this.name = 'OAuthError';
  }

  toJSON(): { error: string; error_description: string } {
    return { error: this.error, error_description: this.description };
  }
}

export const invalidRequest = (description: string) =>
  new OAuthError('invalid_request', description, 400);
export const invalidScope = (description: string) =>
  new OAuthError('invalid_scope', description, 400);
/** The upstream answered with something the gateway cannot turn into a trustworthy token. */
export const badUpstream = (description: string) =>
  new OAuthError('server_error', description, 502);
export const internalError = (description: string) =>
  new OAuthError('server_error', description, 500);
export const unavailable = (description: string, status = 503) =>
  new OAuthError('temporarily_unavailable', description, status);

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
