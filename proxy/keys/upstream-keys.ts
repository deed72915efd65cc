/**
 * The upstream's signing keys, fetched from its JWKS and cached. One fetch is shared by all
 * concurrent requests; an unknown `kid` triggers a refetch at most once per cooldown (so a flood
 * of forged kids cannot hammer the upstream); when the JWKS endpoint is down, keys already held
 * may be used for a bounded stale window, after which verification fails closed.
 */
import { createLocalJWKSet, errors, type JSONWebKeySet, type JWSHeaderParameters } from 'jose';
import type { Metrics } from '../metrics.js';
import { fetchUpstreamJson } from '../upstream/http-client.js';

export interface UpstreamKeysOptions {
  /** Resolved lazily: the URI may come from the upstream's discovery document. */
  jwksUri: () => Promise<URL>;
  maxAgeMs: number;
  cooldownMs: number;
  staleIfErrorMs: number;
  timeoutMs: number;
  metrics?: Metrics;
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
  fetchedAt: number;
}

export class UpstreamKeys {
  private snapshot: Snapshot | undefined;
  private inflight: Promise<Snapshot> | undefined;
  private lastAttempt = Number.NEGATIVE_INFINITY;
  private readonly now: () => number;

  constructor(private readonly options: UpstreamKeysOptions) {
    this.now = options.now ?? Date.now;
  }

  /** True once keys have been fetched at least once (a readiness condition). */
  get loaded(): boolean {
    return this.snapshot !== undefined;
  }

  /** Fetches now, sharing a fetch already under way. */
  refresh(): Promise<Snapshot> {
    if (this.inflight) return this.inflight;
    this.lastAttempt = this.now();
    const metrics = this.options.metrics;
    this.inflight = (async () => {
      try {
        const uri = await this.options.jwksUri();
        const body = await fetchUpstreamJson(uri, this.options.timeoutMs, 'jwks', metrics);
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
        const snapshot = { resolve: createLocalJWKSet({ keys }), fetchedAt: this.now() };
        this.snapshot = snapshot;
        metrics?.upstreamJwksFetches.inc({ result: 'success' });
        return snapshot;
      } catch (error) {
        metrics?.upstreamJwksFetches.inc({ result: 'error' });
        throw error;
      } finally {
        this.inflight = undefined;
      }
    })();
    return this.inflight;
  }

  private async current(): Promise<Snapshot> {
    const snapshot = this.snapshot;
    const metrics = this.options.metrics;
    if (snapshot && this.now() - snapshot.fetchedAt < this.options.maxAgeMs) {
      metrics?.cacheHits.inc({ cache: 'upstream_jwks' });
      return snapshot;
    }
    metrics?.cacheMisses.inc({ cache: 'upstream_jwks' });
    try {
      return await this.refresh();
    } catch (error) {
      const staleLimit = this.options.maxAgeMs + this.options.staleIfErrorMs;
      if (snapshot && this.now() - snapshot.fetchedAt < staleLimit) {
        metrics?.upstreamJwksFetches.inc({ result: 'stale_served' });
        return snapshot;
      }
      throw new UpstreamKeysUnavailable(`upstream keys unavailable: ${(error as Error).message}`);
    }
  }

  /** A jose key resolver: finds the key for a token header, refetching once on an unknown kid. */
  readonly resolve = async (header: JWSHeaderParameters) => {
    const snapshot = await this.current();
    try {
      return await snapshot.resolve(header, { payload: '', signature: '' });
    } catch (error) {
      const cooledDown = this.now() - this.lastAttempt >= this.options.cooldownMs;
      if (!(error instanceof errors.JWKSNoMatchingKey) || !cooledDown) throw error;
      let fresh: Snapshot;
      try {
        fresh = await this.refresh();
      } catch {
        throw error;
      }
      return fresh.resolve(header, { payload: '', signature: '' });
    }
  };
}
