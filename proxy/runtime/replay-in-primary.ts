/**
 * One-time values every worker of this process group shares, held by the primary process
 * (proxy/server/primary-store.ts). The primary answers one question at a time, so of two workers
 * that receive the same proof at once exactly one sees its first use. An unanswered question is
 * ReplayStoreUnavailable: the request fails closed (503), never "first use".
 */
import { type IpcChannel, IpcRemoteError } from './ipc-channel.js';
import { STORE_FULL, STORE_OPS, STORE_TIMEOUT_MS } from './primary-store-ops.js';
import { ReplayListFull } from './replay-in-memory.js';
import { ReplayStoreUnavailable } from './replay-in-redis.js';

export class SeenInPrimary {
  constructor(private readonly primary: IpcChannel) {}

  /** True when no worker recorded `value` before (now recorded until `untilMs`). */
  async firstUse(value: string, untilMs: number): Promise<boolean> {
    try {
      const first = await this.primary.request(
        STORE_OPS.replayFirstUse,
        { value, untilMs },
        STORE_TIMEOUT_MS,
      );
      return first === true;
    } catch (error) {
      if (error instanceof IpcRemoteError && error.code === STORE_FULL) throw new ReplayListFull();
      throw new ReplayStoreUnavailable(`primary replay check failed: ${(error as Error).message}`);
    }
  }

  async close(): Promise<void> {}
}
