/**
 * The token endpoint as a sequence of small steps: read the request, forward it, pass upstream
 * errors through, verify the upstream token, decide the scopes, sign scopegate's token, answer.
 * Any failure after the upstream answered ends in an OAuth error: the upstream's token never
 * reaches the client.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JWTPayload } from 'jose';
import { endToEndHeaders } from '../http/headers.js';
import {
  badUpstream,
  internalError,
  invalidScope,
  OAuthError,
  sendJson,
  sendOAuthError,
  unavailable,
} from '../http/oauth-error.js';
import type { Logger } from '../log.js';
import type { Metrics, TokenOutcome } from '../metrics.js';
import type { Runtime } from '../runtime.js';
import type { Decision } from '../scope/decider.js';
import type { UpstreamResponse } from '../upstream/http-client.js';
import { forwardTokenRequest } from './forward-upstream.js';
import { tokenAudiences, tokenClientId, tokenGrantType, tokenScopes } from './identity.js';
import { issueToken } from './issue-token.js';
import { scopeFormatFor } from './scope-format.js';
import { readTokenRequest, type TokenRequest } from './token-request.js';
import { UpstreamTokenRejected, verifyUpstreamToken } from './verify-upstream.js';

export interface TokenEndpointContext {
  runtime: Runtime;
  metrics: Metrics;
  logger: Logger;
  requestId: string;
}

/** What the access log line says about one token request. */
interface AccessRecord {
  outcome: TokenOutcome;
  status: number;
  grantType?: string;
  clientId?: string;
  requested?: number;
  issued?: number;
  upstreamStatus?: number;
  reason?: string;
}

const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' };

/**
 * Only the upstream's errors pass through. Any other non-200 answer could carry or lead to the
 * upstream's own token: a 201 with a token body, or a 307/308 that makes the client re-POST its
 * credentials to the upstream itself. Those fail closed.
 */
function assertPassableError(upstream: UpstreamResponse): void {
  if (upstream.status < 400 || upstream.status > 599) {
    throw badUpstream(`the upstream token endpoint answered ${upstream.status}`);
  }
  let body: unknown;
  try {
    body = JSON.parse(upstream.body.toString('utf8'));
  } catch {
    return;
  }
  if (typeof body === 'object' && body !== null && 'access_token' in body) {
    throw badUpstream('the upstream error response carries an access token');
  }
}

function passThrough(res: ServerResponse, upstream: UpstreamResponse): void {
  const headers = endToEndHeaders(upstream.headers, ['content-length']);
  headers['content-length'] = String(upstream.body.length);
  res.writeHead(upstream.status, headers);
  res.end(upstream.body);
}

function parseTokenResponse(upstream: UpstreamResponse): Record<string, unknown> {
  let body: unknown;
  try {
    body = JSON.parse(upstream.body.toString('utf8'));
  } catch {
    throw badUpstream('the upstream token response is not JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badUpstream('the upstream token response is not a JSON object');
  }
  if (typeof (body as { access_token?: unknown }).access_token !== 'string') {
    throw badUpstream('the upstream token response has no access_token');
  }
  return body as Record<string, unknown>;
}

function refusalError(decision: Decision): OAuthError {
  // Name only what the client asked for and was refused, never what else it holds.
  const names = decision.refused.map((verdict) => verdict.scope).join(' ');
  return invalidScope(`the requested scope is not permitted: ${names}`);
}

async function reissue(
  request: TokenRequest,
  upstream: UpstreamResponse,
  context: TokenEndpointContext,
  record: AccessRecord,
): Promise<{ body: Record<string, unknown>; outcome: TokenOutcome }> {
  const { runtime, metrics } = context;
  const { config } = runtime;
  const response = parseTokenResponse(upstream);
  const timer = metrics.reissueDuration.startTimer();
  let claims: JWTPayload;
  try {
    claims = await verifyUpstreamToken(response.access_token, {
      keys: runtime.upstreamKeys,
      issuer: await runtime.discovery.issuer(),
      algorithms: config.upstream.algorithms,
      clockToleranceSec: Math.ceil(config.tokens.clock_tolerance / 1000),
      audiences: request.audiences,
    });
  } catch (error) {
    timer();
    if (error instanceof OAuthError) throw error;
    // Discovery (the upstream issuer) could not be fetched: transient, like unavailable keys.
    throw unavailable('the upstream issuer or keys could not be resolved');
  }
  const clientId = tokenClientId(claims, request.clientIdHint);
  const grantType = tokenGrantType(claims, request.grantType);
  record.clientId = clientId;
  record.grantType = grantType;
  const granted = tokenScopes(claims);
  const audiences = tokenAudiences(claims);
  const decision = runtime.decider.decide({
    requested: request.requestedScopes,
    granted,
    clientId,
    grantType,
    audience: audiences,
    claims,
  });
  // Refused (requested) and withheld (nothing requested) scopes both count under their reason.
  for (const verdict of [...decision.refused, ...decision.withheld]) {
    metrics.scopesRemoved.inc({ reason: verdict.reason ?? 'policy' });
  }
  const mustRefuse =
    decision.refused.length > 0 &&
    (config.tokens.on_unauthorized_scope === 'reject' || decision.issued.length === 0);
  if (mustRefuse) {
    timer();
    throw refusalError(decision);
  }
  const counted = new Set([
    ...decision.issued,
    ...decision.withheld.map((verdict) => verdict.scope),
  ]);
  const notRequested = granted.filter((scope) => !counted.has(scope)).length;
  if (notRequested > 0) metrics.scopesRemoved.inc({ reason: 'not_requested' }, notRequested);
  let issued: Awaited<ReturnType<typeof issueToken>>;
  try {
    issued = await issueToken({
      upstreamClaims: claims,
      issuer: config.issuer,
      clientId,
      scopes: decision.issued,
      scopeFormat: scopeFormatFor(config, clientId, audiences),
      maxLifetimeSec: Math.floor(config.tokens.max_lifetime / 1000),
      nowSec: Math.floor(Date.now() / 1000),
      key: runtime.signingKeys.active,
    });
  } catch (error) {
    timer();
    context.logger.error({ err: error, requestId: context.requestId }, 'signing failed');
    throw internalError('the token could not be signed');
  }
  timer();
  record.issued = decision.issued.length;
  const body: Record<string, unknown> = {
    ...response,
    access_token: issued.token,
    expires_in: issued.expiresIn,
  };
  if (decision.issued.length > 0) body.scope = decision.issued.join(' ');
  else delete body.scope;
  const narrowed = decision.refused.length > 0 || decision.withheld.length > 0 || notRequested > 0;
  return { body, outcome: narrowed ? 'narrowed' : 'issued' };
}

function outcomeOf(error: OAuthError): TokenOutcome {
  if (error instanceof UpstreamTokenRejected) return 'verify_failed';
  if (error.error === 'invalid_scope' && error.description.startsWith('the requested scope')) {
    return 'rejected';
  }
  if (error.error === 'temporarily_unavailable') return 'upstream_unavailable';
  if (error.status === 502) return 'verify_failed';
  if (error.status >= 500) return 'sign_failed';
  return 'invalid_request';
}

export async function handleTokenRequest(
  req: IncomingMessage,
  res: ServerResponse,
  context: TokenEndpointContext,
): Promise<void> {
  const started = process.hrtime.bigint();
  const { runtime, metrics } = context;
  const record: AccessRecord = { outcome: 'invalid_request', status: 400 };
  try {
    const request = await readTokenRequest(req, runtime.config.server.body_limit);
    if (request.grantType !== undefined) record.grantType = request.grantType;
    if (request.clientIdHint !== undefined) record.clientId = request.clientIdHint;
    record.requested = request.requestedScopes?.length ?? 0;
    const upstream = await forwardTokenRequest(req, request, runtime, context.requestId, metrics);
    record.upstreamStatus = upstream.status;
    if (upstream.status !== 200) {
      assertPassableError(upstream);
      passThrough(res, upstream);
      record.outcome = 'upstream_error';
      record.status = upstream.status;
      return;
    }
    const { body, outcome } = await reissue(request, upstream, context, record);
    sendJson(res, 200, body, NO_STORE);
    record.outcome = outcome;
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
    sendOAuthError(res, error);
  } finally {
    metrics.countToken(record.outcome, record.grantType, record.clientId);
    context.logger.info(
      {
        requestId: context.requestId,
        route: 'token',
        clientId: record.clientId,
        grantType: record.grantType,
        requestedScopes: record.requested,
        issuedScopes: record.issued,
        outcome: record.outcome,
        status: record.status,
        upstreamStatus: record.upstreamStatus,
        reason: record.reason,
        latencyMs: Number(process.hrtime.bigint() - started) / 1e6,
      },
      'token request',
    );
  }
}
