/**
 * Where quota counters live: in process, or in Redis shared by every replica
 * (`upstream.quota.store: redis`), both through rate-limiter-flexible. Against Redis every
 * limiter has an in-process twin (its insurance limiter) that counts while Redis fails or is not
 * connected: the replica then holds the limits alone instead of either letting everything through
 * or refusing everything.
 *
 * In process with several workers (`server.workers`), the counters live in the primary process
 * (rate-limiter-flexible's RateLimiterCluster, answered by the RateLimiterClusterMaster the primary
 * runs), so the limits hold for the pod, not per worker. A primary that does not answer in time is
 * a refusal (the quota fails closed).
 */
import {
  BurstyRateLimiter,
  RateLimiterCluster,
  RateLimiterMemory,
  RateLimiterRedis,
  type RateLimiterRes,
} from 'rate-limiter-flexible';
import type { QuotaRate, UpstreamQuotaConfig } from '../../../config/schema.js';
import type { Logger } from '../../observability/log.js';
import { RateLimitedWarning } from '../../observability/log-rate-limit.js';
import {
  closeRedis,
  connectRedis,
  type RedisClient,
  redisTarget,
} from '../token-cache/redis-connection.js';

/** What the quota needs of a rate limiter: the library's consume (resolves: allowed). */
export interface RateLimiter {
  consume(key: string, points?: number): Promise<RateLimiterRes>;
}

/** A limiter whose keys are blocked for a time (`block`) and read back (`get`). */
export type PauseLimiter = RateLimiterMemory | RateLimiterRedis | RateLimiterCluster;

/** How long a worker waits for the primary's counters before it refuses the call. */
const CLUSTER_TIMEOUT_MS = 1000;

/** The burst reserve refills once every this many rate windows. */
export const BURST_WINDOWS = 10;

interface LimiterSpec {
  points: number;
  /** Seconds. */
  duration: number;
  keyPrefix: string;
}

export class QuotaStore {
  /** One server, Sentinel or Cluster (the limiters' scripts touch one key each; tested on one server). */
  private readonly redis: RedisClient | undefined;
  private readonly prefix: string;

  constructor(
    settings: UpstreamQuotaConfig | undefined,
    logger?: Logger,
    /** This process is one of several workers: in-process counters live in the primary. */
    private readonly inWorker = false,
  ) {
    const redis = settings?.store === 'redis' ? settings.redis : undefined;
    this.prefix = redis?.key_prefix ?? '';
    if (redis !== undefined) {
      const warning = new RateLimitedWarning(logger, 'redis quota error');
      this.redis = connectRedis({
        ...redisTarget(redis),
        timeoutMs: redis.timeout,
        onError: (error) => warning.warn({ error: error.message }),
      });
    }
  }

  get shared(): boolean {
    return this.redis !== undefined;
  }

  private limiter(spec: LimiterSpec): PauseLimiter {
    const options = { ...spec, keyPrefix: `${this.prefix}${spec.keyPrefix}` };
    if (this.redis === undefined && this.inWorker) {
      // The primary keeps the first limiter made under a prefix: the limits are part of it, so a
      // reload that changes them counts afresh instead of under the old limits.
      return new RateLimiterCluster({
        ...options,
        keyPrefix: `${options.keyPrefix}@${spec.points}/${spec.duration}`,
        timeoutMs: CLUSTER_TIMEOUT_MS,
      });
    }
    if (this.redis === undefined) return new RateLimiterMemory(options);
    return new RateLimiterRedis({
      ...options,
      storeClient: this.redis,
      // Not connected: count in process at once rather than wait for a command to fail.
      rejectIfRedisNotReady: true,
      insuranceLimiter: new RateLimiterMemory(options),
    });
  }

  /** `rate` calls per window, plus `burst` more from a reserve refilled every BURST_WINDOWS. */
  rateLimiter(name: string, rate: QuotaRate, burst: number): RateLimiter {
    const base = this.limiter({ points: rate.calls, duration: rate.seconds, keyPrefix: name });
    if (burst === 0) return base;
    const reserve = this.limiter({
      points: burst,
      duration: rate.seconds * BURST_WINDOWS,
      keyPrefix: `${name}:burst`,
    });
    return new BurstyRateLimiter(base, reserve);
  }

  /** Pauses: a key blocked for a time (`block`) is paused until the block ends. */
  pauseLimiter(): PauseLimiter {
    return this.limiter({ points: 1, duration: 1, keyPrefix: 'pause' });
  }

  close(): void {
    if (this.redis !== undefined) closeRedis(this.redis);
  }
}
