/**
 * The authorization flow records every worker of this process group shares, held by the primary
 * process (proxy/server/primary-store.ts): a request pushed to one worker is authorized at
 * another, and a code bound at one is redeemed at another, once. The primary answers one question
 * at a time, so a `take` hands a record out to exactly one worker. An unanswered question is
 * AuthorizationStoreUnavailable: the request fails closed (503).
 */
import { AuthorizationStoreFull } from './authorization-in-memory.js';
import { AuthorizationStoreUnavailable } from './authorization-in-redis.js';
import type { IpcChannel } from './ipc-channel.js';
import { askBoundedStore, STORE_OPS } from './primary-store-ops.js';

export class RecordsInPrimary {
  constructor(private readonly primary: IpcChannel) {}

  async put(key: string, value: string, untilMs: number): Promise<void> {
    await this.ask(STORE_OPS.authorizationPut, { key, value, untilMs });
  }

  async get(key: string): Promise<string | undefined> {
    return this.text(await this.ask(STORE_OPS.authorizationRead, { key, once: false }));
  }

  async take(key: string): Promise<string | undefined> {
    return this.text(await this.ask(STORE_OPS.authorizationRead, { key, once: true }));
  }

  async close(): Promise<void> {}

  private text(answer: unknown): string | undefined {
    return typeof answer === 'string' ? answer : undefined;
  }

  private ask(op: string, payload: unknown): Promise<unknown> {
    return askBoundedStore(this.primary, op, payload, {
      full: () => new AuthorizationStoreFull(),
      unavailable: (why) =>
        new AuthorizationStoreUnavailable(`primary authorization store failed: ${why}`),
    });
  }
}
