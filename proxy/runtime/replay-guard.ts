/**
 * Values that may be used once: the `jti` of a DPoP proof (RFC 9449 §11.1) and of a client
 * assertion (RFC 7523 §3, item 7). Each is remembered until the moment after which it would be
 * refused anyway (the end of its acceptance window), so the list stays as small as the traffic of
 * one window.
 *
 * The in-process list always answers first and survives configuration reloads; with
 * `tokens.replay.store: redis` every first use is also claimed in Redis with `SET NX`, so a value
 * used at one replica is refused at all of them. Each kind of value has its own namespace
 * (`dpop:`, `assertion:`): a proof's `jti` never collides with an assertion's.
 *
 * With `server.workers` above 1 and the in-process store, the first use is claimed at the primary
 * process (replay-in-primary.ts) the same way: a value seen at one worker is refused at the others.
 *
 * Fail closed: when Redis cannot be reached (or answers late), or the in-process list is full, the
 * request is `503 temporarily_unavailable`, never "first use".
 */
import type { Config } from '../../config/schema.js';
import { unavailable } from '../http/oauth-error.js';
import type { Logger } from '../observability/log.js';
import { RateLimitedWarning } from '../observability/log-rate-limit.js';
import type { Metrics } from '../observability/metrics.js';
import { redisTarget } from '../upstream/token-cache/redis-connection.js';
import { countReconnects } from '../upstream/token-cache/redis-metrics.js';
import type { IpcChannel } from './ipc-channel.js';
import { ReplayListFull, SeenInMemory } from './replay-in-memory.js';
import { SeenInPrimary } from './replay-in-primary.js';
import { ReplayStoreUnavailable, SeenInRedis } from './replay-in-redis.js';

export type ReplaySettings = Config['tokens']['replay'];

/** The namespaces of one-time values. */
export type ReplayKind = 'dpop' | 'assertion';

export class ReplayGuard {
  readonly memory: SeenInMemory;
  readonly shared: SeenInRedis | SeenInPrimary | undefined;
  private readonly redisErrors: RateLimitedWarning;

  constructor(
    readonly settings: ReplaySettings,
    previous?: ReplayGuard,
    logger?: Logger,
    metrics?: Metrics,
    /** The primary process, when this is one of several workers. */
    primary?: IpcChannel,
  ) {
    this.memory = previous?.memory ?? new SeenInMemory(settings.max_entries);
    this.memory.resize(settings.max_entries);
    const redis = settings.store === 'redis' ? settings.redis : undefined;
    this.redisErrors = new RateLimitedWarning(
      logger,
      redis || !primary ? 'redis replay-guard error' : 'primary replay-guard error',
    );
    const sameRedis =
      redis !== undefined &&
      previous?.shared instanceof SeenInRedis &&
      JSON.stringify(previous.settings.redis) === JSON.stringify(redis);
    this.shared = sameRedis
      ? previous?.shared
      : redis === undefined
        ? primary && new SeenInPrimary(primary)
        : new SeenInRedis({
            ...redisTarget(redis),
            keyPrefix: redis.key_prefix,
            timeoutMs: redis.timeout,
            onError: (error) => this.redisErrors.warn({ error: error.message }),
            onReconnect: countReconnects(metrics, 'replay'),
          });
  }

  /**
   * True the first time `value` of `kind` is presented within its window (until `untilMs`), false
   * for a replay; 503 when that cannot be known.
   */
  async firstUse(kind: ReplayKind, value: string, untilMs: number): Promise<boolean> {
    const key = `${kind}:${value}`;
    try {
      if (this.memory.has(key)) return false;
      // The shared store first: when it is unreachable nothing is recorded locally, so a retry is judged anew.
      if (this.shared !== undefined && !(await this.shared.firstUse(key, untilMs))) {
        this.memory.firstUse(key, untilMs);
        return false;
      }
      return this.memory.firstUse(key, untilMs);
    } catch (error) {
      if (error instanceof ReplayListFull) {
        throw unavailable('too many one-time values are remembered: try again later', 503);
      }
      if (error instanceof ReplayStoreUnavailable) {
        this.redisErrors.warn({ error: error.message });
        throw unavailable('the replay check cannot be made: try again later', 503);
      }
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.shared?.close();
  }
}
