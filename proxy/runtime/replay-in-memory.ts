/**
 * One-time values (DPoP proof and client assertion `jti`s) this process has seen, each until the
 * moment after which the value would be refused anyway (its proof's or assertion's window). An
 * ExpiringSet: bounded by count, never by eviction, since forgetting a value early would let it
 * be replayed; a full list refuses new values instead.
 */
import { ExpiringSet } from './expiring-set.js';

export class ReplayListFull extends Error {
  constructor() {
    super('the replay list is full');
    this.name = 'ReplayListFull';
  }
}

export class SeenInMemory extends ExpiringSet {
  constructor(maxEntries: number, now: () => number = Date.now) {
    super(maxEntries, () => new ReplayListFull(), now);
  }

  /**
   * Records `value` until `untilMs`; true when it was not seen before (its first use), false for a
   * replay. Throws ReplayListFull when it cannot be remembered.
   */
  firstUse(value: string, untilMs: number): boolean {
    if (this.has(value)) return false;
    this.add(value, untilMs);
    return true;
  }
}
