/**
 * The revoked tokens every replica shares: one Redis key per revocation reference, expiring with
 * the revoked token. Commands have a deadline and are never queued while the connection is down,
 * so an absent Redis is an error at once (the caller fails closed), not a held request.
 */
import type { Redis } from 'ioredis';
import {
  closeRedis,
  connectRedis,
  type RedisConnectionOptions,
} from '../upstream/token-cache/redis-connection.js';

/** Where Redis is (tokens.revocation.redis), and the prefix of the revocation keys. */
export interface RevokedInRedisOptions extends RedisConnectionOptions {
  keyPrefix: string;
}

export class RevocationStoreUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RevocationStoreUnavailable';
  }
}

export class RevokedInRedis {
  private readonly client: Redis;

  constructor(readonly options: RevokedInRedisOptions) {
    this.client = connectRedis(options);
  }

  async add(ref: string, expiresAtMs: number): Promise<void> {
    const ttlMs = Math.floor(expiresAtMs - Date.now());
    if (ttlMs <= 0) return;
    try {
      await this.client.set(this.options.keyPrefix + ref, '1', 'PX', ttlMs);
    } catch (error) {
      throw new RevocationStoreUnavailable(`redis SET failed: ${(error as Error).message}`);
    }
  }

  /** Whether any of the references is revoked. */
  async hasAny(refs: readonly string[]): Promise<boolean> {
    if (refs.length === 0) return false;
    try {
      const found = await this.client.exists(...refs.map((ref) => this.options.keyPrefix + ref));
      return found > 0;
    } catch (error) {
      throw new RevocationStoreUnavailable(`redis EXISTS failed: ${(error as Error).message}`);
    }
  }

  async close(): Promise<void> {
    closeRedis(this.client);
  }
}
