/**
 * A set whose members are kept until their own expiry, bounded by count and never by eviction:
 * the revocation list and the replay guard's one-time values forget a member only when it would
 * be refused anyway, since forgetting earlier would make a revoked token good again or let a value
 * be replayed. A full set drops the expired members and, if still full, refuses the new one (the
 * caller answers 503) rather than pushing an older member out.
 */
export class ExpiringSet {
  /** Member → the time it may be forgotten, ms since the epoch. */
  private readonly entries = new Map<string, number>();
  /** The earliest expiry in `entries`: a sweep before it would find nothing to drop. */
  private earliest = Number.POSITIVE_INFINITY;

  constructor(
    private maxEntries: number,
    /** The error a full set throws. */
    private readonly full: () => Error,
    private readonly now: () => number = Date.now,
  ) {}

  /** A reload may change the bound; members already kept stay. */
  resize(maxEntries: number): void {
    this.maxEntries = maxEntries;
  }

  get size(): number {
    return this.entries.size;
  }

  has(member: string): boolean {
    const until = this.entries.get(member);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.entries.delete(member);
    return false;
  }

  /** Keeps `member` until `untilMs` (or its later expiry already kept); nothing once expired. */
  add(member: string, untilMs: number): void {
    if (!(untilMs > this.now())) return;
    if (!this.entries.has(member) && this.entries.size >= this.maxEntries) {
      this.sweep();
      if (this.entries.size >= this.maxEntries) throw this.full();
    }
    this.entries.set(member, Math.max(this.entries.get(member) ?? 0, untilMs));
    this.earliest = Math.min(this.earliest, untilMs);
  }

  private sweep(): void {
    const now = this.now();
    if (this.earliest > now) return;
    let earliest = Number.POSITIVE_INFINITY;
    for (const [member, until] of this.entries) {
      if (until <= now) this.entries.delete(member);
      else earliest = Math.min(earliest, until);
    }
    this.earliest = earliest;
  }
}
