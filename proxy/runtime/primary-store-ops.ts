/**
 * The questions a worker asks the primary about the state every worker shares (the primary holds
 * it: proxy/server/primary-store.ts), and how long it waits for an answer. One definition for
 * both sides.
 */
import { type IpcChannel, IpcRemoteError } from './ipc-channel.js';

export const STORE_OPS = {
  revokedAdd: 'revoked.add',
  revokedHas: 'revoked.has',
  replayFirstUse: 'replay.firstUse',
  cacheGet: 'cache.get',
  cacheSet: 'cache.set',
  cacheRelease: 'cache.release',
  slotsAcquire: 'slots.acquire',
  slotsRelease: 'slots.release',
  authorizationPut: 'authorization.put',
  authorizationRead: 'authorization.read',
} as const;

/**
 * How long a worker waits for the primary. The answer is a Map lookup on the primary's event loop
 * and comes back in well under a millisecond; a primary that has not answered in a second is stuck,
 * and the request fails closed (503) rather than waiting with it.
 */
export const STORE_TIMEOUT_MS = 1000;

/** The code an answer carries when a bounded list is full (the request is then 503). */
export const STORE_FULL = 'full';

/**
 * Asks the primary about one of its bounded lists (revoked tokens, one-time values, authorization
 * records). A full list becomes the store's own `full()` error; any other failure, a missing
 * answer included, its `unavailable(why)`: both fail the request closed (503).
 */
export async function askBoundedStore(
  primary: IpcChannel,
  op: string,
  payload: unknown,
  errors: { full: () => Error; unavailable: (why: string) => Error },
): Promise<unknown> {
  try {
    return await primary.request(op, payload, STORE_TIMEOUT_MS);
  } catch (error) {
    if (error instanceof IpcRemoteError && error.code === STORE_FULL) throw errors.full();
    throw errors.unavailable((error as Error).message);
  }
}

export interface RevokedAdd {
  ref: string;
  expiresAtMs: number;
}
export interface RevokedHas {
  refs: string[];
}
export interface ReplayFirstUse {
  value: string;
  untilMs: number;
}
export interface CacheGet {
  key: string;
  /**
   * How long the asker may hold the key while it calls the upstream (its upstream.timeout and a
   * margin): other workers that miss the same key meanwhile wait for its answer instead of calling.
   */
  leaseMs: number;
}
export interface CacheSet {
  key: string;
  value: Uint8Array;
  ttlMs: number;
}

export interface AuthorizationPut {
  key: string;
  value: string;
  untilMs: number;
}
export interface AuthorizationRead {
  key: string;
  /** Hand the record out once (take), or leave it in place (peek). */
  once: boolean;
}

export interface SlotsAcquire {
  claims: Array<{ key: string; limit: number }>;
}
export interface SlotsRelease {
  keys: string[];
}

/** A Buffer again: the IPC serializer may hand a Uint8Array over. */
export function asBuffer(value: unknown): Buffer | undefined {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.length);
  return undefined;
}
