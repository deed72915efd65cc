/**
 * One kept upstream answer, as stored in process and in Redis: when it was written and when the
 * upstream token in it expires, then the answer. Whether it may still answer is decided when it
 * is READ, by the reader's configuration: another replica (or this process before a reload) may
 * have written it under a longer `max_ttl` or a shorter margin, and shortening `max_ttl` during a
 * secret compromise must reach entries already stored. A backend's own TTL only clears entries out.
 */
import type { Config } from '../../../config/schema.js';

/** What the reader's configuration allows a kept answer to be used for. */
export interface ReaderRules {
  /** cache.upstream_tokens.max_ttl: the oldest entry used, whoever wrote it. */
  maxAgeMs: number;
  /**
   * Lifetime the upstream token must still have: the larger of cache.upstream_tokens.expiry_margin
   * and tokens.min_lifetime (a token verification would refuse is never served from the cache).
   */
  minRemainingMs: number;
  /** tokens.clock_tolerance: how far in the future a writer's clock may have put an entry. */
  clockToleranceMs: number;
}

export function readerRulesOf(config: Config): ReaderRules {
  const cache = config.cache.upstream_tokens;
  return {
    maxAgeMs: cache.max_ttl,
    minRemainingMs: Math.max(cache.expiry_margin, config.tokens.min_lifetime),
    clockToleranceMs: config.tokens.clock_tolerance,
  };
}

export interface CacheEntry {
  /** ms since the epoch, by the writer's clock. */
  writtenAt: number;
  /** The upstream token's exp, in ms since the epoch. */
  tokenExpiresAt: number;
  body: Buffer;
}

/**
 * Layout: format byte, written-at and token-expiry (float64 big-endian, ms since the epoch), the
 * upstream's JSON body. Entries of another layout (an older scopegate's) are misses.
 */
const FORMAT = 0x02;
const HEADER_BYTES = 1 + 8 + 8;

export function packEntry(entry: CacheEntry): Buffer {
  const packed = Buffer.allocUnsafe(HEADER_BYTES + entry.body.length);
  packed.writeUInt8(FORMAT, 0);
  packed.writeDoubleBE(entry.writtenAt, 1);
  packed.writeDoubleBE(entry.tokenExpiresAt, 9);
  entry.body.copy(packed, HEADER_BYTES);
  return packed;
}

export function unpackEntry(packed: Buffer | undefined): CacheEntry | undefined {
  if (packed === undefined || packed.length <= HEADER_BYTES || packed[0] !== FORMAT) {
    return undefined;
  }
  const writtenAt = packed.readDoubleBE(1);
  const tokenExpiresAt = packed.readDoubleBE(9);
  if (!Number.isFinite(writtenAt) || !Number.isFinite(tokenExpiresAt)) return undefined;
  return { writtenAt, tokenExpiresAt, body: packed.subarray(HEADER_BYTES) };
}

/**
 * Until when (ms since the epoch) the entry may answer under `rules`: the earlier of its write
 * time plus the reader's max_ttl and the token's expiry less the reader's minimum remaining
 * lifetime. An entry written further in the future than the clock tolerance (a writer clock far
 * ahead would stretch its age) never answers: 0.
 */
export function usableUntil(entry: CacheEntry, rules: ReaderRules, now: number): number {
  if (entry.writtenAt > now + rules.clockToleranceMs) return 0;
  return Math.min(entry.writtenAt + rules.maxAgeMs, entry.tokenExpiresAt - rules.minRemainingMs);
}
