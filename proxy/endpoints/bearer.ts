/**
 * RFC 6750 on the one endpoint scopegate serves as a resource server (userinfo): where a bearer
 * token may come from, and how a refusal is said (a `WWW-Authenticate: Bearer` challenge). A
 * DPoP-bound token comes in the `Authorization: DPoP` scheme only (RFC 9449 §7.1).
 */
import type { IncomingMessage } from 'node:http';
import { bodyKind, parseTokenRequestBody, readBody } from '../http/body.js';
import { OAuthError } from '../http/oauth-error.js';

/** RFC 6750 §2.1 b64token after the scheme (Bearer, or DPoP: RFC 9449 §7.1) and its spaces. */
const AUTHORIZATION = /^(Bearer|DPoP) +([A-Za-z0-9\-._~+/]+=*)$/i;

export interface PresentedToken {
  token: string;
  /** How it was presented: `DPoP` only in the Authorization header's DPoP scheme. */
  scheme: 'Bearer' | 'DPoP';
}

/**
 * 401 (or 403 for insufficient_scope) with the challenge RFC 6750 §3 asks for. Without a code
 * the request carried no credentials at all, and §3.1 says no error is named then. The
 * description is already in the RFC 6749 §5.2 character set (no double quote, no backslash), so
 * it can stand inside the quoted string.
 */
export function bearerError(
  code: 'invalid_token' | 'insufficient_scope' | 'invalid_request' | undefined,
  description: string,
): OAuthError {
  const status = code === 'insufficient_scope' ? 403 : code === 'invalid_request' ? 400 : 401;
  const error = new OAuthError(code ?? 'invalid_request', description, status);
  error.headers['www-authenticate'] =
    code === undefined
      ? 'Bearer'
      : `Bearer error="${code}", error_description="${error.description}"`;
  return error;
}

/**
 * The bearer token of a request: the Authorization header (§2.1) or, on a form POST, the
 * `access_token` parameter (§2.2); never both (§2: one method per request). A token in the query
 * (§2.3) is refused: URLs end up in logs and browser histories.
 */
export async function presentedTokenOf(
  req: IncomingMessage,
  bodyLimit: number,
): Promise<PresentedToken> {
  const header = req.headers.authorization;
  let fromHeader: PresentedToken | undefined;
  if (header !== undefined) {
    const match = AUTHORIZATION.exec(header.trim());
    if (!match) throw bearerError(undefined, 'a Bearer access token is required');
    const scheme = (match[1] as string).toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer';
    fromHeader = { token: match[2] as string, scheme };
  }
  let fromBody: string | undefined;
  if (req.method === 'POST' && bodyKind(req.headers['content-type']) === 'form') {
    const body = parseTokenRequestBody(await readBody(req, bodyLimit), 'form');
    fromBody = body.params.get('access_token');
  } else {
    req.resume();
  }
  if (fromHeader !== undefined && fromBody !== undefined) {
    throw bearerError('invalid_request', 'the access token was sent more than one way');
  }
  if (fromHeader !== undefined) return fromHeader;
  if (fromBody === undefined) throw bearerError(undefined, 'a Bearer access token is required');
  return { token: fromBody, scheme: 'Bearer' };
}

/** Refuses `access_token` in the query string (RFC 6750 §2.3, which scopegate does not offer). */
export function refuseQueryToken(query: string): void {
  if (new URLSearchParams(query).has('access_token')) {
    throw bearerError('invalid_request', 'access tokens are not accepted in the query');
  }
}
