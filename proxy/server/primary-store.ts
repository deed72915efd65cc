/**
 * The state every worker shares, held by the primary process: the revocation list, the replay
 * guard's one-time values and the upstream token cache (with `store: memory`, the in-process
 * kind; Redis stays Redis). Workers ask over IPC (proxy/runtime/primary-store-ops.ts); the primary
 * answers one question at a time on its event loop, so a check-and-set such as a replay guard's
 * first use is atomic across workers, as SET NX is across replicas.
 *
 * The token cache gives the single-flight guarantee the in-process cache gives concurrent
 * requests, across workers: the first worker that misses a key gets a lease on it and calls the
 * upstream; another worker that misses the same key while the lease runs waits for the lease
 * holder's answer instead of calling the upstream too. The lease ends when the holder stores the
 * answer (the waiters get it), when it abandons the key (an answer it does not keep: the waiters
 * call the upstream themselves), when its worker exits, or when it runs out (a waiter then takes
 * the lease over and calls itself).
 *
 * The records of authorization flows held to a profile (pushed requests, pending authorizations,
 * code bindings: proxy/runtime/authorization-store.ts) are kept here too, with `store: memory`,
 * so that a request pushed to one worker is authorized at another and a code is redeemed once.
 *
 * Upstream quota concurrency slots are counted here too, per worker, so that a worker's exit gives
 * its slots back.
 *
 * The lists keep the bounds of the configuration (max_entries) and, like their in-process forms,
 * refuse new entries when full rather than forget a revocation or a seen value.
 */
import type { Config } from '../../config/schema.js';
import { AuthorizationStoreFull, RecordsInMemory } from '../runtime/authorization-in-memory.js';
import { IpcFailure, type IpcHandler } from '../runtime/ipc-channel.js';
import {
  type AuthorizationPut,
  type AuthorizationRead,
  asBuffer,
  type CacheGet,
  type CacheSet,
  type ReplayFirstUse,
  type RevokedAdd,
  type RevokedHas,
  type SlotsAcquire,
  type SlotsRelease,
  STORE_FULL,
  STORE_OPS,
} from '../runtime/primary-store-ops.js';
import { ReplayListFull, SeenInMemory } from '../runtime/replay-in-memory.js';
import { RevocationListFull, RevokedInMemory } from '../runtime/revoked-in-memory.js';
import { MemoryBackend } from '../upstream/token-cache/memory-backend.js';

interface Lease {
  holder: number;
  timer: NodeJS.Timeout;
  waiters: Array<{ worker: number; leaseMs: number; answer: (value: Buffer | null) => void }>;
}

export class PrimaryStore {
  private readonly revoked: RevokedInMemory;
  private readonly seen: SeenInMemory;
  private readonly authorizations: RecordsInMemory;
  private cache: MemoryBackend;
  private cacheEntries: number;
  private readonly leases = new Map<string, Lease>();
  /** Concurrency slots taken, by key; and by worker, to give them back when it exits. */
  private readonly slots = new Map<string, number>();
  private readonly slotsOf = new Map<number, Map<string, number>>();

  constructor(config: Config) {
    this.revoked = new RevokedInMemory(config.tokens.revocation.max_entries);
    this.seen = new SeenInMemory(config.tokens.replay.max_entries);
    this.authorizations = new RecordsInMemory(config.pushed_authorization.max_entries);
    this.cacheEntries = config.cache.upstream_tokens.max_entries;
    this.cache = new MemoryBackend(this.cacheEntries);
  }

  /** A reload's bounds; what is kept stays (revoked is still revoked, seen still seen). */
  resize(config: Config): void {
    this.revoked.resize(config.tokens.revocation.max_entries);
    this.seen.resize(config.tokens.replay.max_entries);
    this.authorizations.resize(config.pushed_authorization.max_entries);
    if (config.cache.upstream_tokens.max_entries !== this.cacheEntries) {
      // A cache is only a cache: a new bound starts it empty, as a worker's own would.
      this.cacheEntries = config.cache.upstream_tokens.max_entries;
      void this.cache.close();
      this.cache = new MemoryBackend(this.cacheEntries);
    }
  }

  /** The answers to the questions of worker `worker`. */
  handlersFor(worker: number): Record<string, IpcHandler> {
    return {
      [STORE_OPS.revokedAdd]: (payload) => {
        const { ref, expiresAtMs } = payload as RevokedAdd;
        try {
          this.revoked.add(ref, expiresAtMs);
        } catch (error) {
          if (error instanceof RevocationListFull) throw new IpcFailure(STORE_FULL, error.message);
          throw error;
        }
        return true;
      },
      [STORE_OPS.revokedHas]: (payload) =>
        (payload as RevokedHas).refs.some((ref) => this.revoked.has(ref)),
      [STORE_OPS.replayFirstUse]: (payload) => {
        const { value, untilMs } = payload as ReplayFirstUse;
        try {
          return this.seen.firstUse(value, untilMs);
        } catch (error) {
          if (error instanceof ReplayListFull) throw new IpcFailure(STORE_FULL, error.message);
          throw error;
        }
      },
      [STORE_OPS.authorizationPut]: (payload) => {
        const { key, value, untilMs } = payload as AuthorizationPut;
        try {
          this.authorizations.put(key, value, untilMs);
        } catch (error) {
          if (error instanceof AuthorizationStoreFull) {
            throw new IpcFailure(STORE_FULL, error.message);
          }
          throw error;
        }
        return true;
      },
      [STORE_OPS.authorizationRead]: (payload) => {
        const { key, once } = payload as AuthorizationRead;
        return (once ? this.authorizations.take(key) : this.authorizations.get(key)) ?? null;
      },
      [STORE_OPS.cacheGet]: (payload) => this.cacheGet(worker, payload as CacheGet),
      [STORE_OPS.cacheSet]: async (payload) => {
        const { key, value, ttlMs } = payload as CacheSet;
        const body = asBuffer(value);
        if (body === undefined) throw new IpcFailure('bad_request', 'cache value is not bytes');
        await this.cache.set(key, body, ttlMs);
        this.endLease(key, body);
        return true;
      },
      [STORE_OPS.cacheRelease]: (payload) => {
        const key = (payload as { key: string }).key;
        const lease = this.leases.get(key);
        // Every waiter calls the upstream itself, as it would have without a shared cache.
        if (lease?.holder === worker) this.endLease(key, null, lease);
        return true;
      },
      [STORE_OPS.slotsAcquire]: (payload) => this.acquire(worker, (payload as SlotsAcquire).claims),
      [STORE_OPS.slotsRelease]: (payload) => {
        for (const key of (payload as SlotsRelease).keys) this.release(worker, key);
        return true;
      },
    };
  }

  /** A slot of every claim, or none when one is full (one question: atomic across workers). */
  private acquire(worker: number, claims: SlotsAcquire['claims']): boolean {
    if (claims.some(({ key, limit }) => (this.slots.get(key) ?? 0) >= limit)) return false;
    const held = this.slotsOf.get(worker) ?? new Map<string, number>();
    this.slotsOf.set(worker, held);
    for (const { key } of claims) {
      this.slots.set(key, (this.slots.get(key) ?? 0) + 1);
      held.set(key, (held.get(key) ?? 0) + 1);
    }
    return true;
  }

  private release(worker: number, key: string): void {
    const held = this.slotsOf.get(worker);
    const mine = held?.get(key) ?? 0;
    if (mine <= 0) return;
    held?.set(key, mine - 1);
    const total = (this.slots.get(key) ?? 1) - 1;
    if (total > 0) this.slots.set(key, total);
    else this.slots.delete(key);
  }

  /** Worker `worker` exited: its leases end now, so nobody waits for an answer that won't come. */
  forget(worker: number): void {
    for (const [key, lease] of this.leases) {
      if (lease.holder === worker) this.handOver(key, lease);
    }
    for (const [key, count] of this.slotsOf.get(worker) ?? []) {
      for (let i = 0; i < count; i++) this.release(worker, key);
    }
    this.slotsOf.delete(worker);
  }

  /** Workers waiting for the answer to `key` (another worker holds its lease). */
  waiting(key: string): number {
    return this.leases.get(key)?.waiters.length ?? 0;
  }

  close(): void {
    for (const [key, lease] of this.leases) this.endLease(key, null, lease);
    void this.cache.close();
  }

  private async cacheGet(worker: number, { key, leaseMs }: CacheGet): Promise<Buffer | null> {
    const kept = await this.cache.get(key);
    if (kept !== undefined) return kept;
    const lease = this.leases.get(key);
    if (lease === undefined) {
      this.grant(key, worker, leaseMs, []);
      return null;
    }
    // The holder's own requests share its call in that worker (cached-forward.ts): no wait here.
    if (lease.holder === worker) return null;
    return new Promise((answer) => lease.waiters.push({ worker, leaseMs, answer }));
  }

  private grant(key: string, holder: number, leaseMs: number, waiters: Lease['waiters']): void {
    const timer = setTimeout(() => {
      const lease = this.leases.get(key);
      if (lease !== undefined) this.handOver(key, lease);
    }, leaseMs);
    timer.unref();
    this.leases.set(key, { holder, timer, waiters });
  }

  /** The holder gave up (exited, ran out): the first waiter calls the upstream itself. */
  private handOver(key: string, lease: Lease): void {
    clearTimeout(lease.timer);
    this.leases.delete(key);
    const [next, ...rest] = lease.waiters;
    if (next === undefined) return;
    this.grant(key, next.worker, next.leaseMs, rest);
    next.answer(null);
    // Waiters of the new holder's own worker share its call there.
    const lease2 = this.leases.get(key);
    if (lease2 === undefined) return;
    lease2.waiters = lease2.waiters.filter((waiter) => {
      if (waiter.worker !== next.worker) return true;
      waiter.answer(null);
      return false;
    });
  }

  private endLease(key: string, value: Buffer | null, lease = this.leases.get(key)): void {
    if (lease === undefined) return;
    clearTimeout(lease.timer);
    this.leases.delete(key);
    for (const waiter of lease.waiters) waiter.answer(value);
  }
}
