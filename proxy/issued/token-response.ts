/**
 * Step "answer": the response the client gets (RFC 6749 §5.1). Built from known members only:
 * `access_token`, `token_type`, `expires_in` and `scope` are scopegate's; `refresh_token` and
 * `id_token` come from the upstream when they are strings; other upstream members only when
 * tokens.response_members lists them. Nothing else the upstream said reaches the client.
 *
 * `token_type` says what scopegate's token is, whatever the upstream called its own: `DPoP` when
 * it is bound to a DPoP key (RFC 9449 §5), else `Bearer`. The upstream's is still checked: a
 * malformed one is a broken answer.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { badUpstream } from '../http/oauth-error.js';
import type { IssuedToken } from './access-token.js';
import { tokenTypeOf } from './confirmation.js';
import { safeSuccessHeaders } from './upstream-headers.js';

export const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' };

/** RFC 6749 §7.1 token types are short names such as Bearer, DPoP or N_A. */
const TOKEN_TYPE = /^[A-Za-z0-9_.-]{1,32}$/;

/**
 * Upstream members that travel beside the new access token. The OIDC facade hooks in here to
 * replace them (a re-signed id_token, a wrapped refresh_token): whatever this returns is what
 * the client gets of them.
 */
export function carriedUpstreamMembers(
  upstreamBody: Readonly<Record<string, unknown>>,
  allowlist: readonly string[],
): Record<string, unknown> {
  const carried: Record<string, unknown> = {};
  for (const name of ['refresh_token', 'id_token'] as const) {
    const value = upstreamBody[name];
    if (typeof value === 'string' && value !== '') carried[name] = value;
  }
  for (const name of allowlist) {
    if (Object.hasOwn(upstreamBody, name)) carried[name] = upstreamBody[name];
  }
  return carried;
}

/**
 * The carried members with those other steps own put in: a re-signed id_token, a wrapped
 * refresh_token (undefined removes the member).
 */
export function withReplacedMembers(
  carried: Readonly<Record<string, unknown>>,
  replaced: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const members: Record<string, unknown> = { ...carried };
  for (const [name, value] of Object.entries(replaced)) {
    if (value === undefined) delete members[name];
    else members[name] = value;
  }
  return members;
}

function checkUpstreamTokenType(upstreamBody: Readonly<Record<string, unknown>>): void {
  const given = upstreamBody.token_type;
  if (given === undefined) return;
  if (typeof given !== 'string' || !TOKEN_TYPE.test(given)) {
    throw badUpstream('the upstream token response has an invalid token_type');
  }
}

export interface TokenAnswer {
  body: Record<string, unknown>;
  /** The body as sent: serialised once, for the leak check and the response alike. */
  payload: string;
  headers: Record<string, string>;
}

/**
 * The client's answer. Last line of defence: if the upstream's access token appears anywhere in
 * the serialised body (an allowlisted member that echoes it, say), the request fails closed.
 */
export function tokenAnswer(
  upstreamBody: Readonly<Record<string, unknown>>,
  upstreamHeaders: IncomingHttpHeaders,
  issued: IssuedToken,
  scopes: readonly string[],
  carried: Record<string, unknown>,
  /** Headers of scopegate's own for this answer (a DPoP-Nonce). */
  ownHeaders: Readonly<Record<string, string>> = {},
): TokenAnswer {
  checkUpstreamTokenType(upstreamBody);
  const body: Record<string, unknown> = {
    access_token: issued.token,
    token_type: tokenTypeOf(issued.claims),
    expires_in: issued.expiresIn,
    ...(scopes.length > 0 ? { scope: scopes.join(' ') } : {}),
    ...carried,
  };
  const payload = JSON.stringify(body);
  const upstreamToken = upstreamBody.access_token;
  if (typeof upstreamToken === 'string' && payload.includes(upstreamToken)) {
    throw badUpstream('the upstream token response would reach the client');
  }
  return {
    body,
    payload,
    headers: { ...safeSuccessHeaders(upstreamHeaders), ...ownHeaders, ...NO_STORE },
  };
}
