/**
 * Which of scopegate's own access tokens have been revoked (RFC 7009 at scopegate's revocation
 * endpoint), checked wherever scopegate accepts one of its tokens: userinfo, introspection,
 * token exchange, revocation itself.
 *
 * Each revocation reference (revocation-refs.ts) is remembered until the revoked token's `exp`.
 * The in-process list always answers first and survives configuration reloads; with
 * `tokens.revocation.store: redis` every revocation is also written to Redis and every check that
 * the process list does not answer asks Redis, so a token revoked at one replica is refused at
 * all of them.
 *
 * With `server.workers` above 1 and the in-process store, the list every worker checks after its
 * own is the primary process's (revoked-in-primary.ts): a token revoked at one worker is refused at
 * all of them.
 *
 * Fail closed: when Redis cannot be reached (or answers late) a check is `503
 * temporarily_unavailable`, never "not revoked", and so is a revocation that could not be
 * recorded (the client retries; RFC 7009 §2.2.1). A full in-process list refuses new revocations
 * the same way rather than forgetting earlier ones.
 */
import type { Config } from '../../config/schema.js';
import { unavailable } from '../http/oauth-error.js';
import type { Logger } from '../observability/log.js';
import { RateLimitedWarning } from '../observability/log-rate-limit.js';
import type { Metrics } from '../observability/metrics.js';
import { redisTarget } from '../upstream/token-cache/redis-connection.js';
import { countReconnects } from '../upstream/token-cache/redis-metrics.js';
import type { IpcChannel } from './ipc-channel.js';
import { RevocationListFull, RevokedInMemory } from './revoked-in-memory.js';
import { RevokedInPrimary } from './revoked-in-primary.js';
import { RevocationStoreUnavailable, RevokedInRedis } from './revoked-in-redis.js';

export type RevocationSettings = Config['tokens']['revocation'];

export class RevokedTokens {
  readonly memory: RevokedInMemory;
  readonly shared: RevokedInRedis | RevokedInPrimary | undefined;
  /** Failed Redis commands and connection errors: logged at most once per 10 s. */
  private readonly redisErrors: RateLimitedWarning;

  constructor(
    readonly settings: RevocationSettings,
    previous?: RevokedTokens,
    logger?: Logger,
    metrics?: Metrics,
    /** The primary process, when this is one of several workers. */
    primary?: IpcChannel,
  ) {
    this.memory = previous?.memory ?? new RevokedInMemory(settings.max_entries);
    this.memory.resize(settings.max_entries);
    const redis = settings.store === 'redis' ? settings.redis : undefined;
    this.redisErrors = new RateLimitedWarning(
      logger,
      redis || !primary ? 'redis revocation error' : 'primary revocation error',
    );
    const sameRedis =
      redis !== undefined &&
      previous?.shared instanceof RevokedInRedis &&
      JSON.stringify(previous.settings.redis) === JSON.stringify(redis);
    this.shared = sameRedis
      ? previous?.shared
      : redis === undefined
        ? primary && new RevokedInPrimary(primary)
        : new RevokedInRedis({
            ...redisTarget(redis),
            keyPrefix: redis.key_prefix,
            timeoutMs: redis.timeout,
            onError: (error) => this.redisErrors.warn({ error: error.message }),
            onReconnect: countReconnects(metrics, 'revocation'),
          });
  }

  /** Remembers `ref` revoked until `expSec` (the revoked token's exp). */
  async revoke(ref: string, expSec: number): Promise<void> {
    const expiresAtMs = expSec * 1000;
    try {
      this.memory.add(ref, expiresAtMs);
      await this.shared?.add(ref, expiresAtMs);
    } catch (error) {
      if (error instanceof RevocationListFull) {
        throw unavailable('the revocation list is full: try again later', 503);
      }
      if (error instanceof RevocationStoreUnavailable) {
        this.redisErrors.warn({ error: error.message });
        throw unavailable('the revocation could not be recorded: try again later', 503);
      }
      throw error;
    }
  }

  /** Whether any of `refs` was revoked; 503 when that cannot be known. */
  async anyRevoked(refs: readonly string[]): Promise<boolean> {
    if (refs.some((ref) => this.memory.has(ref))) return true;
    if (this.shared === undefined) return false;
    try {
      return await this.shared.hasAny(refs);
    } catch (error) {
      if (error instanceof RevocationStoreUnavailable) {
        this.redisErrors.warn({ error: error.message });
        throw unavailable('the revocation state cannot be read: try again later', 503);
      }
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.shared?.close();
  }
}
