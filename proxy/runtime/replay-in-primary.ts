/**
 * One-time values every worker of this process group shares, held by the primary process
 * (proxy/server/primary-store.ts). The primary answers one question at a time, so of two workers
 * that receive the same proof at once exactly one sees its first use. An unanswered question is
 * ReplayStoreUnavailable: the request fails closed (503), never "first use".
 */
import type { IpcChannel } from './ipc-channel.js';
import { askBoundedStore, STORE_OPS } from './primary-store-ops.js';
import { ReplayListFull } from './replay-in-memory.js';
import { ReplayStoreUnavailable } from './replay-in-redis.js';

export class SeenInPrimary {
  constructor(private readonly primary: IpcChannel) {}

  /** True when no worker recorded `value` before (now recorded until `untilMs`). */
  async firstUse(value: string, untilMs: number): Promise<boolean> {
    const first = await askBoundedStore(
      this.primary,
      STORE_OPS.replayFirstUse,
      { value, untilMs },
      {
        full: () => new ReplayListFull(),
        unavailable: (why) => new ReplayStoreUnavailable(`primary replay check failed: ${why}`),
      },
    );
    return first === true;
  }

  async close(): Promise<void> {}
}
