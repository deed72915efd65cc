/**
 * Accepted introspection answers, kept so that the same opaque token does not cost an upstream
 * round trip on every request (a service exchanging one token many times, a client whose token
 * answers come from the upstream token cache).
 *
 * The trade-off is revocation: a token revoked at the upstream is still accepted for up to
 * `upstream.introspection.cache_max_age` (0s disables the cache). An entry ends at the earlier
 * of that age and the token's `exp` less `tokens.min_lifetime` (at least a second), as the
 * verified-JWT memo does, so the cache never answers for a token that is about to expire.
 *
 * The key is an HMAC of the token under a random key of this process: the token itself is never
 * held, and a memory dump does not let anyone test guesses of it. Only accepted answers are kept
 * (inactive, expired, foreign or failed ones are asked again next time). Concurrent misses for
 * the same token share one upstream call. Bounded by count and by bytes; one cache per
 * configuration generation.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { JWTPayload } from 'jose';
import { LRUCache } from 'lru-cache';
import type { Metrics } from '../observability/metrics.js';
import { deepFreeze } from './verified-token-cache.js';

const MAX_ENTRIES = 10_000;
/** Answers are upstream-controlled (up to 64 KiB each): bound the bytes as well as the count. */
const MAX_BYTES = 16 * 1024 * 1024;
/** Per-entry overhead counted besides the claims: the key and the entry object. */
const ENTRY_OVERHEAD = 128;

interface Entry {
  claims: JWTPayload;
  expiresAt: number;
  bytes: number;
}

export interface IntrospectionCacheOptions {
  /** upstream.introspection.cache_max_age, in milliseconds (> 0). */
  maxAgeMs: number;
  /** tokens.min_lifetime, in seconds. */
  minLifetimeSec: number;
  metrics?: Metrics | undefined;
  now?: () => number;
}

export class IntrospectionCache {
  private readonly entries = new LRUCache<string, Entry>({
    max: MAX_ENTRIES,
    maxSize: MAX_BYTES,
    sizeCalculation: (entry) => entry.bytes,
  });
  /** Upstream calls in flight, by key: a concurrent miss joins instead of calling again. */
  private readonly inFlight = new Map<string, Promise<JWTPayload>>();
  private readonly hmacKey = randomBytes(32);
  private readonly now: () => number;

  constructor(private readonly options: IntrospectionCacheOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The accepted answer for `token`: from memory, from a call in flight, or from `introspect`. */
  async claims(token: string, introspect: () => Promise<JWTPayload>): Promise<JWTPayload> {
    const key = createHmac('sha256', this.hmacKey).update(token).digest('base64url');
    const kept = this.entries.get(key);
    // Checked against our clock: lru-cache's TTL only clears entries out eventually.
    if (kept !== undefined && kept.expiresAt > this.now()) {
      this.options.metrics?.cacheHits.inc({ cache: 'introspection' });
      return kept.claims;
    }
    const pending = this.inFlight.get(key);
    if (pending !== undefined) {
      // No upstream call of its own: counted as a hit.
      this.options.metrics?.cacheHits.inc({ cache: 'introspection' });
      return pending;
    }
    this.options.metrics?.cacheMisses.inc({ cache: 'introspection' });
    const call = this.fetch(key, introspect);
    this.inFlight.set(key, call);
    try {
      return await call;
    } finally {
      this.inFlight.delete(key);
    }
  }

  private async fetch(key: string, introspect: () => Promise<JWTPayload>): Promise<JWTPayload> {
    // introspect() throws for anything but an accepted answer: failures never reach the cache.
    const claims = deepFreeze(await introspect());
    const now = this.now();
    const exp = typeof claims.exp === 'number' ? claims.exp : 0;
    const usableUntil = (exp - Math.max(1, this.options.minLifetimeSec)) * 1000;
    const expiresAt = Math.min(now + this.options.maxAgeMs, usableUntil);
    const ttl = expiresAt - now;
    if (ttl > 0) {
      const bytes = Buffer.byteLength(JSON.stringify(claims)) + ENTRY_OVERHEAD;
      this.entries.set(key, { claims, expiresAt, bytes }, { ttl: Math.ceil(ttl) });
    }
    return claims;
  }
}

/** The cache for a configuration generation, or undefined when cache_max_age is 0. */
export function introspectionCacheFor(
  maxAgeMs: number | undefined,
  minLifetimeMs: number,
  metrics: Metrics | undefined,
): IntrospectionCache | undefined {
  if (maxAgeMs === undefined || maxAgeMs <= 0) return undefined;
  return new IntrospectionCache({
    maxAgeMs,
    minLifetimeSec: Math.ceil(minLifetimeMs / 1000),
    metrics,
  });
}
