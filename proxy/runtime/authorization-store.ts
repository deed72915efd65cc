/**
 * What scopegate keeps between the steps of an authorization code flow it holds a client to a
 * profile in (proxy/endpoints/par/, proxy/relay/profile-response.ts,
 * proxy/endpoints/token/profile-step.ts):
 *
 * - `pushed`: a pushed authorization request, under its request_uri, until it expires;
 * - `pending`: an authorization under way at the upstream, under the state scopegate sent it,
 *   until the user has had time to log in;
 * - `code`: the binding of an authorization code the upstream issued (client, redirect_uri, PKCE
 *   challenge, DPoP key), until the code is too old to redeem.
 *
 * Every entry is handed out once (`take`): a request_uri, a state or a code used a second time
 * finds nothing. Keys are SHA-256 digests of the values, so neither the process nor Redis holds
 * a usable request_uri or code.
 *
 * With `server.workers` above 1 and `store: memory`, the records are held by the primary process
 * (authorization-in-primary.ts), so every worker sees every flow.
 *
 * Fail closed: when Redis (or the primary) cannot be reached (or answers late), or the in-process store is full,
 * the request is `503 temporarily_unavailable`.
 */
import { createHash } from 'node:crypto';
import type { Config } from '../../config/schema.js';
import { unavailable } from '../http/oauth-error.js';
import type { Logger } from '../observability/log.js';
import { RateLimitedWarning } from '../observability/log-rate-limit.js';
import type { Metrics } from '../observability/metrics.js';
import { redisTarget } from '../upstream/token-cache/redis-connection.js';
import { countReconnects } from '../upstream/token-cache/redis-metrics.js';
import { AuthorizationStoreFull, RecordsInMemory } from './authorization-in-memory.js';
import { RecordsInPrimary } from './authorization-in-primary.js';
import { AuthorizationStoreUnavailable, RecordsInRedis } from './authorization-in-redis.js';
import type { IpcChannel } from './ipc-channel.js';

export type PushedAuthorizationSettings = Config['pushed_authorization'];

/** What binds a code, and what every step of the flow carries towards that binding. */
export interface FlowBinding {
  clientId: string;
  redirectUri: string;
  /** The PKCE S256 challenge. */
  codeChallenge: string;
  /** The DPoP key thumbprint the client named at PAR (RFC 9449 §10), when it named one. */
  dpopJkt?: string;
}

export interface PushedRequest extends FlowBinding {
  /** The authorization parameters, in order, without client authentication. */
  params: [string, string][];
}

export interface PendingAuthorization extends FlowBinding {
  /** The client's own state, given back in the response (absent: none was sent). */
  clientState?: string;
  /** The authorization parameters the upstream was sent (state: scopegate's). */
  upstreamParams: [string, string][];
}

export interface CodeBinding extends FlowBinding {
  /** When scopegate saw the code pass, ms since the epoch. */
  seenAt: number;
}

interface Records {
  pushed: PushedRequest;
  pending: PendingAuthorization;
  code: CodeBinding;
}

export type RecordKind = keyof Records;

const isText = (value: unknown): value is string => typeof value === 'string';

/** A record read back is checked for its shape: anything else counts as absent. */
function isFlowBinding(value: unknown): value is FlowBinding {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return (
    isText(record.clientId) &&
    isText(record.redirectUri) &&
    isText(record.codeChallenge) &&
    (record.dpopJkt === undefined || isText(record.dpopJkt))
  );
}

const isPairs = (value: unknown): value is [string, string][] =>
  Array.isArray(value) &&
  value.every((pair) => Array.isArray(pair) && pair.length === 2 && pair.every(isText));

const SHAPES: { [K in RecordKind]: (value: unknown) => value is Records[K] } = {
  pushed: (value): value is PushedRequest =>
    isFlowBinding(value) && isPairs((value as PushedRequest).params),
  pending: (value): value is PendingAuthorization =>
    isFlowBinding(value) &&
    isPairs((value as PendingAuthorization).upstreamParams) &&
    ((value as PendingAuthorization).clientState === undefined ||
      isText((value as PendingAuthorization).clientState)),
  code: (value): value is CodeBinding =>
    isFlowBinding(value) && typeof (value as CodeBinding).seenAt === 'number',
};

const digest = (kind: RecordKind, value: string) =>
  `${kind}:${createHash('sha256').update(value).digest('base64url')}`;

export class AuthorizationStore {
  readonly memory: RecordsInMemory;
  /** Redis, or with several workers and the in-process kind, the primary process. */
  readonly shared: RecordsInRedis | RecordsInPrimary | undefined;
  private readonly redisErrors: RateLimitedWarning;

  constructor(
    readonly settings: PushedAuthorizationSettings,
    previous?: AuthorizationStore,
    logger?: Logger,
    metrics?: Metrics,
    /** The primary process, when this is one of several workers. */
    primary?: IpcChannel,
  ) {
    this.memory = previous?.memory ?? new RecordsInMemory(settings.max_entries);
    this.memory.resize(settings.max_entries);
    this.redisErrors = new RateLimitedWarning(logger, 'redis authorization-store error');
    const redis = settings.store === 'redis' ? settings.redis : undefined;
    const sameRedis =
      redis !== undefined &&
      previous?.shared instanceof RecordsInRedis &&
      JSON.stringify(previous.settings.redis) === JSON.stringify(redis);
    this.shared = sameRedis
      ? previous?.shared
      : redis === undefined
        ? primary && new RecordsInPrimary(primary)
        : new RecordsInRedis({
            ...redisTarget(redis),
            keyPrefix: redis.key_prefix,
            timeoutMs: redis.timeout,
            onError: (error) => this.redisErrors.warn({ error: error.message }),
            onReconnect: countReconnects(metrics, 'authorization'),
          });
  }

  /** Keeps `record` under `value` (a request_uri, a state, a code) until `untilMs`. */
  async put<K extends RecordKind>(
    kind: K,
    value: string,
    record: Records[K],
    untilMs: number,
  ): Promise<void> {
    const key = digest(kind, value);
    const text = JSON.stringify(record);
    try {
      if (this.shared !== undefined) await this.shared.put(key, text, untilMs);
      else this.memory.put(key, text, untilMs);
    } catch (error) {
      throw this.failure(error);
    }
  }

  /** The record under `value`, handed out once; undefined when unknown, used or expired. */
  take<K extends RecordKind>(kind: K, value: string): Promise<Records[K] | undefined> {
    return this.read(kind, value, true);
  }

  /** The record under `value`, left in place (an authorization under way, resumed). */
  peek<K extends RecordKind>(kind: K, value: string): Promise<Records[K] | undefined> {
    return this.read(kind, value, false);
  }

  private async read<K extends RecordKind>(
    kind: K,
    value: string,
    once: boolean,
  ): Promise<Records[K] | undefined> {
    const key = digest(kind, value);
    let text: string | undefined;
    try {
      if (this.shared !== undefined) {
        text = once ? await this.shared.take(key) : await this.shared.get(key);
      } else {
        text = once ? this.memory.take(key) : this.memory.get(key);
      }
    } catch (error) {
      throw this.failure(error);
    }
    if (text === undefined) return undefined;
    try {
      const record: unknown = JSON.parse(text);
      return SHAPES[kind](record) ? record : undefined;
    } catch {
      return undefined;
    }
  }

  private failure(error: unknown): unknown {
    if (error instanceof AuthorizationStoreFull) {
      return unavailable('too many authorizations are under way: try again later', 503);
    }
    if (error instanceof AuthorizationStoreUnavailable) {
      this.redisErrors.warn({ error: error.message });
      return unavailable('the authorization store cannot be reached: try again later', 503);
    }
    return error;
  }

  async close(): Promise<void> {
    await this.shared?.close();
  }
}
