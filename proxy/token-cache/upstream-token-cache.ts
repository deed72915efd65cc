/**
 * The upstream token cache: verified upstream token answers, kept under HMACed keys until shortly
 * before the upstream token expires (never longer than `max_ttl`). The in-process backend always
 * holds what this process saw; with Redis configured, entries are also shared (sealed) with the
 * other replicas. Redis failing is counted and answered from the process, never an error.
 */
import type { Config } from '../../config/schema.js';
import type { Logger } from '../log.js';
import { RateLimitedWarning } from '../log-rate-limit.js';
import type { Metrics } from '../metrics.js';
import { type CacheBackend, CacheBackendUnavailable } from './cache-backend.js';
import { CacheSecrets } from './cache-secrets.js';
import { MemoryBackend } from './memory-backend.js';
import { RedisBackend } from './redis-backend.js';

export type UpstreamTokenCacheSettings = Config['cache']['upstream_tokens'];

/** Entry layout: expiry (ms since epoch, 8 bytes) then the upstream's JSON body. */
const EXPIRY_BYTES = 8;

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
  ) {
    this.secrets = new CacheSecrets(settings.key);
    this.memory = new MemoryBackend(settings.max_entries);
    this.sharedErrors = new RateLimitedWarning(logger, 'redis cache error');
    const redis = settings.backend === 'redis' ? settings.redis : undefined;
    this.shared = redis
      ? new RedisBackend({
          url: redis.url,
          password: redis.password,
          keyPrefix: redis.key_prefix,
          timeoutMs: redis.timeout,
          secrets: this.secrets,
          onError: (error) => this.sharedErrors.warn({ error: error.message }),
        })
      : undefined;
  }

  /** The cache key for everything that determines the upstream's answer. */
  keyFor(material: string): string {
    return this.secrets.keyFor(material);
  }

  /** The kept upstream body, or undefined. */
  async get(key: string): Promise<Buffer | undefined> {
    const local = this.unpack(await this.memory.get(key));
    if (local) return local.body;
    const shared = this.unpack(await this.fromShared((backend) => backend.get(key)));
    if (!shared) return undefined;
    await this.memory.set(key, this.pack(shared.expiresAt, shared.body), shared.ttlMs);
    return shared.body;
  }

  /** Keeps `body` until `expSec` (the upstream token's exp) less the margin, within max_ttl. */
  async put(key: string, body: Buffer, expSec: number): Promise<boolean> {
    const now = this.now();
    const ttlMs = Math.min(
      expSec * 1000 - this.settings.expiry_margin - now,
      this.settings.max_ttl,
    );
    if (!(ttlMs > 0)) return false;
    const entry = this.pack(now + ttlMs, body);
    await this.memory.set(key, entry, ttlMs);
    await this.fromShared((backend) => backend.set(key, entry, ttlMs));
    return true;
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

  private pack(expiresAt: number, body: Buffer): Buffer {
    const entry = Buffer.allocUnsafe(EXPIRY_BYTES + body.length);
    entry.writeDoubleBE(expiresAt, 0);
    body.copy(entry, EXPIRY_BYTES);
    return entry;
  }

  /** Reads an entry; one past its expiry (a clock ahead of the writer's TTL) is a miss. */
  private unpack(
    entry: Buffer | undefined,
  ): { expiresAt: number; ttlMs: number; body: Buffer } | undefined {
    if (!entry || entry.length <= EXPIRY_BYTES) return undefined;
    const expiresAt = entry.readDoubleBE(0);
    const ttlMs = expiresAt - this.now();
    if (!(ttlMs > 0)) return undefined;
    return { expiresAt, ttlMs, body: entry.subarray(EXPIRY_BYTES) };
  }
}

/** A cache for the configuration, or undefined when no client rule opts in. */
export function upstreamTokenCacheFor(
  config: Config,
  metrics?: Metrics,
  logger?: Logger,
): UpstreamTokenCache | undefined {
  const settings = config.cache.upstream_tokens;
  if (!config.clients.some((rule) => rule.cache === true)) return undefined;
  if (settings.key === undefined) return undefined;
  return new UpstreamTokenCache({ ...settings, key: settings.key }, metrics, logger);
}
