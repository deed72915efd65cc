/**
 * Who pushes an authorization request (RFC 9126 §2.1: authenticated as at the token endpoint).
 *
 * Until scopegate verifies client authentication itself (private_key_jwt, mutual TLS), this step
 * only identifies the client the request names (body client_id, Basic auth, an assertion's
 * subject; two different names are refused): a request pushed in a client's name binds nothing
 * the client did not also prove at the token endpoint, where the code is redeemed with the
 * client's authentication and the PKCE verifier, but the push itself is not yet authenticated.
 */
import type { IncomingMessage } from 'node:http';
import type { TokenRequestBody } from '../../http/body.js';
import { OAuthError } from '../../http/oauth-error.js';
import { namedClient } from '../token/token-request.js';

export function pushingClient(req: IncomingMessage, body: TokenRequestBody): string {
  const clientId = namedClient(body.params, req.headers.authorization);
  if (clientId === undefined) {
    throw new OAuthError('invalid_client', 'the pushed request names no client', 401);
  }
  return clientId;
}
