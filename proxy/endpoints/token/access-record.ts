/**
 * What one token request did, for the access log line and the token request counter. The
 * outcome comes from the error's kind, never from its wording.
 */
import type { ServerResponse } from 'node:http';
import type { OAuthError, OAuthErrorKind } from '../../http/oauth-error.js';
import { addTokenFields, type TokenAccessFields } from '../../observability/access-log.js';
import type { Logger } from '../../observability/log.js';
import { clientLabel, type Metrics, type TokenOutcome } from '../../observability/metrics.js';

export interface AccessRecord {
  outcome: TokenOutcome;
  status: number;
  grantType?: string;
  /** The client the verified upstream token names. */
  clientId?: string | undefined;
  /** The client the request names: for the log line only. */
  clientIdHint?: string | undefined;
  requested?: number;
  issued?: number;
  upstreamStatus?: number;
  reason?: string;
  /** Token exchange only: what the subject was, and whether an actor or a retarget was involved. */
  exchange?: { subject: 'scopegate' | 'upstream'; actor: boolean; retargeted: boolean };
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
  /** Client ids the configuration names: the only ones a metric label shows. */
  labelledClients: ReadonlySet<string>,
  /** The response: its access line (access-log.ts) carries these fields when the gateway opened one. */
  res?: ServerResponse,
): void {
  metrics.countToken(
    record.outcome,
    record.grantType,
    clientLabel(record.clientId, labelledClients),
  );
  const fields: TokenAccessFields = {
    status: record.status,
    clientId: record.clientId,
    clientIdHint: record.clientIdHint,
    grantType: record.grantType,
    requestedScopes: record.requested,
    issuedScopes: record.issued,
    outcome: record.outcome,
    upstreamStatus: record.upstreamStatus,
    reason: record.reason,
    exchange: record.exchange,
  };
  // Written with the request's access line, when the response has closed (one line).
  if (res !== undefined && addTokenFields(res, fields)) return;
  logger.info(
    {
      requestId,
      route: 'token',
      durationMs: Number(process.hrtime.bigint() - started) / 1e6,
      ...fields,
    },
    'token request',
  );
}
