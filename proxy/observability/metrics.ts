/**
 * Prometheus metrics. Label sets are bounded: outcomes, grant types from a fixed list, routes and
 * status classes. Client ids become a label only when the operator opts in.
 *
 * With several workers, /metrics adds up every worker's registry (prom-client's cluster
 * aggregation): counters and histograms are summed, which is right for them; each gauge says how
 * it combines (`aggregator`): a state every worker has alike (build info, keys) is taken once, a
 * generation or readiness is the lowest (the whole is only as far along as its last worker).
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { type Config, GRANT_TYPES } from '../../config/schema.js';
import { packageVersion } from './version.js';

export const TOKEN_OUTCOMES = [
  'issued',
  'narrowed',
  'rejected',
  'invalid_target',
  'invalid_request',
  'upstream_error',
  'upstream_unavailable',
  'verify_failed',
  'sign_failed',
] as const;
export type TokenOutcome = (typeof TOKEN_OUTCOMES)[number];

export const UPSTREAM_ROUTES = ['token', 'jwks', 'discovery', 'proxy', 'introspection'] as const;
export type UpstreamRoute = (typeof UPSTREAM_ROUTES)[number];
export const CACHE_NAMES = [
  'upstream_jwks',
  'discovery',
  'decision',
  'upstream_token',
  'verified_token',
  'introspection',
] as const;
export const TOKEN_CACHE_BACKENDS = ['redis', 'primary'] as const;
export type CacheName = (typeof CACHE_NAMES)[number];
export const JWKS_FETCH_RESULTS = ['success', 'error', 'stale_served'] as const;
export const RELOAD_RESULTS = ['success', 'failure'] as const;
/** Why scopegate refused an upstream token call itself (upstream.quota, clients[].upstream_quota). */
export const QUOTA_REFUSAL_REASONS = ['rate', 'concurrency', 'paused', 'breaker'] as const;
export type QuotaRefusalReason = (typeof QUOTA_REFUSAL_REASONS)[number];

const KNOWN_GRANTS = new Set<string>(GRANT_TYPES);

/** Grant types outside the known list share one label value, so a client cannot add series. */
export function grantLabel(grantType: string | undefined): string {
  if (grantType === undefined) return 'none';
  return KNOWN_GRANTS.has(grantType) ? grantType : 'other';
}

/**
 * Client ids the configuration names (clients[].client_id, scopes[].clients): with
 * metrics.client_id_label on, the only client_id values besides `other` and `unknown`.
 */
export function configuredClientIds(config: Config): ReadonlySet<string> {
  return new Set([
    ...config.clients.map((rule) => rule.client_id),
    ...config.scopes.flatMap((policy) => policy.clients ?? []),
  ]);
}

/**
 * The client_id label value: a configured client as itself, any other client under one `other`
 * (so a flood of made-up client ids cannot add series), no client as `unknown`.
 */
export function clientLabel(clientId: string | undefined, known: ReadonlySet<string>): string {
  if (clientId === undefined) return 'unknown';
  return known.has(clientId) ? clientId : 'other';
}

export function statusClass(status: number | undefined): string {
  if (status === undefined || status < 100) return 'error';
  return `${Math.floor(status / 100)}xx`;
}

export class Metrics {
  readonly registry = new Registry();
  readonly tokenRequests: Counter<'grant_type' | 'outcome' | 'client_id'>;
  readonly scopesRemoved: Counter<'reason'>;
  readonly upstreamDuration: Histogram<'route' | 'status_class'>;
  readonly requestDuration: Histogram<'route' | 'status_class'>;
  readonly upstreamRateLimited: Counter<'route'>;
  readonly buildInfo: Gauge<'version' | 'node_version'>;
  readonly reissueDuration: Histogram;
  readonly upstreamJwksFetches: Counter<'result'>;
  readonly cacheHits: Counter<'cache'>;
  readonly cacheMisses: Counter<'cache'>;
  readonly upstreamCallsSaved: Counter;
  readonly tokenCacheBackendErrors: Counter<'backend'>;
  readonly signingKeyInfo: Gauge<'kid' | 'alg' | 'status'>;
  readonly configReloads: Counter<'result'>;
  readonly configGeneration: Gauge;
  readonly inFlight: Gauge<'listener'>;
  readonly ready: Gauge;
  readonly logLinesDropped: Counter;
  readonly upstreamRateLimitLimit: Gauge;
  readonly upstreamRateLimitRemaining: Gauge;
  readonly upstreamRateLimitReset: Gauge;
  readonly upstreamQuotaRefusals: Counter<'scope' | 'reason'>;
  private readinessProbe: (() => boolean) | undefined;

  constructor(readonly clientIdLabel = false) {
    const registers = [this.registry];
    this.tokenRequests = new Counter({
      name: 'scopegate_token_requests_total',
      help: 'Token endpoint requests by grant type and outcome',
      labelNames: clientIdLabel
        ? ['grant_type', 'outcome', 'client_id']
        : ['grant_type', 'outcome'],
      registers,
    });
    this.scopesRemoved = new Counter({
      name: 'scopegate_scopes_removed_total',
      help: 'Requested scopes left out of issued tokens or refused, by reason',
      labelNames: ['reason'],
      registers,
    });
    this.upstreamDuration = new Histogram({
      name: 'scopegate_upstream_request_duration_seconds',
      help: 'Duration of requests to the upstream IdP by route and status class',
      labelNames: ['route', 'status_class'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    // Route values are the gateway's route classes (access-log.ts), never a path.
    this.requestDuration = new Histogram({
      name: 'scopegate_request_duration_seconds',
      help: 'Duration of requests on the public listener, from arrival to the end of the response, by route class and status class',
      labelNames: ['route', 'status_class'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.upstreamRateLimited = new Counter({
      name: 'scopegate_upstream_rate_limited_total',
      help: 'Upstream answers with status 429 (a rate limit or quota of the IdP), by route',
      labelNames: ['route'],
      registers,
    });
    this.buildInfo = new Gauge({
      name: 'scopegate_build_info',
      help: 'Always 1: the scopegate version and the Node.js version this process runs on',
      labelNames: ['version', 'node_version'],
      registers,
      aggregator: 'max',
    });
    this.buildInfo.set({ version: packageVersion(), node_version: process.versions.node }, 1);
    this.reissueDuration = new Histogram({
      name: 'scopegate_reissue_duration_seconds',
      help: 'Time spent verifying, narrowing and re-signing an upstream token',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
      registers,
    });
    this.upstreamJwksFetches = new Counter({
      name: 'scopegate_upstream_jwks_fetches_total',
      help: 'Fetches of the upstream JWKS by result',
      labelNames: ['result'],
      registers,
    });
    this.cacheHits = new Counter({
      name: 'scopegate_cache_hits_total',
      help: 'Cache hits per cache',
      labelNames: ['cache'],
      registers,
    });
    this.cacheMisses = new Counter({
      name: 'scopegate_cache_misses_total',
      help: 'Cache misses per cache',
      labelNames: ['cache'],
      registers,
    });
    this.upstreamCallsSaved = new Counter({
      name: 'scopegate_upstream_token_calls_saved_total',
      help: 'Token requests answered without an upstream call of their own (cache hit or shared call)',
      registers,
    });
    this.tokenCacheBackendErrors = new Counter({
      name: 'scopegate_token_cache_backend_errors_total',
      help: 'Upstream token cache operations the shared backend failed (answered in-process instead)',
      labelNames: ['backend'],
      registers,
    });
    this.signingKeyInfo = new Gauge({
      name: 'scopegate_signing_key_info',
      help: 'Signing keys in the configuration (value 1), by kid, alg and status',
      labelNames: ['kid', 'alg', 'status'],
      registers,
      aggregator: 'max',
    });
    this.configReloads = new Counter({
      name: 'scopegate_config_reloads_total',
      help: 'Configuration reloads by result',
      labelNames: ['result'],
      registers,
    });
    this.configGeneration = new Gauge({
      name: 'scopegate_config_generation',
      help: 'Generation of the configuration in force (1 at start, +1 per successful reload)',
      registers,
      // With workers: the generation every one of them serves.
      aggregator: 'min',
    });
    this.inFlight = new Gauge({
      name: 'scopegate_in_flight_requests',
      help: 'Requests being served, by listener',
      labelNames: ['listener'],
      registers,
    });
    this.ready = new Gauge({
      name: 'scopegate_ready',
      help: '1 when the instance reports ready on /readyz, 0 otherwise',
      registers,
      aggregator: 'min',
      // Read at scrape time, so the gauge cannot disagree with /readyz between probes.
      collect: () => {
        if (this.readinessProbe) this.ready.set(this.readinessProbe() ? 1 : 0);
      },
    });
    this.logLinesDropped = new Counter({
      name: 'scopegate_log_lines_dropped_total',
      help: 'Log lines dropped because standard output was broken or not read fast enough',
      registers,
    });
    // The upstream's own rate-limit headers, as its last token answer gave them (no labels: there
    // is one upstream, and nothing the upstream sends becomes a label).
    this.upstreamRateLimitLimit = new Gauge({
      name: 'scopegate_upstream_ratelimit_limit',
      help: "The upstream token endpoint's x-ratelimit-limit, from its last answer that had one",
      registers,
      aggregator: 'max',
    });
    this.upstreamRateLimitRemaining = new Gauge({
      name: 'scopegate_upstream_ratelimit_remaining',
      help: "The upstream token endpoint's x-ratelimit-remaining, from its last answer that had one",
      registers,
      // The upstream's one budget seen by several workers: the lowest is the latest news.
      aggregator: 'min',
    });
    this.upstreamRateLimitReset = new Gauge({
      name: 'scopegate_upstream_ratelimit_reset_seconds',
      help: "Seconds until the upstream's rate-limit window resets (x-ratelimit-reset), as of its last answer",
      registers,
      aggregator: 'max',
    });
    // scope is `upstream` or `clients[N]` (the rule's index): configuration, never a client id.
    this.upstreamQuotaRefusals = new Counter({
      name: 'scopegate_upstream_quota_refusals_total',
      help: 'Token requests answered 429/503 by scopegate instead of calling the upstream, by quota scope and reason',
      labelNames: ['scope', 'reason'],
      registers,
    });
    // Series that alerts use with increase() exist at 0 from the start: a counter that first
    // appears at 1 is invisible to increase() for that first event.
    for (const result of RELOAD_RESULTS) this.configReloads.inc({ result }, 0);
    for (const result of JWKS_FETCH_RESULTS) this.upstreamJwksFetches.inc({ result }, 0);
    for (const backend of TOKEN_CACHE_BACKENDS) this.tokenCacheBackendErrors.inc({ backend }, 0);
    for (const route of UPSTREAM_ROUTES) this.upstreamRateLimited.inc({ route }, 0);
    for (const reason of QUOTA_REFUSAL_REASONS) {
      this.upstreamQuotaRefusals.inc({ scope: 'upstream', reason }, 0);
    }
    for (const cache of CACHE_NAMES) {
      this.cacheHits.inc({ cache }, 0);
      this.cacheMisses.inc({ cache }, 0);
    }
    collectDefaultMetrics({ register: this.registry });
  }

  /** Where `scopegate_ready` comes from: the same function /readyz answers with. */
  setReadinessProbe(probe: () => boolean): void {
    this.readinessProbe = probe;
  }

  /** `client` is already a label value (clientLabel): never a raw client id. */
  countToken(outcome: TokenOutcome, grantType: string | undefined, client?: string): void {
    const labels: Record<string, string> = { grant_type: grantLabel(grantType), outcome };
    if (this.clientIdLabel) labels.client_id = client ?? 'unknown';
    this.tokenRequests.inc(labels);
  }

  /** Names of every metric family this process exports. */
  async metricNames(): Promise<string[]> {
    const families = await this.registry.getMetricsAsJSON();
    return families.map((family) => family.name);
  }
}
