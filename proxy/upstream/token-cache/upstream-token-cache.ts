/**
 * The upstream token cache: verified upstream token answers, kept under HMACed keys until shortly
 * before the upstream token expires (never longer than `max_ttl`). The in-process backend always
 * holds what this process saw; with Redis configured, entries are also shared (sealed) with the
 * other replicas. Redis failing is counted and answered from the process, never an error. With
 * several workers and the in-process backend, the workers share entries through the primary
 * process instead (a backend given by the caller: proxy/runtime/cache-in-primary.ts).
 *
 * Every read is checked against the reader's rules (cache-entry.ts), whoever wrote the entry and
 * under whichever configuration: the backends' TTLs are the writer's, and only bound storage.
 */
import type { Config } from '../../../config/schema.js';
import type { Logger } from '../../observability/log.js';
import { RateLimitedWarning } from '../../observability/log-rate-limit.js';
import type { Metrics } from '../../observability/metrics.js';
import { type CacheBackend, CacheBackendUnavailable } from './cache-backend.js';
import { packEntry, type ReaderRules, unpackEntry, usableUntil } from './cache-entry.js';
import { CacheSecrets } from './cache-secrets.js';
import { MemoryBackend } from './memory-backend.js';
import { RedisBackend } from './redis-backend.js';
import { redisTarget } from './redis-connection.js';
import { countReconnects } from './redis-metrics.js';

export type UpstreamTokenCacheSettings = Config['cache']['upstream_tokens'];

/**
 * The settings a cache object is built from: its key secret, where entries live and how many are
 * held. max_ttl and expiry_margin are not among them: they are the reader's rules, given with
 * every call, so a reload that changes them keeps the cache and still applies to every entry.
 */
export function cacheIdentity(settings: UpstreamTokenCacheSettings): string {
  return JSON.stringify([settings.key, settings.backend, settings.max_entries, settings.redis]);
}

export class UpstreamTokenCache {
  private readonly secrets: CacheSecrets;
  private readonly memory: MemoryBackend;
  private readonly shared: CacheBackend | undefined;
  /** Connection and command failures of Redis: logged, at most one line per 10 s. */
  private readonly sharedErrors: RateLimitedWarning;

  constructor(
    readonly settings: UpstreamTokenCacheSettings & { key: string },
    private readonly metrics?: Metrics,
    logger?: Logger,
    private readonly now: () => number = Date.now,
    /** Where entries are shared when Redis is not configured: the primary process's. */
    primaryBackend?: CacheBackend,
  ) {
    this.secrets = new CacheSecrets(settings.key);
    this.memory = new MemoryBackend(settings.max_entries);
    const redis = settings.backend === 'redis' ? settings.redis : undefined;
    this.sharedErrors = new RateLimitedWarning(
      logger,
      redis ? 'redis cache error' : 'primary cache error',
    );
    this.shared = redis
      ? new RedisBackend({
          ...redisTarget(redis),
          keyPrefix: redis.key_prefix,
          timeoutMs: redis.timeout,
          secrets: this.secrets,
          onError: (error) => this.sharedErrors.warn({ error: error.message }),
          onReconnect: countReconnects(metrics, 'token_cache'),
        })
      : primaryBackend;
  }

  /** The cache key for everything that determines the upstream's answer. */
  keyFor(material: string): string {
    return this.secrets.keyFor(material);
  }

  /** The kept upstream body, when an entry exists that the reader's rules still accept. */
  async get(key: string, rules: ReaderRules): Promise<Buffer | undefined> {
    const now = this.now();
    const local = unpackEntry(await this.memory.get(key));
    if (local !== undefined && usableUntil(local, rules, now) > now) return local.body;
    const packed = await this.fromShared((backend) => backend.get(key));
    const shared = unpackEntry(packed);
    if (packed === undefined || shared === undefined) return undefined;
    const until = usableUntil(shared, rules, now);
    if (!(until > now)) return undefined;
    await this.memory.set(key, packed, until - now);
    return shared.body;
  }

  /**
   * Keeps `body` (its upstream token expires at `expSec`) for as long as the writer's rules
   * allow; readers apply their own. False when nothing was kept.
   */
  async put(key: string, body: Buffer, expSec: number, rules: ReaderRules): Promise<boolean> {
    const now = this.now();
    const entry = { writtenAt: now, tokenExpiresAt: expSec * 1000, body };
    const ttlMs = usableUntil(entry, rules, now) - now;
    if (!(ttlMs > 0)) return false;
    const packed = packEntry(entry);
    await this.memory.set(key, packed, ttlMs);
    await this.fromShared((backend) => backend.set(key, packed, ttlMs));
    return true;
  }

  /**
   * The answer this process fetched after a miss of `key` is not kept (an error, an answer with a
   * refresh or ID token): other workers waiting for it call the upstream themselves at once,
   * instead of when the lease runs out. A miss that is never followed by put or abandon costs those
   * waiters the lease (upstream.timeout and a second), never an answer.
   */
  async abandon(key: string): Promise<void> {
    const shared = this.shared;
    if (shared?.release === undefined) return;
    await this.fromShared(() => shared.release?.(key) ?? Promise.resolve());
  }

  async close(): Promise<void> {
    await Promise.all([this.memory.close(), this.shared?.close()]);
  }

  private async fromShared<T>(
    action: (backend: CacheBackend) => Promise<T>,
  ): Promise<T | undefined> {
    if (!this.shared) return undefined;
    try {
      return await action(this.shared);
    } catch (error) {
      if (!(error instanceof CacheBackendUnavailable)) throw error;
      this.metrics?.tokenCacheBackendErrors.inc({ backend: this.shared.name });
      this.sharedErrors.warn({ error: error.message });
      return undefined;
    }
  }
}

/** A cache for the configuration, or undefined when no client rule opts in. */
export function upstreamTokenCacheFor(
  config: Config,
  metrics?: Metrics,
  logger?: Logger,
  primaryBackend?: CacheBackend,
): UpstreamTokenCache | undefined {
  const settings = config.cache.upstream_tokens;
  if (!config.clients.some((rule) => rule.cache === true)) return undefined;
  if (settings.key === undefined) return undefined;
  return new UpstreamTokenCache(
    { ...settings, key: settings.key },
    metrics,
    logger,
    Date.now,
    primaryBackend,
  );
}
