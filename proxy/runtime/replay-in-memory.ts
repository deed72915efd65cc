/**
 * One-time values (DPoP proof and client assertion `jti`s) this process has seen, each until the
 * moment after which the value would be refused anyway (its proof's or assertion's window).
 * Bounded by entry count and never by eviction: forgetting a value early would let it be replayed,
 * so a full list refuses new values (after dropping expired ones) instead of pushing older ones
 * out.
 */
export class ReplayListFull extends Error {
  constructor() {
    super('the replay list is full');
    this.name = 'ReplayListFull';
  }
}

export class SeenInMemory {
  /** Value → the time it may be forgotten, ms since the epoch. */
  private readonly entries = new Map<string, number>();
  /** The earliest expiry in `entries`: a sweep before it would find nothing to drop. */
  private earliest = Number.POSITIVE_INFINITY;

  constructor(
    private maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** A reload may change the bound; values already seen stay seen. */
  resize(maxEntries: number): void {
    this.maxEntries = maxEntries;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Whether `value` was seen (and not yet forgotten). */
  has(value: string): boolean {
    const until = this.entries.get(value);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.entries.delete(value);
    return false;
  }

  /**
   * Records `value` until `untilMs`; true when it was not seen before (its first use), false for a
   * replay. Throws ReplayListFull when it cannot be remembered.
   */
  firstUse(value: string, untilMs: number): boolean {
    if (this.has(value)) return false;
    if (!(untilMs > this.now())) return true;
    if (this.entries.size >= this.maxEntries) {
      this.sweep();
      if (this.entries.size >= this.maxEntries) throw new ReplayListFull();
    }
    this.entries.set(value, untilMs);
    this.earliest = Math.min(this.earliest, untilMs);
    return true;
  }

  private sweep(): void {
    const now = this.now();
    if (this.earliest > now) return;
    let earliest = Number.POSITIVE_INFINITY;
    for (const [value, until] of this.entries) {
      if (until <= now) this.entries.delete(value);
      else earliest = Math.min(earliest, until);
    }
    this.earliest = earliest;
  }
}
