/**
 * Concurrency slots held somewhere every worker sees (the primary process, when workers run): a
 * call takes one slot of each of its scopes at once, or none. Implemented where the channel to the
 * primary is (proxy/runtime/slots-in-primary.ts); a store that cannot answer is a refusal, never
 * an unlimited call.
 */
export interface SlotClaim {
  /** The scope's counter key. */
  key: string;
  /** Its concurrency limit. */
  limit: number;
}

export interface SharedSlots {
  /** True when a slot of every claim was taken; false (nothing taken) when one is full. */
  acquire(claims: readonly SlotClaim[]): Promise<boolean>;
  release(keys: readonly string[]): void;
}
