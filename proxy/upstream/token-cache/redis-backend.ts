/**
 * The shared backend: one Redis for every replica. Entries are sealed (AES-256-GCM, see
 * cache-secrets.ts) before they leave the process and carry a TTL in Redis. Commands have a
 * deadline and are never queued while the connection is down: a slow or absent Redis makes the
 * cache fall back to the in-process backend at once instead of holding token requests.
 *
 * Every command names one key (GET, SET), so the backend works unchanged on a Redis Cluster: each
 * entry lives on the node that serves its key's slot.
 */
import { inSpan } from '../../observability/tracing.js';
import { type CacheBackend, CacheBackendUnavailable } from './cache-backend.js';
import type { CacheSecrets } from './cache-secrets.js';
import {
  closeRedis,
  connectRedis,
  type RedisClient,
  type RedisConnectionOptions,
} from './redis-connection.js';

/** Where Redis is (cache.upstream_tokens.redis), and what the entries are sealed with. */
export interface RedisBackendOptions extends RedisConnectionOptions {
  keyPrefix: string;
  secrets: CacheSecrets;
}

export class RedisBackend implements CacheBackend {
  readonly name = 'redis';
  private readonly client: RedisClient;

  constructor(private readonly options: RedisBackendOptions) {
    this.client = connectRedis(options);
  }

  private redisKey(key: string): string {
    return this.options.keyPrefix + key;
  }

  async get(key: string): Promise<Buffer | undefined> {
    let sealed: Buffer | null;
    try {
      sealed = await inSpan('redis GET token_cache', () =>
        this.client.getBuffer(this.redisKey(key)),
      );
    } catch (error) {
      throw new CacheBackendUnavailable(`redis GET failed: ${(error as Error).message}`);
    }
    if (sealed === null) return undefined;
    // An entry that does not open (other secret, tampered) is a miss, not an answer.
    return this.options.secrets.open(key, sealed);
  }

  async set(key: string, value: Buffer, ttlMs: number): Promise<void> {
    const sealed = this.options.secrets.seal(key, value);
    try {
      await inSpan('redis SET token_cache', () =>
        this.client.set(this.redisKey(key), sealed, 'PX', Math.max(1, Math.floor(ttlMs))),
      );
    } catch (error) {
      throw new CacheBackendUnavailable(`redis SET failed: ${(error as Error).message}`);
    }
  }

  async close(): Promise<void> {
    closeRedis(this.client);
  }
}
