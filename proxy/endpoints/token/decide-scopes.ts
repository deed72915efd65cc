/**
 * Step "decide": who the verified upstream token is for, and which of the scopes it grants the
 * client gets (requested ∩ granted ∩ policies). Refusals are counted and, in `reject` mode (or
 * when nothing is left), end the request with `invalid_scope`.
 */
import type { JWTPayload } from 'jose';
import { scopeRefused } from '../../http/oauth-error.js';
import type { Metrics } from '../../observability/metrics.js';
import type { Runtime } from '../../runtime/runtime.js';
import type { Decision } from '../../scope/decider.js';
import {
  tokenAudiences,
  tokenClientId,
  tokenGrantType,
  tokenScopes,
} from '../../upstream/identity.js';
import type { TokenRequest } from './token-request.js';

/** Who and what the verified upstream token is for: policies read this, not the request. */
export interface TokenIdentity {
  clientId: string | undefined;
  grantType: string;
  audiences: string[];
}

export interface ScopeOutcome {
  decision: Decision;
  /** Whether the issued token carries less than the upstream granted. */
  narrowed: boolean;
}

export function identify(
  claims: JWTPayload,
  request: TokenRequest,
  clientIdClaims: readonly string[],
): TokenIdentity {
  return {
    clientId: tokenClientId(claims, clientIdClaims),
    grantType: tokenGrantType(claims, request.grantType),
    audiences: tokenAudiences(claims),
  };
}

function refusalError(decision: Decision) {
  // Name only what the client asked for and was refused, never what else it holds.
  const names = decision.refused.map((verdict) => verdict.scope).join(' ');
  return scopeRefused(`the requested scope is not permitted: ${names}`);
}

export function decideScopes(
  request: TokenRequest,
  claims: JWTPayload,
  identity: TokenIdentity,
  runtime: Runtime,
  metrics: Metrics,
): ScopeOutcome {
  const granted = tokenScopes(claims);
  const decision = runtime.decider.decide({
    requested: request.requestedScopes,
    granted,
    clientId: identity.clientId,
    grantType: identity.grantType,
    audience: identity.audiences,
    claims,
  });
  // Refused (requested) and withheld (nothing requested) scopes both count under their reason.
  for (const verdict of [...decision.refused, ...decision.withheld]) {
    metrics.scopesRemoved.inc({ reason: verdict.reason ?? 'policy' });
  }
  const mustRefuse =
    decision.refused.length > 0 &&
    (runtime.config.tokens.on_unauthorized_scope === 'reject' || decision.issued.length === 0);
  if (mustRefuse) throw refusalError(decision);
  const counted = new Set([
    ...decision.issued,
    ...decision.withheld.map((verdict) => verdict.scope),
  ]);
  const notRequested = granted.filter((scope) => !counted.has(scope)).length;
  if (notRequested > 0) metrics.scopesRemoved.inc({ reason: 'not_requested' }, notRequested);
  const narrowed = decision.refused.length > 0 || decision.withheld.length > 0 || notRequested > 0;
  return { decision, narrowed };
}
