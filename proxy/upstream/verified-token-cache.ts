/**
 * A memo around verify-upstream: a token that verified once is not verified again until it
 * expires. The same upstream token arrives again and again when its answer comes from the upstream
 * token cache, or from an upstream that itself caches tokens (Auth0 does for M2M).
 *
 * The key is the token itself together with every verification input the memo is asked under:
 * the requested audiences, and the issuer and algorithms (fixed for the Runtime, one
 * configuration generation, that owns the memo, except that a discovered issuer may change under
 * it). A hit is checked against the caller's minimum lifetime, not the one it was stored with.
 * Entries end at the token's `exp`, with no clock tolerance, so the memo never accepts a token
 * that verification would refuse for time.
 * Only successes are kept. Bounded by count and by bytes.
 */
import type { JWTPayload } from 'jose';
import { LRUCache } from 'lru-cache';
import type { Metrics } from '../observability/metrics.js';
import { type VerifyOptions, verifyUpstreamToken } from './verify-upstream.js';

/**
 * The memo pays off for upstream tokens that come back (from the token cache, or an upstream that
 * caches): one per client and audience within a token lifetime, so a few thousand cover a large
 * deployment. A miss costs one verification (about 65 µs for ES256); every entry costs heap for
 * as long as the token lives, which under a flood of distinct tokens is what RSS is made of.
 */
const MAX_ENTRIES = 4_000;
/** Bound in bytes as well as entries: claims are upstream-controlled and may be large. */
const MAX_BYTES = 8 * 1024 * 1024;
/**
 * Heap held by an entry per byte of token: the parsed claims (objects, strings, hidden classes)
 * and a digest key, measured at about three times the token's length for typical access tokens.
 * The key is now the token itself, counted on top: about 2,800 entries of 700-character tokens
 * fit in MAX_BYTES rather than 3,700.
 */
const HEAP_PER_TOKEN_BYTE = 3;

/** Freezes the claims all the way down: every request that hits shares the same object. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const member of Object.values(value)) deepFreeze(member);
    Object.freeze(value);
  }
  return value;
}

export class VerifiedTokenCache {
  private readonly entries = new LRUCache<string, { claims: JWTPayload; bytes: number }>({
    max: MAX_ENTRIES,
    maxSize: MAX_BYTES,
    sizeCalculation: (entry) => entry.bytes,
  });

  constructor(
    private readonly metrics?: Metrics,
    private readonly now: () => number = Date.now,
  ) {}

  async verify(token: unknown, options: VerifyOptions): Promise<JWTPayload> {
    if (typeof token !== 'string') return verifyUpstreamToken(token, options);
    // The token as it is, not a SHA-256 of it: an exact match needs no digest, and the digest
    // (a Hash object, three updates) was the memo's main cost on every token request. Measured
    // (CPU time, Node.js 26, a 700-character token, key and lookup): 1.7-2.1 µs with the digest,
    // 0.34-0.55 µs this way. The longer key is counted in the entry's size below. No two inputs
    // share a key: the JSON after the last NUL holds no NUL (JSON escapes it), so it ends the token.
    const key = `${token}\0${JSON.stringify([options.audiences, options.issuer, options.algorithms])}`;
    const kept = this.entries.get(key);
    // The expiry is checked against our clock and the caller's minimum lifetime here; lru-cache's
    // TTL only clears entries out.
    if (kept !== undefined && this.usable(kept.claims, options) > this.now()) {
      this.metrics?.cacheHits.inc({ cache: 'verified_token' });
      return kept.claims;
    }
    this.metrics?.cacheMisses.inc({ cache: 'verified_token' });
    const claims = await verifyUpstreamToken(token, options);
    // The entry ends when verification would refuse the token for time: at exp less the
    // configured minimum lifetime.
    const expiresAt = this.usable(claims, options);
    const ttl = expiresAt - this.now();
    if (ttl > 0) {
      // The token's length is a fair measure of its claims' size: they are its payload.
      const bytes = key.length + token.length * HEAP_PER_TOKEN_BYTE + 128;
      this.entries.set(key, { claims: deepFreeze(claims), bytes }, { ttl });
    }
    return claims;
  }

  /** Until when (ms) verification under `options` would accept a token with these claims. */
  private usable(claims: JWTPayload, options: VerifyOptions): number {
    return typeof claims.exp === 'number'
      ? (claims.exp - Math.max(1, options.minLifetimeSec ?? 0)) * 1000
      : 0;
  }
}
