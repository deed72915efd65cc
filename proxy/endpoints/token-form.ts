/**
 * The body of an RFC 7009 revocation or RFC 7662 introspection request: form-urlencoded, read
 * within `server.body_limit`, with a `token` parameter. Anything else is `invalid_request`.
 */
import type { IncomingMessage } from 'node:http';
import { bodyKind, parseTokenRequestBody, readBody, type TokenRequestBody } from '../http/body.js';
import { invalidRequest } from '../http/oauth-error.js';

export async function readTokenForm(
  req: IncomingMessage,
  bodyLimit: number,
  /** Which requests, for the error description. */
  what: 'introspection' | 'revocation',
): Promise<{ body: TokenRequestBody; token: string }> {
  if (bodyKind(req.headers['content-type']) !== 'form') {
    throw invalidRequest(`${what} requests must be application/x-www-form-urlencoded`);
  }
  const body = parseTokenRequestBody(await readBody(req, bodyLimit), 'form');
  const token = body.params.get('token');
  if (token === undefined) throw invalidRequest('token is missing');
  return { body, token };
}
