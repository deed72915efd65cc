/**
 * Pushed requests, authorizations under way and code bindings every replica shares: one Redis
 * key per entry, expiring at its deadline, read and removed in one atomic `GETDEL`, so of two
 * replicas that are handed the same request_uri or code at once exactly one gets the record.
 * Commands have a deadline and are never queued while the connection is down (the caller fails
 * closed).
 */
import { inSpan } from '../observability/tracing.js';
import {
  closeRedis,
  connectRedis,
  type RedisClient,
  type RedisConnectionOptions,
} from '../upstream/token-cache/redis-connection.js';

export interface RecordsInRedisOptions extends RedisConnectionOptions {
  keyPrefix: string;
}

export class AuthorizationStoreUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthorizationStoreUnavailable';
  }
}

export class RecordsInRedis {
  private readonly client: RedisClient;

  constructor(readonly options: RecordsInRedisOptions) {
    this.client = connectRedis(options);
  }

  async put(key: string, value: string, untilMs: number): Promise<void> {
    const ttlMs = Math.max(1, Math.ceil(untilMs - Date.now()));
    try {
      await inSpan('redis SET authorization', () =>
        this.client.set(this.options.keyPrefix + key, value, 'PX', ttlMs),
      );
    } catch (error) {
      throw new AuthorizationStoreUnavailable(`redis SET failed: ${(error as Error).message}`);
    }
  }

  async get(key: string): Promise<string | undefined> {
    try {
      const value = await inSpan('redis GET authorization', () =>
        this.client.get(this.options.keyPrefix + key),
      );
      return value ?? undefined;
    } catch (error) {
      throw new AuthorizationStoreUnavailable(`redis GET failed: ${(error as Error).message}`);
    }
  }

  async take(key: string): Promise<string | undefined> {
    try {
      const value = await inSpan('redis GETDEL authorization', () =>
        this.client.getdel(this.options.keyPrefix + key),
      );
      return value ?? undefined;
    } catch (error) {
      throw new AuthorizationStoreUnavailable(`redis GETDEL failed: ${(error as Error).message}`);
    }
  }

  async close(): Promise<void> {
    closeRedis(this.client);
  }
}
