/**
 * The revoked tokens this process knows of: each revocation reference until the revoked token's
 * `exp`, when the token would be refused anyway. Bounded by entry count, and never by eviction:
 * forgetting a revocation early would make a revoked token good again, so a full list refuses
 * new entries (after dropping expired ones) instead of pushing older ones out.
 */
export class RevocationListFull extends Error {
  constructor() {
    super('the revocation list is full');
    this.name = 'RevocationListFull';
  }
}

export class RevokedInMemory {
  /** Reference → expiry, ms since the epoch. */
  private readonly entries = new Map<string, number>();
  /** The earliest expiry in `entries`: a sweep before it would find nothing to drop. */
  private earliest = Number.POSITIVE_INFINITY;

  constructor(
    private maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** A reload may change the bound; entries already kept stay (they are still revoked). */
  resize(maxEntries: number): void {
    this.maxEntries = maxEntries;
  }

  get size(): number {
    return this.entries.size;
  }

  add(ref: string, expiresAtMs: number): void {
    if (!(expiresAtMs > this.now())) return;
    if (!this.entries.has(ref) && this.entries.size >= this.maxEntries) {
      this.sweep();
      if (this.entries.size >= this.maxEntries) throw new RevocationListFull();
    }
    const kept = this.entries.get(ref) ?? 0;
    this.entries.set(ref, Math.max(kept, expiresAtMs));
    this.earliest = Math.min(this.earliest, expiresAtMs);
  }

  has(ref: string): boolean {
    const expiresAt = this.entries.get(ref);
    if (expiresAt === undefined) return false;
    if (expiresAt > this.now()) return true;
    this.entries.delete(ref);
    return false;
  }

  private sweep(): void {
    const now = this.now();
    if (this.earliest > now) return;
    let earliest = Number.POSITIVE_INFINITY;
    for (const [ref, expiresAt] of this.entries) {
      if (expiresAt <= now) this.entries.delete(ref);
      else earliest = Math.min(earliest, expiresAt);
    }
    this.earliest = earliest;
  }
}
