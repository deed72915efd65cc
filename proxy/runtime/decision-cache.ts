/**
 * A bounded, expiring memo of scope decisions. The key holds everything a decision depends on:
 * the config generation, client, grant type, audience, the granted and requested scopes (in order,
 * because the issued order follows them), and the values of the claims that `claim` validators
 * read. Each Runtime owns its own cache, and the generation is in the key as well, so a decision
 * made under one configuration can never answer under another.
 *
 * Keys and decisions grow with what the client sends, so the cache is bounded by size as well as
 * by count, and an oversized entry is simply not kept.
 */
import { LRUCache } from 'lru-cache';
import type { Metrics } from '../observability/metrics.js';
import { claimValues } from '../scope/claims.js';
import type { Decider, Decision, DecisionInput, ScopeDecider } from '../scope/decider.js';

export interface DecisionCacheOptions {
  generation: number;
  /** 0 disables the cache. */
  maxEntries: number;
  /** Milliseconds; 0 disables the cache. */
  ttlMs: number;
  metrics?: Metrics;
  /** Clock for the TTL (tests). */
  now?: () => number;
}

/** Budget per entry on average (characters of key and decision), and the largest entry kept. */
const AVERAGE_ENTRY_SIZE = 2048;
const MAX_ENTRY_SIZE = 32 * 1024;

/**
 * The cache key: JSON of an array of every input the decision depends on, so no two inputs can
 * share one. (JSON is also the fastest encoding measured: a concatenated key is a rope that must
 * be flattened before the cache can hash it.)
 */
export function decisionKey(
  generation: number,
  claimsRead: readonly string[],
  input: DecisionInput,
): string {
  return JSON.stringify([
    generation,
    input.clientId ?? null,
    input.grantType,
    [...new Set(input.audience)].sort(),
    input.granted,
    input.requested ?? null,
    claimsRead.map((claim) =>
      claimValues(Object.hasOwn(input.claims, claim) ? input.claims[claim] : undefined),
    ),
  ]);
}

function decisionSize(key: string, decision: Decision): number {
  let size = key.length;
  for (const verdict of decision.verdicts)
    size += verdict.scope.length + verdict.detail.length + 64;
  return Math.max(1, size);
}

/** Freezes a decision, all the way down, before requests share it: no caller can alter it. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const member of Object.values(value)) deepFreeze(member);
    Object.freeze(value);
  }
  return value;
}

export class CachingDecider implements Decider {
  private readonly cache: LRUCache<string, Decision>;

  constructor(
    private readonly inner: ScopeDecider,
    private readonly options: DecisionCacheOptions,
  ) {
    const maxSize = Math.max(options.maxEntries * AVERAGE_ENTRY_SIZE, MAX_ENTRY_SIZE);
    this.cache = new LRUCache<string, Decision>({
      max: options.maxEntries,
      ttl: options.ttlMs,
      maxSize,
      maxEntrySize: MAX_ENTRY_SIZE,
      // lru-cache memoizes its clock for ttlResolution ms; an injected clock must be read every time.
      ...(options.now ? { perf: { now: options.now }, ttlResolution: 0 } : {}),
    });
  }

  get size(): number {
    return this.cache.size;
  }

  decide(input: DecisionInput): Decision {
    const key = decisionKey(this.options.generation, this.inner.policies.claimsRead, input);
    const cached = this.cache.get(key);
    if (cached) {
      this.options.metrics?.cacheHits.inc({ cache: 'decision' });
      return cached;
    }
    this.options.metrics?.cacheMisses.inc({ cache: 'decision' });
    const decision = deepFreeze(this.inner.decide(input));
    const size = decisionSize(key, decision);
    if (size <= MAX_ENTRY_SIZE) this.cache.set(key, decision, { size });
    return decision;
  }
}

/** The decider a Runtime uses: cached unless the config turns the cache off. */
export function cachedDecider(inner: ScopeDecider, options: DecisionCacheOptions): Decider {
  if (options.maxEntries <= 0 || options.ttlMs <= 0) return inner;
  return new CachingDecider(inner, options);
}
