/**
 * Step "authenticate client", right after the request is read: a client whose rule sets
 * `token_endpoint_auth_method` is authenticated by scopegate (client-auth/authenticate-client.ts)
 * before anything reaches the upstream, which then gets scopegate's credentials for it
 * (client-auth/upstream-credentials.ts). Other clients are the upstream's to authenticate, as
 * received.
 *
 * After the upstream answered, the verified upstream token must name the client that was
 * authenticated (its id at the upstream). It names the identity policies see (design: identity
 * comes from the upstream), so a disagreement is never resolved by picking one: the request ends
 * in 502 server_error. Not invalid_client: the client proved who it is; what disagrees is
 * scopegate's upstream_auth and the upstream, which the client cannot fix.
 */
import type { IncomingMessage } from 'node:http';
import { badUpstream } from '../../http/oauth-error.js';
import { authenticateClient } from './client-auth/authenticate-client.js';
import type { TokenEndpointContext } from './token-context.js';
import type { TokenRequest } from './token-request.js';

export async function authenticateTokenClient(
  req: IncomingMessage,
  request: TokenRequest,
  context: TokenEndpointContext,
): Promise<void> {
  const client = await authenticateClient(req, request.body.params, context.runtime);
  if (client !== undefined) request.client = client;
}

/** Throws unless the upstream token's client is the authenticated one (when there is one). */
export function requireAuthenticatedClient(
  request: TokenRequest,
  upstreamClientId: string | undefined,
): void {
  const client = request.client;
  if (client === undefined) return;
  if (upstreamClientId !== client.upstreamClientId) {
    throw badUpstream("the upstream's token does not name the authenticated client");
  }
}
