/**
 * The upstream's signing keys, fetched from its JWKS and cached. One fetch is shared by all
 * concurrent requests; an unknown `kid` triggers a refetch at most once per cooldown (so a flood
 * of forged kids cannot hammer the upstream); when the JWKS endpoint is down, keys already held
 * may be used for a bounded stale window, after which verification fails closed.
 */
import { createLocalJWKSet, errors, type JSONWebKeySet, type JWSHeaderParameters } from 'jose';
import {
  JwsRefused,
  type PreparedKey,
  prepareKeys,
  type VerifiedJws,
  verifyCompactJws,
} from '../keys/jws-verifier.js';
import type { Metrics } from '../observability/metrics.js';
import { fetchUpstreamJson } from './http-client.js';
import type { UpstreamAgents } from './upstream-agents.js';

export interface UpstreamKeysOptions {
  /** Resolved lazily: the URI may come from the upstream's discovery document. */
  jwksUri: () => Promise<URL>;
  /** Keys younger than this are used without asking the upstream. */
  maxAgeMs: number;
  /** Minimum time between fetches caused by an unknown kid or by a failed refresh. */
  cooldownMs: number;
  /** How long past maxAge keys may still be used while the JWKS endpoint fails. */
  staleIfErrorMs: number;
  timeoutMs: number;
  metrics?: Metrics;
  /** The generation's connection pools (egress proxy, upstream.tls). */
  agents?: UpstreamAgents;
  now?: () => number;
}

export class UpstreamKeysUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UpstreamKeysUnavailable';
  }
}

type KeyResolver = ReturnType<typeof createLocalJWKSet>;

interface Snapshot {
  resolve: KeyResolver;
  /** The same keys imported for node:crypto, for the token path (see jws-verifier.ts). */
  prepared: PreparedKey[];
  fetchedAt: number;
  /** Every key id the JWKS published, importable or not (knownKids). */
  kids: ReadonlySet<string>;
}

const NO_KIDS: ReadonlySet<string> = new Set();

/**
 * More keys than any IdP publishes (rotation keeps two or three per algorithm). A JWKS with more
 * is refused like an unreadable one: the key set is held until the next fetch, so its size is
 * bounded by this count as well as by the 1 MiB cap on the document.
 */
export const MAX_UPSTREAM_KEYS = 100;

/** What jose's local key set expects besides the header; it only reads the header. */
const NO_TOKEN = { payload: '', signature: '' };

export class UpstreamKeys {
  private snapshot: Snapshot | undefined;
  private inflight: Promise<Snapshot> | undefined;
  private lastAttempt = Number.NEGATIVE_INFINITY;
  private lastFailure = Number.NEGATIVE_INFINITY;
  private readonly now: () => number;

  constructor(private readonly options: UpstreamKeysOptions) {
    this.now = options.now ?? Date.now;
  }

  /** True once keys have been fetched at least once (a readiness condition). */
  get loaded(): boolean {
    return this.snapshot !== undefined;
  }

  /**
   * Key ids of the keys held, without waiting (empty before the first fetch): responses already
   * on their way back are screened for tokens signed with them.
   */
  knownKids(): ReadonlySet<string> {
    return this.snapshot?.kids ?? NO_KIDS;
  }

  /** Age of the keys in use, in ms; undefined before the first fetch. */
  age(): number | undefined {
    return this.snapshot ? this.now() - this.snapshot.fetchedAt : undefined;
  }

  /** Fetches now, sharing a fetch already under way. */
  refresh(): Promise<Snapshot> {
    if (this.inflight) return this.inflight;
    this.lastAttempt = this.now();
    const metrics = this.options.metrics;
    const fetching = (async () => {
      try {
        const uri = await this.options.jwksUri();
        const body = await fetchUpstreamJson(
          uri,
          this.options.timeoutMs,
          'jwks',
          metrics,
          this.options.agents,
        );
        if (
          typeof body !== 'object' ||
          body === null ||
          !Array.isArray((body as { keys?: unknown }).keys)
        ) {
          throw new Error('upstream JWKS has no "keys" array');
        }
        // Only public asymmetric keys may verify upstream tokens: drop anything else outright.
        const keys = (body as JSONWebKeySet).keys.filter(
          (key) => key.kty !== 'oct' && key.d === undefined,
        );
        if (keys.length > MAX_UPSTREAM_KEYS) {
          throw new Error(`upstream JWKS has more than ${MAX_UPSTREAM_KEYS} keys`);
        }
        const snapshot = {
          resolve: createLocalJWKSet({ keys }),
          prepared: prepareKeys(keys as Record<string, unknown>[]),
          kids: new Set(keys.flatMap((key) => (typeof key.kid === 'string' ? [key.kid] : []))),
          fetchedAt: this.now(),
        };
        this.snapshot = snapshot;
        metrics?.upstreamJwksFetches.inc({ result: 'success' });
        return snapshot;
      } catch (error) {
        this.lastFailure = this.now();
        metrics?.upstreamJwksFetches.inc({ result: 'error' });
        throw error;
      }
    })();
    // Cleared when settled, whoever awaits it: the next caller starts a new fetch.
    this.inflight = fetching;
    fetching.then(
      () => this.clearInflight(fetching),
      () => this.clearInflight(fetching),
    );
    return fetching;
  }

  private clearInflight(settled: Promise<Snapshot>): void {
    if (this.inflight === settled) this.inflight = undefined;
  }

  private withinStaleWindow(snapshot: Snapshot): boolean {
    const staleLimit = this.options.maxAgeMs + this.options.staleIfErrorMs;
    return this.now() - snapshot.fetchedAt < staleLimit;
  }

  private async current(): Promise<Snapshot> {
    const snapshot = this.snapshot;
    const metrics = this.options.metrics;
    if (snapshot && this.now() - snapshot.fetchedAt < this.options.maxAgeMs) {
      metrics?.cacheHits.inc({ cache: 'upstream_jwks' });
      return snapshot;
    }
    metrics?.cacheMisses.inc({ cache: 'upstream_jwks' });
    // A refresh failed moments ago: serve the stale keys without making every request wait for
    // another timeout against an endpoint that is down, and without hammering it.
    const failedRecently = this.now() - this.lastFailure < this.options.cooldownMs;
    if (snapshot && failedRecently && !this.inflight && this.withinStaleWindow(snapshot)) {
      metrics?.upstreamJwksFetches.inc({ result: 'stale_served' });
      return snapshot;
    }
    try {
      return await this.refresh();
    } catch (error) {
      if (snapshot && this.withinStaleWindow(snapshot)) {
        metrics?.upstreamJwksFetches.inc({ result: 'stale_served' });
        return snapshot;
      }
      throw new UpstreamKeysUnavailable(`upstream keys unavailable: ${(error as Error).message}`);
    }
  }

  /**
   * Keys that may know a kid `seen` did not: a fetch already under way (joined, never
   * duplicated), keys fetched since `seen`, or a new fetch when the cooldown allows one.
   */
  private async newerThan(seen: Snapshot): Promise<Snapshot | undefined> {
    if (this.inflight) return this.inflight;
    if (this.snapshot && this.snapshot !== seen) return this.snapshot;
    if (this.now() - this.lastAttempt < this.options.cooldownMs) return undefined;
    return this.refresh();
  }

  /**
   * `use` with the current keys; when it finds no published key that fits (`noKey`), once more
   * with keys that may know it (see newerThan), else its own error.
   */
  private async withKeys<T>(
    use: (snapshot: Snapshot) => T | Promise<T>,
    noKey: (error: unknown) => boolean,
  ): Promise<T> {
    const snapshot = await this.current();
    try {
      return await use(snapshot);
    } catch (error) {
      if (!noKey(error)) throw error;
      const fresh = await this.newerThan(snapshot).catch(() => undefined);
      if (fresh === undefined || fresh === snapshot) throw error;
      return use(fresh);
    }
  }

  /** A jose key resolver: finds the key for a token header, refetching once on an unknown kid. */
  readonly resolve = (header: JWSHeaderParameters) =>
    this.withKeys(
      (snapshot) => snapshot.resolve(header, NO_TOKEN),
      (error) => error instanceof errors.JWKSNoMatchingKey,
    );

  /**
   * Verifies a compact JWS with the upstream's keys (node:crypto; see jws-verifier.ts), asking
   * the upstream again once when no published key fits the header, as `resolve` does.
   */
  verifyJws(token: string, algorithms: readonly string[]): Promise<VerifiedJws> {
    return this.withKeys(
      (snapshot) => verifyCompactJws(token, snapshot.prepared, algorithms),
      (error) => error instanceof JwsRefused && error.refusal === 'no_matching_key',
    );
  }
}
