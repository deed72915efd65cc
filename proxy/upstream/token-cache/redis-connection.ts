/**
 * One Redis connection for state scopegate shares between replicas (the upstream token cache,
 * the revocation list): every command has a deadline, nothing queues while disconnected, and the
 * client keeps reconnecting in the background, at most every 2 s, for as long as the process
 * runs. Callers decide what a failed command means (a cache miss, or 503 for revocation).
 *
 * Redis is one server (`url`) or a primary found through Sentinel (`sentinel`). With Sentinel the
 * client asks the sentinels for the primary on every (re)connection, so after a failover the next
 * connection is to the new primary; meanwhile commands fail at once (no offline queue) and
 * callers answer as for any Redis outage.
 */
import { Redis, type RedisOptions } from 'ioredis';

/** A primary behind Sentinel, as `redis.sentinel` configures it. */
export interface RedisSentinelTarget {
  name: string;
  /** host:port of each sentinel. */
  nodes: readonly string[];
  /** The sentinels' own password, when they have one. */
  password?: string | undefined;
}

export interface RedisConnectionOptions {
  /** redis://, rediss:// or unix:///path: one server. Exactly one of url and sentinel. */
  url?: string | undefined;
  sentinel?: RedisSentinelTarget | undefined;
  timeoutMs: number;
  /** For a url without one (and the primary and replicas behind Sentinel). */
  password?: string | undefined;
  /** Called with each connection error (rate-limited by reconnect backoff). */
  onError?: ((error: Error) => void) | undefined;
  /**
   * Called each time the connection is ready again after it was lost; `switched` when the server
   * is another one than before (behind Sentinel: a new primary).
   */
  onReconnect?: ((switched: boolean) => void) | undefined;
}

/** `host:port`, `[v6]:port` (the schema checked the form). */
export function parseRedisNode(node: string): { host: string; port: number } {
  const colon = node.lastIndexOf(':');
  const host = node.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(node.slice(colon + 1)) };
}

function connectionOptions(options: RedisConnectionOptions): [string | undefined, RedisOptions] {
  const common: RedisOptions = {
    commandTimeout: options.timeoutMs,
    connectTimeout: Math.max(options.timeoutMs, 1000),
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: (attempt) => Math.min(100 * attempt, 2000),
    lazyConnect: false,
    ...(options.password === undefined ? {} : { password: options.password }),
  };
  if (options.sentinel !== undefined) {
    const sentinel = options.sentinel;
    return [
      undefined,
      {
        ...common,
        name: sentinel.name,
        sentinels: sentinel.nodes.map(parseRedisNode),
        ...(sentinel.password === undefined ? {} : { sentinelPassword: sentinel.password }),
        // A sentinel that does not answer is passed over as quickly as a command would fail.
        sentinelCommandTimeout: Math.max(options.timeoutMs, 1000),
        // After every sentinel failed, ask them again soon: the primary is what is missing.
        sentinelRetryStrategy: (attempt) => Math.min(100 * attempt, 2000),
        // Not ioredis's failoverDetector: its disconnect on +switch-master, arriving while the
        // client is between reconnection attempts, ended the client for good (status "end", every
        // command "Connection is closed") in about one failover in five under test. A dead
        // primary breaks the connection anyway; a demoted one answers writes with READONLY, and
        // that reconnects (reconnectOnError below), asking the sentinels again.
        reconnectOnError: (error) => error.message.startsWith('READONLY'),
        // Only the configured sentinels: the list a sentinel reports is not trusted to grow it.
        updateSentinels: false,
      },
    ];
  }
  const url = options.url ?? '';
  if (url.startsWith('unix:')) {
    return [undefined, { ...common, path: new URL(url).pathname }];
  }
  return [url, common];
}

/** Where the connection is: address and port of the server at the other end. */
function serverOf(client: Redis): string {
  const stream = client.stream as { remoteAddress?: string; remotePort?: number } | undefined;
  return `${stream?.remoteAddress ?? 'unix'}:${stream?.remotePort ?? ''}`;
}

/** Clients being closed by their owner: the only ones allowed to stay ended. */
const closing = new WeakSet<Redis>();

/** Closes a client from connectRedis for good. */
export function closeRedis(client: Redis): void {
  closing.add(client);
  client.disconnect(false);
}

export function connectRedis(options: RedisConnectionOptions): Redis {
  const [url, redisOptions] = connectionOptions(options);
  const client = url === undefined ? new Redis(redisOptions) : new Redis(url, redisOptions);
  client.on('error', (error: Error) => options.onError?.(error));
  // ioredis ends a client whose connector fails (rather than retrying): shared state must not
  // stay unreachable for the life of the process, so an end nobody asked for is a new start.
  client.on('end', () => {
    if (closing.has(client)) return;
    setTimeout(() => {
      if (!closing.has(client) && client.status === 'end') client.connect().catch(() => {});
    }, 1000).unref();
  });
  let server: string | undefined;
  client.on('ready', () => {
    const now = serverOf(client);
    if (server !== undefined) options.onReconnect?.(now !== server);
    server = now;
  });
  return client;
}

/** The part of a `redis` configuration section that says where Redis is and how to log in. */
export function redisTarget(redis: {
  url?: string | undefined;
  sentinel?: RedisSentinelTarget | undefined;
  password?: string | undefined;
}): Pick<RedisConnectionOptions, 'url' | 'sentinel' | 'password'> {
  return { url: redis.url, sentinel: redis.sentinel, password: redis.password };
}
