/**
 * Quota protection for the upstream token endpoint (upstream.quota, clients[].upstream_quota).
 * Checked where scopegate is about to call the upstream, after the upstream token cache: a cached
 * answer, or one shared with an identical call in flight, costs nothing.
 *
 * A call takes, in order: no pause in force (an upstream 429/503 with Retry-After), a concurrency
 * slot of its client rule and of the whole upstream, the breaker's leave (upstream.quota.breaker),
 * a rate point of its client rule, then one of the whole upstream. The first that is refused
 * answers the client at once with Retry-After (429; 503 for an upstream 503 or an open breaker);
 * nothing waits in a queue. The client's point is taken before the total's, so a client over its
 * own limit never spends the others' share.
 *
 * With several workers, concurrency slots are held by the primary process (SharedSlots) and the
 * rate counters too (quota-store.ts): the limits are the pod's, whichever worker a call is on.
 */
import { createHash } from 'node:crypto';
import { RateLimiterRes } from 'rate-limiter-flexible';
import type { Config, UpstreamQuotaConfig } from '../../../config/schema.js';
import { OAuthError } from '../../http/oauth-error.js';
import type { Logger } from '../../observability/log.js';
import {
  type Metrics,
  QUOTA_REFUSAL_REASONS,
  type QuotaRefusalReason,
} from '../../observability/metrics.js';
import { CircuitBreaker } from './circuit-breaker.js';
import { type PauseLimiter, QuotaStore, type RateLimiter } from './quota-store.js';
import { retryAfterHeader, retryAfterMs } from './retry-after.js';
import type { SharedSlots } from './shared-slots.js';

/**
 * Held for one upstream call; release it when the answer (or the failure) is in, saying whether
 * the upstream failed (unreachable, timed out, 5xx) for the breaker; undefined: no call was made.
 */
export interface QuotaPermit {
  release(upstreamFailed?: boolean): void;
}

interface QuotaScope {
  /** Metric label: `upstream` or `clients[N]`. */
  label: string;
  /** Counter key: the rule's index and client id, so replicas agree only on the same rule. */
  key: string;
  rate: RateLimiter | undefined;
  concurrency: number | undefined;
  inFlight: number;
}

/** Seconds a concurrency refusal asks the client to wait: calls in flight end within a timeout. */
const CONCURRENCY_RETRY_MS = 1000;

const ALL = 'all';

/** The quota settings a reload compares: a new TokenQuota only when they changed. */
export function quotaIdentity(config: Config): string {
  return JSON.stringify([
    config.upstream.quota ?? null,
    config.clients.map((rule) => [rule.client_id, rule.audience, rule.upstream_quota ?? null]),
  ]);
}

/** A client id as a pause key: bounded in length whatever the client sent. */
function clientKey(clientId: string): string {
  return createHash('sha256').update(clientId).digest('base64url').slice(0, 22);
}

export class QuotaRefused extends OAuthError {
  constructor(
    readonly reason: QuotaRefusalReason,
    description: string,
    status: 429 | 503,
    waitMs: number,
  ) {
    // temporarily_unavailable (RFC 6749 §4.1.2.1), not slow_down: that one is RFC 8628's word to a
    // polling device to lengthen its interval, meaningless to other grants.
    super('temporarily_unavailable', description, status, 'upstream_unavailable');
    this.headers['retry-after'] = retryAfterHeader(waitMs);
  }
}

export class TokenQuota {
  readonly identity: string;
  private readonly store: QuotaStore;
  private readonly total: QuotaScope;
  /** By the index of the rule in clients[]. */
  private readonly clients = new Map<number, QuotaScope>();
  private readonly pauses: PauseLimiter;
  private readonly settings: UpstreamQuotaConfig | undefined;
  private readonly breaker: CircuitBreaker | undefined;

  constructor(
    config: Config,
    private readonly metrics?: Metrics,
    logger?: Logger,
    /** The primary's slots, when this process is one of several workers. */
    private readonly slots?: SharedSlots,
  ) {
    this.identity = quotaIdentity(config);
    this.settings = config.upstream.quota;
    this.store = new QuotaStore(this.settings, logger, slots !== undefined);
    this.pauses = this.store.pauseLimiter();
    const breaker = this.settings?.breaker;
    this.breaker =
      breaker === undefined ? undefined : new CircuitBreaker(breaker.failures, breaker.open_for);
    this.total = this.scope('upstream', 'upstream', this.settings ?? {});
    config.clients.forEach((rule, index) => {
      if (rule.upstream_quota === undefined) return;
      const label = `clients[${index}]`;
      this.clients.set(
        index,
        this.scope(label, `c${index}:${rule.client_id}`, rule.upstream_quota),
      );
    });
    for (const scope of this.clients.values()) {
      for (const reason of QUOTA_REFUSAL_REASONS) {
        metrics?.upstreamQuotaRefusals.inc({ scope: scope.label, reason }, 0);
      }
    }
  }

  private scope(
    label: string,
    key: string,
    limits: Pick<UpstreamQuotaConfig, 'rate' | 'burst' | 'concurrency'>,
  ): QuotaScope {
    return {
      label,
      key,
      rate:
        limits.rate === undefined
          ? undefined
          : this.store.rateLimiter(`rate:${key}`, limits.rate, limits.burst ?? 0),
      concurrency: limits.concurrency,
      inFlight: 0,
    };
  }

  /**
   * A permit for one upstream token call of the client `clientId` names (the index of its
   * `clients[]` rule: `ruleIndex`), or a QuotaRefused to answer the client with.
   */
  async acquire(ruleIndex: number | undefined, clientId: string | undefined): Promise<QuotaPermit> {
    const client = ruleIndex === undefined ? undefined : this.clients.get(ruleIndex);
    await this.checkPauses(client ?? this.total, clientId);
    const scopes = client === undefined ? [this.total] : [client, this.total];
    for (const scope of scopes) {
      if (scope.concurrency !== undefined && scope.inFlight >= scope.concurrency) {
        throw this.refuse(scope, 'concurrency', CONCURRENCY_RETRY_MS);
      }
    }
    const claims = this.slots === undefined ? [] : this.claimsOf(scopes);
    if (claims.length > 0 && !(await this.slots?.acquire(claims))) {
      // Which scope was full is the primary's to know: the narrower one is named.
      throw this.refuse(scopes[0] ?? this.total, 'concurrency', CONCURRENCY_RETRY_MS);
    }
    const verdict = this.breaker?.admit() ?? { allowed: true, probe: false };
    if (!verdict.allowed) {
      if (claims.length > 0) this.slots?.release(claims.map((claim) => claim.key));
      this.metrics?.upstreamQuotaRefusals.inc({ scope: 'upstream', reason: 'breaker' });
      throw new QuotaRefused(
        'breaker',
        'the upstream token endpoint is failing; scopegate holds token calls back for a while',
        503,
        verdict.waitMs,
      );
    }
    // Taken before the (asynchronous) rate check: concurrent requests see each other's slots.
    for (const scope of scopes) scope.inFlight += 1;
    let released = false;
    const permit: QuotaPermit = {
      release: (upstreamFailed) => {
        if (released) return;
        released = true;
        for (const scope of scopes) scope.inFlight -= 1;
        if (claims.length > 0) this.slots?.release(claims.map((claim) => claim.key));
        if (upstreamFailed === undefined) this.breaker?.abandon(verdict.probe);
        else this.breaker?.report(verdict.probe, !upstreamFailed);
      },
    };
    try {
      for (const scope of scopes) {
        if (scope.rate === undefined) continue;
        try {
          await scope.rate.consume(scope.key);
        } catch (rejection) {
          // A store error without insurance cannot happen (quota-store.ts); fail closed anyway.
          const wait = rejection instanceof RateLimiterRes ? rejection.msBeforeNext : 1000;
          throw this.refuse(scope, 'rate', wait);
        }
      }
    } catch (error) {
      permit.release();
      throw error;
    }
    return permit;
  }

  /** The concurrency limits of `scopes`, keyed with the limit (a reload may change it). */
  private claimsOf(scopes: readonly QuotaScope[]) {
    return scopes.flatMap((scope) =>
      scope.concurrency === undefined
        ? []
        : [{ key: `${scope.key}@${scope.concurrency}`, limit: scope.concurrency }],
    );
  }

  private refuse(scope: QuotaScope, reason: 'rate' | 'concurrency', waitMs: number): QuotaRefused {
    this.metrics?.upstreamQuotaRefusals.inc({ scope: scope.label, reason });
    const whose = scope === this.total ? 'all clients' : 'this client';
    return new QuotaRefused(
      reason,
      `upstream token calls for ${whose} are over their ${reason === 'rate' ? 'rate' : 'concurrency'} limit`,
      429,
      waitMs,
    );
  }

  private pauseKeys(clientId: string | undefined): { key: string; status: 429 | 503 }[] {
    const keys: { key: string; status: 429 | 503 }[] = [
      { key: `${ALL}:503`, status: 503 },
      { key: `${ALL}:429`, status: 429 },
    ];
    if (clientId !== undefined) keys.push({ key: `${clientKey(clientId)}:429`, status: 429 });
    return keys;
  }

  private async checkPauses(scope: QuotaScope, clientId: string | undefined): Promise<void> {
    const keys = this.pauseKeys(clientId);
    // At once, not one after the other: against Redis each read costs a round trip.
    const states = await Promise.all(keys.map(({ key }) => this.pauses.get(key).catch(() => null)));
    states.forEach((state, index) => {
      if (state === null || state.consumedPoints <= 1 || state.msBeforeNext <= 0) return;
      const status = keys[index]?.status ?? 503;
      this.metrics?.upstreamQuotaRefusals.inc({ scope: scope.label, reason: 'paused' });
      throw new QuotaRefused(
        'paused',
        `the upstream asked scopegate to wait before the next token call (it answered ${status})`,
        status,
        state.msBeforeNext,
      );
    });
  }

  /**
   * After an upstream answer: a 429 or 503 with Retry-After pauses further calls until then (a
   * 503, and a 429 under `on_upstream_429: all`, for every client; else the one that got it).
   */
  async observe(
    status: number,
    retryAfter: string | string[] | undefined,
    clientId: string | undefined,
  ): Promise<void> {
    if (status !== 429 && status !== 503) return;
    const waitMs = retryAfterMs(retryAfter);
    if (waitMs === undefined) return;
    const maxPause = this.settings?.max_pause ?? 300_000;
    const seconds = Math.max(1, Math.ceil(Math.min(waitMs, maxPause) / 1000));
    const forAll = status === 503 || (this.settings?.on_upstream_429 ?? 'all') === 'all';
    if (!forAll && clientId === undefined) return;
    const key = forAll ? `${ALL}:${status}` : `${clientKey(clientId as string)}:429`;
    await this.pauses.block(key, seconds).catch(() => undefined);
  }

  close(): void {
    this.store.close();
  }
}

/** A TokenQuota when anything sets a quota; the previous one while the settings are unchanged. */
export function tokenQuotaFor(
  config: Config,
  previous: TokenQuota | undefined,
  metrics?: Metrics,
  logger?: Logger,
  slots?: SharedSlots,
): TokenQuota | undefined {
  const wanted =
    config.upstream.quota !== undefined ||
    config.clients.some((rule) => rule.upstream_quota !== undefined);
  if (!wanted) return undefined;
  if (previous !== undefined && previous.identity === quotaIdentity(config)) return previous;
  return new TokenQuota(config, metrics, logger, slots);
}
