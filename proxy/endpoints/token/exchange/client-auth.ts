/**
 * Who is asking for a token exchange. Clients listed in `token_exchange.clients` authenticate
 * with their secret (HTTP Basic or client_secret_post); a request without credentials is
 * anonymous, which only pure narrowing allows. Wrong credentials are never downgraded to
 * anonymous: they are 401 invalid_client. A client scopegate already authenticated by its own
 * method (clients[].token_endpoint_auth_method, the token endpoint's client authentication step)
 * is that client.
 */
import type { IncomingMessage } from 'node:http';
import type { TokenExchangeConfig } from '../../../../config/schema.js';
import { ClientAuthenticationFailed, invalidRequest } from '../../../http/oauth-error.js';
import { basicCredentials, type TokenRequest } from '../token-request.js';
import { hashSecret, secretMatches } from './secret-hash.js';

/** The authenticated client id, or undefined for an anonymous request. */
export type ExchangeClient = string | undefined;

let decoyHash: Promise<string> | undefined;

/** Unknown clients cost a hash like known ones, so timing does not tell which ids exist. */
function decoy(): Promise<string> {
  decoyHash ??= hashSecret('scopegate decoy secret');
  return decoyHash;
}

export async function authenticateExchangeClient(
  req: IncomingMessage,
  request: TokenRequest,
  config: TokenExchangeConfig,
): Promise<ExchangeClient> {
  if (request.client?.verifiedHere === true) return request.client.clientId;
  const basic = basicCredentials(req.headers.authorization);
  const postedSecret = request.body.params.get('client_secret');
  if (basic && postedSecret !== undefined) {
    throw invalidRequest('use one client authentication method, not two');
  }
  const postedId = request.body.params.get('client_id');
  if (basic && postedId !== undefined && postedId !== basic.clientId) {
    throw invalidRequest('client_id does not match the authenticated client');
  }
  const credentials =
    basic ??
    (postedSecret !== undefined && postedId !== undefined
      ? { clientId: postedId, secret: postedSecret }
      : undefined);
  if (credentials === undefined) {
    if (postedSecret !== undefined) throw invalidRequest('client_secret without client_id');
    if (config.client_auth === 'required') throw new ClientAuthenticationFailed(false);
    return undefined;
  }
  const listed = config.clients.find((client) => client.client_id === credentials.clientId);
  const matches = await secretMatches(credentials.secret, listed?.secret_hash ?? (await decoy()));
  if (!listed || !matches) throw new ClientAuthenticationFailed(basic !== undefined);
  return listed.client_id;
}
