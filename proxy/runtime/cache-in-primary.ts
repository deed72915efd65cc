/**
 * The upstream token cache's shared backend when workers run and the cache is in process: the
 * entries live in the primary process (proxy/server/primary-store.ts), so N workers make one
 * upstream call per client, not N. A miss may hold a lease on its key while this worker calls the
 * upstream (other workers wait for the answer); the lease lasts this generation's upstream.timeout
 * and a margin. A primary that does not answer in time is a CacheBackendUnavailable, and the
 * cache answers from this worker alone: a cache failing is never an error for the client.
 */
import {
  type CacheBackend,
  CacheBackendUnavailable,
} from '../upstream/token-cache/cache-backend.js';
import type { IpcChannel } from './ipc-channel.js';
import { asBuffer, STORE_OPS, STORE_TIMEOUT_MS } from './primary-store-ops.js';

/** Beyond the upstream call's own deadline: reading, verifying and storing its answer. */
const LEASE_MARGIN_MS = 1000;

export class CacheInPrimary implements CacheBackend {
  readonly name = 'primary';
  private readonly leaseMs: number;

  constructor(
    private readonly primary: IpcChannel,
    upstreamTimeoutMs: number,
  ) {
    this.leaseMs = upstreamTimeoutMs + LEASE_MARGIN_MS;
  }

  async get(key: string): Promise<Buffer | undefined> {
    let value: unknown;
    try {
      // Waiting for another worker's lease is part of the answer's time.
      value = await this.primary.request(
        STORE_OPS.cacheGet,
        { key, leaseMs: this.leaseMs },
        this.leaseMs + STORE_TIMEOUT_MS,
      );
    } catch (error) {
      throw new CacheBackendUnavailable(`primary cache get failed: ${(error as Error).message}`);
    }
    return value === null ? undefined : asBuffer(value);
  }

  async set(key: string, value: Buffer, ttlMs: number): Promise<void> {
    try {
      await this.primary.request(STORE_OPS.cacheSet, { key, value, ttlMs }, STORE_TIMEOUT_MS);
    } catch (error) {
      throw new CacheBackendUnavailable(`primary cache set failed: ${(error as Error).message}`);
    }
  }

  async release(key: string): Promise<void> {
    try {
      await this.primary.request(STORE_OPS.cacheRelease, { key }, STORE_TIMEOUT_MS);
    } catch (error) {
      throw new CacheBackendUnavailable(
        `primary cache release failed: ${(error as Error).message}`,
      );
    }
  }

  async close(): Promise<void> {}
}
