/**
 * One Redis connection for state scopegate shares between replicas (the upstream token cache,
 * the revocation list): every command has a deadline, nothing queues while disconnected, and the
 * client keeps reconnecting in the background, at most every 2 s, for as long as the process
 * runs. Callers decide what a failed command means (a cache miss, or 503 for revocation).
 */
import { Redis, type RedisOptions } from 'ioredis';

export interface RedisConnectionOptions {
  /** redis://, rediss:// or unix:///path. */
  url: string;
  timeoutMs: number;
  /** For a url without one. */
  password?: string | undefined;
  /** Called with each connection error (rate-limited by reconnect backoff). */
  onError?: ((error: Error) => void) | undefined;
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
  if (options.url.startsWith('unix:')) {
    return [undefined, { ...common, path: new URL(options.url).pathname }];
  }
  return [options.url, common];
}

export function connectRedis(options: RedisConnectionOptions): Redis {
  const [url, redisOptions] = connectionOptions(options);
  const client = url === undefined ? new Redis(redisOptions) : new Redis(url, redisOptions);
  client.on('error', (error: Error) => options.onError?.(error));
  return client;
}
