/**
 * What one token request did, for the access log line and the token request counter. The
 * outcome comes from the error's kind, never from its wording.
 */

import type { OAuthError, OAuthErrorKind } from '../http/oauth-error.js';
import type { Logger } from '../log.js';
import type { Metrics, TokenOutcome } from '../metrics.js';

export interface AccessRecord {
  outcome: TokenOutcome;
  status: number;
  grantType?: string;
  clientId?: string;
  requested?: number;
  issued?: number;
  upstreamStatus?: number;
  reason?: string;
}

const OUTCOME_OF_KIND: Record<OAuthErrorKind, TokenOutcome> = {
  client_request: 'invalid_request',
  scope_refused: 'rejected',
  target_refused: 'invalid_target',
  upstream_error: 'upstream_error',
  upstream_unavailable: 'upstream_unavailable',
  upstream_untrusted: 'verify_failed',
  internal: 'sign_failed',
};

export function outcomeOf(error: OAuthError): TokenOutcome {
  return OUTCOME_OF_KIND[error.kind];
}

export function recordAccess(
  record: AccessRecord,
  started: bigint,
  requestId: string,
  metrics: Metrics,
  logger: Logger,
): void {
  metrics.countToken(record.outcome, record.grantType, record.clientId);
  logger.info(
    {
      requestId,
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
