/**
 * Pushed requests, authorizations under way and code bindings kept by this process, each until
 * its deadline, and each handed out once. Bounded by entry count: a full store refuses new
 * entries (after dropping expired ones) rather than pushing older ones out, which would end
 * someone's login early without a word.
 */
export class AuthorizationStoreFull extends Error {
  constructor() {
    super('the authorization store is full');
    this.name = 'AuthorizationStoreFull';
  }
}

export class RecordsInMemory {
  /** Key → the record (JSON) and the time it is gone, ms since the epoch. */
  private readonly entries = new Map<string, { value: string; until: number }>();

  constructor(
    private maxEntries: number,
    // Read through Date on every call, so that a moved clock (tests) is the one compared with.
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** A reload may change the bound; what is kept stays kept. */
  resize(maxEntries: number): void {
    this.maxEntries = maxEntries;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Keeps `value` under `key` until `untilMs`; throws AuthorizationStoreFull. */
  put(key: string, value: string, untilMs: number): void {
    if (this.entries.size >= this.maxEntries && !this.entries.has(key)) {
      this.sweep();
      if (this.entries.size >= this.maxEntries) throw new AuthorizationStoreFull();
    }
    this.entries.set(key, { value, until: untilMs });
  }

  /** The value under `key`, left in place. */
  get(key: string): string | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.until > this.now()) return entry.value;
    this.entries.delete(key);
    return undefined;
  }

  /** The value under `key`, removed: a second take finds nothing. */
  take(key: string): string | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    return entry.until > this.now() ? entry.value : undefined;
  }

  private sweep(): void {
    const now = this.now();
    for (const [key, entry] of this.entries) if (entry.until <= now) this.entries.delete(key);
  }
}
