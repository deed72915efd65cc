/**
 * The in-process backend: an LRU bounded by entry count and by bytes, each entry with its own
 * TTL. It is also the fallback whenever the shared backend cannot answer.
 */
import { LRUCache } from 'lru-cache';
import type { CacheBackend } from './cache-backend.js';

/** Average budget per entry: a token answer is a few KiB at most. */
const BYTES_PER_ENTRY = 8 * 1024;
/** An answer larger than this is not kept at all. */
const MAX_ENTRY_BYTES = 64 * 1024;

export class MemoryBackend implements CacheBackend {
  readonly name = 'memory';
  private readonly entries: LRUCache<string, Buffer>;

  constructor(maxEntries: number) {
    this.entries = new LRUCache<string, Buffer>({
      max: maxEntries,
      maxSize: Math.max(maxEntries * BYTES_PER_ENTRY, MAX_ENTRY_BYTES),
      maxEntrySize: MAX_ENTRY_BYTES,
      sizeCalculation: (value, key) => value.length + key.length,
      // Every entry is set with its own TTL; this makes lru-cache check it on read.
      ttlAutopurge: false,
      allowStale: false,
    });
  }

  async get(key: string): Promise<Buffer | undefined> {
    return this.entries.get(key);
  }

  async set(key: string, value: Buffer, ttlMs: number): Promise<void> {
    this.entries.set(key, value, { ttl: ttlMs });
  }

  get size(): number {
    return this.entries.size;
  }

  async close(): Promise<void> {
    this.entries.clear();
  }
}
