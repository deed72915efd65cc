/**
 * A circuit breaker for the upstream token endpoint (upstream.quota.breaker), per replica. After
 * `failures` failed calls in a row (unreachable, timed out, or a 5xx answer) it opens: token calls
 * are refused at once for `openMs`. Then it lets one call through as a probe (half-open); while
 * that probe is out every other call is still refused, so a recovering upstream sees one call,
 * not the backlog. A probe that succeeds closes the breaker; one that fails opens it again.
 */
export type BreakerVerdict = { allowed: true; probe: boolean } | { allowed: false; waitMs: number };

export class CircuitBreaker {
  private failuresInRow = 0;
  private openUntil: number | undefined;
  private probing = false;

  constructor(
    private readonly failures: number,
    private readonly openMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get state(): 'closed' | 'open' | 'half_open' {
    if (this.openUntil === undefined) return 'closed';
    return this.now() < this.openUntil ? 'open' : 'half_open';
  }

  /** Whether a call may go out now; a probe must be reported like any other call. */
  admit(): BreakerVerdict {
    if (this.openUntil === undefined) return { allowed: true, probe: false };
    const left = this.openUntil - this.now();
    if (left > 0) return { allowed: false, waitMs: left };
    // A probe is already out: wait for its answer (it ends within the upstream timeout).
    if (this.probing) return { allowed: false, waitMs: 1000 };
    this.probing = true;
    return { allowed: true, probe: true };
  }

  /** The outcome of a call admitted by admit(). */
  report(probe: boolean, succeeded: boolean): void {
    if (probe) this.probing = false;
    if (succeeded) {
      this.failuresInRow = 0;
      // Only the probe closes an open breaker: a call admitted before it opened says nothing
      // about the upstream now.
      if (probe || this.openUntil === undefined) this.openUntil = undefined;
      return;
    }
    this.failuresInRow += 1;
    if (probe || (this.openUntil === undefined && this.failuresInRow >= this.failures)) {
      this.openUntil = this.now() + this.openMs;
    }
  }

  /** Forgets a probe that ended without an outcome (e.g. the call was never made). */
  abandon(probe: boolean): void {
    if (probe) this.probing = false;
  }
}
