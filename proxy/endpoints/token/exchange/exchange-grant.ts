/**
 * RFC 8693 token exchange, served by scopegate itself: a verified subject token is narrowed (or,
 * for authenticated clients and configured targets, retargeted) into a new scopegate token,
 * without a round trip to the upstream. The new token never carries a scope, audience or
 * lifetime its subject did not: scopes must be covered by the subject's, the audience is the
 * subject's unless a retarget rule allows another, and `exp` is bounded by the subject's.
 *
 * Who gets the token (its `client_id`, RFC 8693 §4.3 and RFC 9068 §2.2: the client that requested
 * it) and whom the scope policies see: the authenticated exchange client when there is one. An
 * unauthenticated exchange is pure narrowing of what the subject already grants, to whoever holds
 * it; it keeps the subject's client, so a policy restricted to clients allows it exactly what it
 * allowed the subject's client, never more.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JWTPayload } from 'jose';
import type { Config } from '../../../../config/schema.js';
import { sendSerializedJson } from '../../../http/oauth-error.js';
import { derivedRevocationRefs } from '../../../issued/revocation-refs.js';
import { tokenAnswer } from '../../../issued/token-response.js';
import { ACCESS_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT } from '../../../issued/token-types.js';
import { tokenAudiences, tokenClientId } from '../../../upstream/identity.js';
import { dpopNonceHeader } from '../../dpop-check.js';
import type { AccessRecord } from '../access-record.js';
import { decideScopes } from '../decide-scopes.js';
import { issue } from '../issue-step.js';
import { exchangeConfirmation } from '../sender-binding-step.js';
import type { TokenEndpointContext } from '../token-context.js';
import type { TokenRequest } from '../token-request.js';
import { delegation } from './actor.js';
import { targetAudience } from './audience.js';
import { authenticateExchangeClient, type ExchangeClient } from './client-auth.js';
import { readExchangeRequest } from './exchange-request.js';
import { verifyPresentedToken } from './presented-token.js';

/** The early branch of the token endpoint: exchanges scopegate serves instead of forwarding. */
export function isTokenExchange(request: TokenRequest, config: Config): boolean {
  return request.grantType === TOKEN_EXCHANGE_GRANT && config.token_exchange.enabled;
}

/** The subject's claims with the new audience and actor: what the issued token is built from. */
function exchangedClaims(
  subject: JWTPayload,
  audiences: readonly string[],
  act: Record<string, unknown> | undefined,
  client: ExchangeClient,
  clientIdClaims: readonly string[],
): JWTPayload {
  const claims: JWTPayload = { ...subject };
  delete claims.aud;
  // Issued to another client: the subject's other names for its client (azp, cid, ...) would
  // contradict the token's client_id.
  if (client !== undefined) for (const name of clientIdClaims) delete claims[name];
  if (audiences.length === 1) claims.aud = audiences[0];
  else if (audiences.length > 1) claims.aud = [...audiences];
  if (act !== undefined) claims.act = act;
  return claims;
}

export async function handleTokenExchange(
  req: IncomingMessage,
  res: ServerResponse,
  request: TokenRequest,
  context: TokenEndpointContext,
  record: AccessRecord,
): Promise<void> {
  const { runtime, metrics } = context;
  const { config } = runtime;
  const parameters = readExchangeRequest(request);
  const client = await authenticateExchangeClient(req, request, config.token_exchange);
  const subject = await verifyPresentedToken(
    parameters.subjectToken,
    parameters.subjectTokenType,
    'subject',
    runtime,
    metrics,
  );
  const actor =
    parameters.actorToken === undefined
      ? undefined
      : await verifyPresentedToken(
          parameters.actorToken,
          parameters.actorTokenType,
          'actor',
          runtime,
          metrics,
        );
  const act = delegation(subject.claims, actor?.claims, client, config.issuer);
  const clientId = client ?? tokenClientId(subject.claims, config.tokens.client_id_claims);
  record.clientId = clientId;
  const target = targetAudience(
    tokenAudiences(subject.claims),
    request.audiences,
    client,
    config.token_exchange.retarget,
  );
  record.exchange = {
    subject: subject.source,
    actor: act !== undefined,
    retargeted: target.retargeted,
  };
  const identity = {
    clientId,
    grantType: TOKEN_EXCHANGE_GRANT,
    audiences: target.audiences,
  };
  // A bound subject stays bound to its key or certificate (sender-binding-step.ts): never a
  // bearer token.
  const confirmation = await exchangeConfirmation(
    req,
    runtime,
    subject.claims,
    clientId,
    target.audiences,
  );
  const timer = metrics.reissueDuration.startTimer();
  try {
    const outcome = decideScopes(request, subject.claims, identity, runtime, metrics);
    const scopes = outcome.decision.issued;
    const claims = exchangedClaims(
      subject.claims,
      target.audiences,
      act,
      client,
      config.tokens.client_id_claims,
    );
    // Revoking the subject (or a token it was exchanged from) revokes this one too.
    const refs = subject.source === 'scopegate' ? derivedRevocationRefs(subject.claims) : undefined;
    const issued = await issue(
      claims,
      clientId,
      scopes,
      target.audiences,
      context,
      undefined,
      refs,
      confirmation,
    );
    // RFC 8693 §2.2.1: the members of a token response, plus the type of what was issued.
    const answer = tokenAnswer(
      {},
      {},
      issued,
      scopes,
      { issued_token_type: ACCESS_TOKEN_TYPE },
      dpopNonceHeader(config),
    );
    sendSerializedJson(res, 200, answer.payload, answer.headers);
    record.issued = scopes.length;
    record.outcome = outcome.narrowed ? 'narrowed' : 'issued';
    record.status = 200;
  } finally {
    timer();
  }
}
