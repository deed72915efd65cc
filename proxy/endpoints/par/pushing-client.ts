/**
 * Who pushes an authorization request: authenticated as at the token endpoint (RFC 9126 §2.1),
 * by scopegate's client authentication (token/client-auth/), and held to the profile's method
 * (private_key_jwt with an assertion for scopegate's issuer, or mutual TLS: token/profile-step.ts). A client the
 * profile does not hold is refused here: its pushes go to the upstream's PAR endpoint.
 */
import type { IncomingMessage } from 'node:http';
import type { TokenRequestBody } from '../../http/body.js';
import { OAuthError } from '../../http/oauth-error.js';
import { profileOf } from '../../issued/client-profile.js';
import type { Runtime } from '../../runtime/runtime.js';
import { authenticateClient } from '../token/client-auth/authenticate-client.js';
import { requireProfileAuthentication } from '../token/profile-step.js';
import { namedClient } from '../token/token-request.js';

export async function pushingClient(
  req: IncomingMessage,
  body: TokenRequestBody,
  runtime: Runtime,
): Promise<string> {
  const named = namedClient(body.params, req.headers.authorization);
  if (named === undefined) {
    throw new OAuthError('invalid_client', 'the pushed request names no client', 401);
  }
  if (profileOf(runtime.config, named) === undefined) {
    throw new OAuthError(
      'unauthorized_client',
      "this endpoint serves clients held to a security profile; others use the upstream's",
      400,
    );
  }
  const client = await authenticateClient(req, body.params, runtime);
  requireProfileAuthentication(client, body.params, runtime.config.issuer);
  return named;
}
