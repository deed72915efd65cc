/**
 * Upstream quota concurrency slots every worker shares, held by the primary process
 * (proxy/server/primary-store.ts): `upstream.quota.concurrency` is the pod's limit, not each
 * worker's. A primary that does not answer in time is a refusal (429 with Retry-After), never an
 * unlimited call. (If its answer was only late, the slot it took is given back when this worker
 * exits at the latest: a stuck primary costs capacity, never the limit.)
 */
import type { SharedSlots, SlotClaim } from '../upstream/token-quota/shared-slots.js';
import type { IpcChannel } from './ipc-channel.js';
import { STORE_OPS, STORE_TIMEOUT_MS } from './primary-store-ops.js';

export class SlotsInPrimary implements SharedSlots {
  constructor(private readonly primary: IpcChannel) {}

  async acquire(claims: readonly SlotClaim[]): Promise<boolean> {
    try {
      const taken = await this.primary.request(
        STORE_OPS.slotsAcquire,
        { claims: [...claims] },
        STORE_TIMEOUT_MS,
      );
      return taken === true;
    } catch {
      return false;
    }
  }

  release(keys: readonly string[]): void {
    this.primary
      .request(STORE_OPS.slotsRelease, { keys: [...keys] }, STORE_TIMEOUT_MS)
      .catch(() => undefined);
  }
}
