/**
 * One Redis connection for state scopegate shares between replicas (the upstream token cache,
 * the revocation list): every command has a deadline, nothing queues while disconnected, and the
 * client keeps reconnecting in the background, at most every 2 s, for as long as the process
 * runs. Callers decide what a failed command means (a cache miss, or 503 for revocation).
 *
 * Redis is one server (`url`), a primary found through Sentinel (`sentinel`) or a Redis Cluster
 * (`cluster`). With Sentinel the client asks the sentinels for the primary on every
 * (re)connection, so after a failover the next connection is to the new primary; meanwhile
 * commands fail at once (no offline queue) and callers answer as for any Redis outage. A cluster
 * client learns the slot map from the seed nodes and follows it (MOVED, a refresh every 2 s): after
 * a failover the promoted replica serves the slots of the lost primary; until then commands for
 * those slots fail at once, and the other slots keep working.
 */
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';

/** What connectRedis returns: one server (also behind Sentinel) or a cluster. */
export type RedisClient = Redis | Cluster;

/** A Redis Cluster, as `redis.cluster` configures it. */
export interface RedisClusterTarget {
  /** host:port of seed nodes: the client asks them for the slot map. */
  nodes: readonly string[];
  /** The nodes' password (AUTH), when they have one. */
  password?: string | undefined;
}

/** A primary behind Sentinel, as `redis.sentinel` configures it. */
export interface RedisSentinelTarget {
  name: string;
  /** host:port of each sentinel. */
  nodes: readonly string[];
  /** The sentinels' own password, when they have one. */
  password?: string | undefined;
}

export interface RedisConnectionOptions {
  /** redis://, rediss:// or unix:///path: one server. Exactly one of url, sentinel and cluster. */
  url?: string | undefined;
  sentinel?: RedisSentinelTarget | undefined;
  cluster?: RedisClusterTarget | undefined;
  timeoutMs: number;
  /** For a url without one, the primary and replicas behind Sentinel, a cluster's nodes. */
  password?: string | undefined;
  /** Called with each connection error (rate-limited by reconnect backoff). */
  onError?: ((error: Error) => void) | undefined;
  /**
   * Called each time the connection is ready again after it was lost; `switched` when the server
   * is another one than before (behind Sentinel: a new primary). In a cluster: once for each node
   * connection ready again after it was lost, and `switched` once for each node that newly serves
   * slots as a primary (a promoted replica after a failover, or a node added by resharding).
   */
  onReconnect?: ((switched: boolean) => void) | undefined;
}

/** `host:port`, `[v6]:port` (the schema checked the form). */
export function parseRedisNode(node: string): { host: string; port: number } {
  const colon = node.lastIndexOf(':');
  const host = node.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(node.slice(colon + 1)) };
}

/** The deadlines of every connection to one Redis server. */
function deadlines(options: RedisConnectionOptions): RedisOptions {
  return {
    commandTimeout: options.timeoutMs,
    connectTimeout: Math.max(options.timeoutMs, 1000),
    maxRetriesPerRequest: 0,
  };
}

function connectionOptions(options: RedisConnectionOptions): [string | undefined, RedisOptions] {
  const common: RedisOptions = {
    ...deadlines(options),
    enableOfflineQueue: false,
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

/** A cluster client with the same deadlines as a connection to one server. */
function clusterOptions(
  options: RedisConnectionOptions,
  cluster: RedisClusterTarget,
): ClusterOptions {
  const password = cluster.password ?? options.password;
  return {
    // Each node connection: the command deadline, no retry of a command. Neither retryStrategy
    // (a lost node connection ends, and the node is connected again when the slot map names it)
    // nor enableOfflineQueue (a node's first command connects it) are set per node.
    redisOptions: { ...deadlines(options), ...(password === undefined ? {} : { password }) },
    // Nothing queues while the cluster or a node is down: the command fails at once.
    enableOfflineQueue: false,
    // Reconnect to the seed nodes for as long as the process runs, at most every 2 s.
    clusterRetryStrategy: (attempt) => Math.min(100 * attempt, 2000),
    // A command whose node is lost or whose slots are down fails at once rather than being
    // retried behind the caller's back: the deadline is the caller's answer time.
    retryDelayOnFailover: 0,
    retryDelayOnClusterDown: 0,
    // MOVED is followed at once (after a failover, once or twice); more is a cluster in trouble.
    maxRedirections: 5,
    // The slot map is asked again every 2 s, so a promotion is seen without waiting for a MOVED.
    slotsRefreshInterval: 2000,
    slotsRefreshTimeout: Math.max(options.timeoutMs, 1000),
    scaleReads: 'master',
  };
}

/** Where the connection is: address and port of the server at the other end. */
function serverOf(client: Redis): string {
  const stream = client.stream as { remoteAddress?: string; remotePort?: number } | undefined;
  return `${stream?.remoteAddress ?? 'unix'}:${stream?.remotePort ?? ''}`;
}

/** Clients being closed by their owner: the only ones allowed to stay ended. */
const closing = new WeakSet<RedisClient>();

/** Closes a client from connectRedis for good. */
export function closeRedis(client: RedisClient): void {
  closing.add(client);
  client.disconnect(false);
}

/** `host:port` of a node connection of a cluster, as the slot map names it. */
function nodeKeyOf(node: Redis): string {
  return `${node.options.host}:${node.options.port}`;
}

/**
 * Reports a cluster's node connections ready again after they were lost, and nodes that newly
 * serve slots as primaries (seen on each refresh of the slot map).
 */
function watchCluster(client: Cluster, options: RedisConnectionOptions): void {
  const onReconnect = options.onReconnect;
  if (onReconnect === undefined) return;
  // Node connections that were ready once: ready again (same or new connection) is a reconnect.
  const wasReady = new Set<string>();
  client.on('+node', (node: Redis) => {
    node.on('ready', () => {
      const key = nodeKeyOf(node);
      if (wasReady.has(key)) onReconnect(false);
      wasReady.add(key);
    });
  });
  let primaries: Set<string> | undefined;
  client.on('refresh', () => {
    const now = new Set(client.nodes('master').map(nodeKeyOf));
    if (primaries !== undefined) {
      for (const key of now) if (!primaries.has(key)) onReconnect(true);
    }
    primaries = now;
  });
}

export function connectRedis(options: RedisConnectionOptions): RedisClient {
  let client: RedisClient;
  if (options.cluster !== undefined) {
    const cluster = new Cluster(
      options.cluster.nodes.map(parseRedisNode),
      clusterOptions(options, options.cluster),
    );
    watchCluster(cluster, options);
    // Primaries are connected as soon as the cluster is ready and the slot map names them.
    // ioredis opens a node's connection on its first command, and without an offline queue the
    // commands sent while that connection opens fail: the several EXISTS of one revocation check
    // would be 503. Not before ready: the ready check itself would meet a connection opening.
    const connectPrimaries = () => {
      if (cluster.status !== 'ready') return;
      for (const node of cluster.nodes('master')) {
        if (node.status === 'wait') node.connect().catch(() => {});
      }
    };
    cluster.on('ready', connectPrimaries);
    cluster.on('refresh', connectPrimaries);
    // A node's own errors (refused connection, timeout) are the cluster's errors too.
    cluster.on('node error', (error: Error) => options.onError?.(error));
    client = cluster;
  } else {
    const [url, redisOptions] = connectionOptions(options);
    const single = url === undefined ? new Redis(redisOptions) : new Redis(url, redisOptions);
    watchServer(single, options);
    client = single;
  }
  client.on('error', (error: Error) => options.onError?.(error));
  // ioredis ends a client whose connector fails (rather than retrying): shared state must not
  // stay unreachable for the life of the process, so an end nobody asked for is a new start.
  client.on('end', () => {
    if (closing.has(client)) return;
    setTimeout(() => {
      if (!closing.has(client) && client.status === 'end') client.connect().catch(() => {});
    }, 1000).unref();
  });
  return client;
}

/** Reports each time a connection to one server is ready again, and whether to another server. */
function watchServer(client: Redis, options: RedisConnectionOptions): void {
  let server: string | undefined;
  client.on('ready', () => {
    const now = serverOf(client);
    if (server !== undefined) options.onReconnect?.(now !== server);
    server = now;
  });
}

/** The part of a `redis` configuration section that says where Redis is and how to log in. */
export function redisTarget(redis: {
  url?: string | undefined;
  sentinel?: RedisSentinelTarget | undefined;
  cluster?: RedisClusterTarget | undefined;
  password?: string | undefined;
}): Pick<RedisConnectionOptions, 'url' | 'sentinel' | 'cluster' | 'password'> {
  return {
    url: redis.url,
    sentinel: redis.sentinel,
    cluster: redis.cluster,
    password: redis.password,
  };
}
