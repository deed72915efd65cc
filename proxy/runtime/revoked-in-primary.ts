/**
 * The revoked tokens every worker of this process group shares, held by the primary process
 * (proxy/server/primary-store.ts): a token revoked through one worker is refused at every worker.
 * The questions have a deadline; an unanswered one is RevocationStoreUnavailable, so a check fails
 * closed (503) exactly as with an unreachable Redis.
 */
import type { IpcChannel } from './ipc-channel.js';
import { askBoundedStore, STORE_OPS } from './primary-store-ops.js';
import { RevocationListFull } from './revoked-in-memory.js';
import { RevocationStoreUnavailable } from './revoked-in-redis.js';

export class RevokedInPrimary {
  constructor(private readonly primary: IpcChannel) {}

  async add(ref: string, expiresAtMs: number): Promise<void> {
    await this.ask(STORE_OPS.revokedAdd, { ref, expiresAtMs });
  }

  async hasAny(refs: readonly string[]): Promise<boolean> {
    if (refs.length === 0) return false;
    return (await this.ask(STORE_OPS.revokedHas, { refs: [...refs] })) === true;
  }

  /** The channel belongs to the worker, not to one configuration generation. */
  async close(): Promise<void> {}

  private ask(op: string, payload: unknown): Promise<unknown> {
    return askBoundedStore(this.primary, op, payload, {
      full: () => new RevocationListFull(),
      unavailable: (why) => new RevocationStoreUnavailable(`primary ${op} failed: ${why}`),
    });
  }
}
