/**
 * Step "answer": the response the client gets. The upstream's other members are kept;
 * `access_token`, `expires_in` and `scope` are scopegate's (RFC 6749 §5.1, §3.3).
 */
import type { IssuedToken } from './issue-token.js';

export const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' };

export function tokenResponseBody(
  upstreamBody: Record<string, unknown>,
  issued: IssuedToken,
  scopes: readonly string[],
  /** Members other steps own (id_token, refresh_token); undefined removes the member. */
  replaced: Record<string, unknown> = {},
): Record<string, unknown> {
  const body: Record<string, unknown> = {
    ...upstreamBody,
    access_token: issued.token,
    expires_in: issued.expiresIn,
  };
  if (scopes.length > 0) body.scope = scopes.join(' ');
  else delete body.scope;
  for (const [name, value] of Object.entries(replaced)) {
    if (value === undefined) delete body[name];
    else body[name] = value;
  }
  return body;
}
