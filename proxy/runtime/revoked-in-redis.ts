/**
 * The revoked tokens every replica shares: one Redis key per revocation reference, expiring with
 * the revoked token. Commands have a deadline and are never queued while the connection is down,
 * so an absent Redis is an error at once (the caller fails closed), not a held request.
 *
 * A check asks one key per reference (one EXISTS each, sent together), not one EXISTS naming them
 * all: on a Redis Cluster the references' keys hash to different slots, and a multi-key command
 * across slots is refused (CROSSSLOT). A hash tag in the prefix would put them in one slot, but it
 * would also put the whole list on one node, and changing the default prefix would lose every
 * revocation recorded under the old keys on upgrade (revoked tokens accepted again). Per-key
 * commands work with any prefix, on one server and on a cluster alike; a check names few keys.
 */
import { inSpan } from '../observability/tracing.js';
import {
  closeRedis,
  connectRedis,
  type RedisClient,
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
  private readonly client: RedisClient;

  constructor(readonly options: RevokedInRedisOptions) {
    this.client = connectRedis(options);
  }

  async add(ref: string, expiresAtMs: number): Promise<void> {
    const ttlMs = Math.floor(expiresAtMs - Date.now());
    if (ttlMs <= 0) return;
    try {
      await inSpan('redis SET revocation', () =>
        this.client.set(this.options.keyPrefix + ref, '1', 'PX', ttlMs),
      );
    } catch (error) {
      throw new RevocationStoreUnavailable(`redis SET failed: ${(error as Error).message}`);
    }
  }

  /** Whether any of the references is revoked. */
  async hasAny(refs: readonly string[]): Promise<boolean> {
    if (refs.length === 0) return false;
    try {
      // Every answer is awaited: one failed command is "cannot be known", never "not revoked".
      const found = await inSpan('redis EXISTS revocation', () =>
        Promise.all(refs.map((ref) => this.client.exists(this.options.keyPrefix + ref))),
      );
      return found.some((count) => count > 0);
    } catch (error) {
      throw new RevocationStoreUnavailable(`redis EXISTS failed: ${(error as Error).message}`);
    }
  }

  async close(): Promise<void> {
    closeRedis(this.client);
  }
}
