/**
 * The RFC 8693 §2.1 parameters of a token exchange request, read from the already parsed token
 * request (scope, audience and resource are read there, with the same grammar checks).
 */
import { invalidRequest } from '../../../http/oauth-error.js';
import { ACCESS_TOKEN_TYPE } from '../../../issued/token-types.js';
import type { TokenRequest } from '../token-request.js';

export interface ExchangeRequest {
  subjectToken: string | undefined;
  subjectTokenType: string | undefined;
  actorToken: string | undefined;
  actorTokenType: string | undefined;
}

export function readExchangeRequest(request: TokenRequest): ExchangeRequest {
  const params = request.body.params;
  const requested = params.get('requested_token_type');
  if (requested !== undefined && requested !== ACCESS_TOKEN_TYPE) {
    throw invalidRequest(`requested_token_type must be ${ACCESS_TOKEN_TYPE}: no other is issued`);
  }
  const actorToken = params.get('actor_token');
  const actorTokenType = params.get('actor_token_type');
  if (actorToken === undefined && actorTokenType !== undefined) {
    throw invalidRequest('actor_token_type without actor_token');
  }
  return {
    subjectToken: params.get('subject_token'),
    subjectTokenType: params.get('subject_token_type'),
    actorToken,
    actorTokenType,
  };
}
