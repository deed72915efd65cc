/**
 * The authorization flow records every worker of this process group shares, held by the primary
 * process (proxy/server/primary-store.ts): a request pushed to one worker is authorized at
 * another, and a code bound at one is redeemed at another, once. The primary answers one question
 * at a time, so a `take` hands a record out to exactly one worker. An unanswered question is
 * AuthorizationStoreUnavailable: the request fails closed (503).
 */
import { AuthorizationStoreFull } from './authorization-in-memory.js';
import { AuthorizationStoreUnavailable } from './authorization-in-redis.js';
import { type IpcChannel, IpcRemoteError } from './ipc-channel.js';
import { STORE_FULL, STORE_OPS, STORE_TIMEOUT_MS } from './primary-store-ops.js';

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

  private async ask(op: string, payload: unknown): Promise<unknown> {
    try {
      return await this.primary.request(op, payload, STORE_TIMEOUT_MS);
    } catch (error) {
      if (error instanceof IpcRemoteError && error.code === STORE_FULL) {
        throw new AuthorizationStoreFull();
      }
      throw new AuthorizationStoreUnavailable(
        `primary authorization store failed: ${(error as Error).message}`,
      );
    }
  }
}
