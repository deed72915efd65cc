/**
 * The token endpoint as a short list of named steps, each in its own file:
 *
 *   read request → authenticate client → sender binding → forward → check upstream answer →
 *   verify → decide → issue → answer
 *
 * Token exchange (RFC 8693), when enabled, branches off right after reading the request: scopegate
 * answers it itself (exchange/).
 *
 * Any failure after the upstream answered ends in an OAuth error: the upstream's token never
 * reaches the client.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  internalError,
  OAuthError,
  sendOAuthError,
  sendSerializedJson,
} from '../../http/oauth-error.js';
import type { IssuedToken } from '../../issued/access-token.js';
import {
  carriedUpstreamMembers,
  tokenAnswer,
  withReplacedMembers,
} from '../../issued/token-response.js';
import { inSpan, inSpanSync } from '../../observability/tracing.js';
import { UpstreamFailure } from '../../upstream/http-client.js';
import { UpstreamTokenRejected } from '../../upstream/verify-upstream.js';
import { dpopNonceHeader } from '../dpop-check.js';
import { verifyUpstreamAccessToken } from '../upstream-calls/upstream-access-token.js';
import { type AccessRecord, outcomeOf, recordAccess } from './access-record.js';
import { forwardOrReuse } from './cached-forward.js';
import { authenticateTokenClient, requireAuthenticatedClient } from './client-auth-step.js';
import { decideScopes, identify } from './decide-scopes.js';
import { handleTokenExchange, isTokenExchange } from './exchange/exchange-grant.js';
import { idTokenMembers } from './id-token-step.js';
import { issue } from './issue-step.js';
import { checkProfileGrant } from './profile-step.js';
import { applyRefreshBinding, openRefreshGrant, refreshTokenMembers } from './refresh-step.js';
import {
  bindingRuleOf,
  checkRefreshBinding,
  confirmationFor,
  readSenderEvidence,
  refreshSenderFor,
} from './sender-binding-step.js';
import type { TokenEndpointContext } from './token-context.js';
import { readTokenRequest, type TokenRequest } from './token-request.js';
import { parseTokenResponse, upstreamErrorAnswer } from './upstream-answer.js';

/**
 * Step "verify": the upstream access token against the upstream's keys and issuer, or, for
 * opaque tokens (upstream.token_format), by introspection.
 */
function verify(accessToken: unknown, request: TokenRequest, context: TokenEndpointContext) {
  return verifyUpstreamAccessToken(
    accessToken,
    request.audiences,
    context.runtime,
    context.metrics,
  );
}

export async function handleTokenRequest(
  req: IncomingMessage,
  res: ServerResponse,
  context: TokenEndpointContext,
): Promise<void> {
  const started = process.hrtime.bigint();
  const { runtime, metrics } = context;
  const record: AccessRecord = { outcome: 'invalid_request', status: 400 };
  /** Releases the upstream token cache's key when this request's answer was not kept. */
  let settleCache: (() => void) | undefined;
  try {
    // Each step is a child span of the request's when tracing is on (observability/tracing.ts).
    const request = await inSpan('token.read', () =>
      readTokenRequest(req, runtime.config.server.body_limit),
    );
    if (request.grantType !== undefined) record.grantType = request.grantType;
    record.clientIdHint = request.clientIdHint;
    record.requested = request.requestedScopes?.length ?? 0;
    await inSpan('token.client_auth', () => authenticateTokenClient(req, request, context));
    if (isTokenExchange(request, runtime.config)) {
      await handleTokenExchange(req, res, request, context, record);
      return;
    }
    // Before the refresh token is opened: the proof is checked (and its jti used) for every grant.
    const evidence = await inSpan('token.dpop', () => readSenderEvidence(req, request, runtime));
    await checkProfileGrant(
      request,
      runtime,
      evidence.proof,
      bindingRuleOf(runtime.config, request.clientIdHint, request.audiences).kind === 'certificate',
    );
    const refresh = await openRefreshGrant(request, runtime.config);
    checkRefreshBinding(refresh, evidence);

    const exchange = await inSpan('token.forward', () =>
      forwardOrReuse(req, request, runtime, context.requestId, metrics),
    );
    settleCache = exchange.settled;
    const { upstream } = exchange;
    record.upstreamStatus = upstream.status;
    if (upstream.status !== 200) throw upstreamErrorAnswer(upstream, refresh?.upstreamToken);
    const upstreamBody = parseTokenResponse(upstream);

    const timer = metrics.reissueDuration.startTimer();
    let issued: IssuedToken;
    let scopes: readonly string[];
    let narrowed: boolean;
    let replaced: Record<string, unknown> | undefined;
    try {
      const claims = await inSpan('token.verify', async () => {
        const verified = await verify(upstreamBody.access_token, request, context);
        await exchange.verified(verified);
        return verified;
      });
      const identity = identify(claims, request, runtime.config.tokens.client_id_claims);
      requireAuthenticatedClient(request, identity.clientId);
      record.clientId = identity.clientId;
      record.grantType = identity.grantType;
      applyRefreshBinding(request, refresh, identity.clientId, claims);
      const confirmation = confirmationFor(
        evidence,
        identity.clientId,
        identity.audiences,
        runtime.config,
      );
      const outcome = inSpanSync('token.decide', () =>
        decideScopes(request, claims, identity, runtime, metrics),
      );
      scopes = outcome.decision.issued;
      narrowed = outcome.narrowed;
      issued = await inSpan('token.issue', () =>
        issue(
          claims,
          identity.clientId,
          scopes,
          identity.audiences,
          context,
          upstreamBody.access_token,
          undefined,
          confirmation,
        ),
      );
      const idToken = idTokenMembers(
        upstreamBody,
        claims,
        identity.clientId,
        issued.token,
        scopes,
        runtime,
      );
      const refreshToken = refreshTokenMembers(
        { upstreamBody, accessClaims: claims, requested: request.requestedScopes },
        refresh,
        identity.clientId,
        scopes,
        runtime.config,
        refreshSenderFor(req, request, confirmation),
      );
      // Most answers carry neither: no promise to wait for, nothing to put in.
      replaced =
        idToken === undefined && refreshToken === undefined
          ? undefined
          : { ...(await idToken), ...(await refreshToken) };
    } finally {
      timer();
    }
    record.issued = scopes.length;

    const upstreamMembers = carriedUpstreamMembers(
      upstreamBody,
      runtime.config.tokens.response_members,
    );
    const carried =
      replaced === undefined ? upstreamMembers : withReplacedMembers(upstreamMembers, replaced);
    const answer = tokenAnswer(
      upstreamBody,
      upstream.headers,
      issued,
      scopes,
      carried,
      dpopNonceHeader(runtime.config),
    );
    sendSerializedJson(res, 200, answer.payload, answer.headers);
    record.outcome = narrowed ? 'narrowed' : 'issued';
    record.status = 200;
  } catch (caught) {
    const error =
      caught instanceof OAuthError
        ? caught
        : internalError('the token request could not be served');
    if (!(caught instanceof OAuthError)) {
      context.logger.error({ err: caught, requestId: context.requestId }, 'token endpoint failed');
    }
    record.outcome = outcomeOf(error);
    record.status = error.status;
    record.reason =
      error instanceof UpstreamTokenRejected ? error.reason : error.description.slice(0, 200);
    if (error.cause instanceof UpstreamFailure) record.reason += ` (${error.cause.message})`;
    sendOAuthError(res, error);
  } finally {
    settleCache?.();
    recordAccess(
      record,
      started,
      context.requestId,
      metrics,
      context.logger,
      runtime.labelledClients,
      res,
    );
  }
}
