/**
 * Step "record": the token request counter's outcome comes from the error's kind. Every kind maps
 * to one outcome (table), each error constructor carries the kind its name says, and no
 * rewording of a description moves a metric (property).
 */
import fc from 'fast-check';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { outcomeOf, recordAccess } from '../../proxy/endpoints/token/access-record.js';
import {
  badUpstream,
  internalError,
  invalidRequest,
  invalidScope,
  OAuthError,
  type OAuthErrorCode,
  type OAuthErrorKind,
  scopeRefused,
  targetRefused,
  unavailable,
} from '../../proxy/http/oauth-error.js';
import { Metrics, TOKEN_OUTCOMES, type TokenOutcome } from '../../proxy/observability/metrics.js';

/** A Record over OAuthErrorKind: a kind added without an outcome does not compile. */
const OUTCOME_OF: Record<OAuthErrorKind, TokenOutcome> = {
  client_request: 'invalid_request',
  scope_refused: 'rejected',
  target_refused: 'invalid_target',
  upstream_error: 'upstream_error',
  upstream_unavailable: 'upstream_unavailable',
  upstream_untrusted: 'verify_failed',
  internal: 'sign_failed',
};

const KINDS = Object.keys(OUTCOME_OF) as OAuthErrorKind[];

/** Each constructor the token path uses, with the outcome it must be counted under. */
const CONSTRUCTORS: Array<[string, (description: string) => OAuthError, TokenOutcome]> = [
  ['invalidRequest', invalidRequest, 'invalid_request'],
  ['invalidScope (malformed scope)', invalidScope, 'invalid_request'],
  ['scopeRefused', scopeRefused, 'rejected'],
  ['targetRefused', targetRefused, 'invalid_target'],
  ['badUpstream', badUpstream, 'verify_failed'],
  ['internalError', internalError, 'sign_failed'],
  ['unavailable', unavailable, 'upstream_unavailable'],
  ['unavailable 504', (d) => unavailable(d, 504), 'upstream_unavailable'],
];

describe('token outcome of an OAuth error', () => {
  it.each(KINDS)('kind %s is counted under its outcome', (kind) => {
    const error = new OAuthError('server_error', 'anything', 500, kind);
    expect(outcomeOf(error)).toBe(OUTCOME_OF[kind]);
    expect(TOKEN_OUTCOMES).toContain(OUTCOME_OF[kind]);
  });

  it.each(CONSTRUCTORS)('%s is counted as %s', (_name, make, outcome) => {
    expect(outcomeOf(make('some description'))).toBe(outcome);
  });

  it.each<[OAuthErrorCode, number, TokenOutcome]>([
    ['temporarily_unavailable', 503, 'upstream_unavailable'],
    ['server_error', 502, 'verify_failed'],
    ['server_error', 500, 'sign_failed'],
    ['invalid_client', 401, 'invalid_request'],
    ['invalid_grant', 400, 'invalid_request'],
  ])('without a kind, %s %i is counted as %s', (code, status, outcome) => {
    expect(outcomeOf(new OAuthError(code, 'x', status))).toBe(outcome);
  });

  it('no description moves an error to another outcome', () => {
    // Descriptions that once decided the outcome by their start are included on purpose.
    const description = fc.oneof(
      fc.string(),
      fc.constantFrom(
        'the requested scope is not permitted: admin',
        'the requested scope',
        'upstream unreachable',
        'signing failed',
        '',
      ),
      fc.string().map((tail) => `the requested scope ${tail}`),
    );
    fc.assert(
      fc.property(description, fc.integer({ min: 0, max: CONSTRUCTORS.length - 1 }), (d, i) => {
        const [, make, outcome] = CONSTRUCTORS[i] as (typeof CONSTRUCTORS)[number];
        expect(outcomeOf(make(d))).toBe(outcome);
      }),
    );
  });

  it('counts the outcome and logs it, without the description deciding either', async () => {
    const metrics = new Metrics();
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino(
      { level: 'info' },
      { write: (line: string) => lines.push(JSON.parse(line)) },
    );
    const reworded = invalidRequest('the requested scope is not permitted: looks like a refusal');
    recordAccess(
      { outcome: outcomeOf(reworded), status: 400, grantType: 'client_credentials' },
      process.hrtime.bigint(),
      'req-1',
      metrics,
      logger,
      new Set(),
    );
    const text = await metrics.registry.metrics();
    expect(text).toContain(
      'scopegate_token_requests_total{grant_type="client_credentials",outcome="invalid_request"} 1',
    );
    expect(text).not.toMatch(/outcome="rejected"\} [1-9]/);
    expect(lines[0]).toMatchObject({ requestId: 'req-1', outcome: 'invalid_request', status: 400 });
  });
});
