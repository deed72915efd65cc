/**
 * One-time values every replica shares: one Redis key per value, set only if absent (`SET NX`)
 * and expiring when the value would be refused anyway. `SET NX` is atomic, so of two replicas
 * that receive the same proof at once exactly one sees its first use. Commands have a deadline and
 * are never queued while the connection is down: an absent Redis is an error at once (the caller
 * fails closed), not a held request.
 */
import { inSpan } from '../observability/tracing.js';
import {
  closeRedis,
  connectRedis,
  type RedisClient,
  type RedisConnectionOptions,
} from '../upstream/token-cache/redis-connection.js';

export interface SeenInRedisOptions extends RedisConnectionOptions {
  keyPrefix: string;
}

export class ReplayStoreUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReplayStoreUnavailable';
  }
}

export class SeenInRedis {
  private readonly client: RedisClient;

  constructor(readonly options: SeenInRedisOptions) {
    this.client = connectRedis(options);
  }

  /** True when no replica recorded `value` before (now recorded until `untilMs`). */
  async firstUse(value: string, untilMs: number): Promise<boolean> {
    // At least a millisecond: a value in its last instant is still recorded, never waved through.
    const ttlMs = Math.max(1, Math.ceil(untilMs - Date.now()));
    try {
      const answer = await inSpan('redis SET NX replay', () =>
        this.client.set(this.options.keyPrefix + value, '1', 'PX', ttlMs, 'NX'),
      );
      return answer === 'OK';
    } catch (error) {
      throw new ReplayStoreUnavailable(`redis SET NX failed: ${(error as Error).message}`);
    }
  }

  async close(): Promise<void> {
    closeRedis(this.client);
  }
}
