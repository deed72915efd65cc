/**
 * Where upstream token answers are kept. Every backend is bounded and expires entries itself;
 * a backend that cannot answer throws CacheBackendUnavailable, and the cache falls back.
 */
export interface CacheBackend {
  readonly name: 'memory' | 'redis' | 'primary';
  get(key: string): Promise<Buffer | undefined>;
  set(key: string, value: Buffer, ttlMs: number): Promise<void>;
  /**
   * This process fetched `key` (its miss held the lease) and keeps nothing: whoever waits for that
   * answer stops waiting. Only backends with a cross-process single-flight have it.
   */
  release?(key: string): Promise<void>;
  close(): Promise<void>;
}

export class CacheBackendUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CacheBackendUnavailable';
  }
}
