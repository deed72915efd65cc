/**
 * A warning that can repeat many times a second (every failed Redis command while Redis is down)
 * written at most once per interval: the first occurrence at once, then one line per interval
 * saying how many were left out since the last. Enough to see that, and why, without a failing
 * dependency flooding the logs (and the log buffer, which drops lines when full).
 */
import type { Logger } from './log.js';

export class RateLimitedWarning {
  private lastAt = Number.NEGATIVE_INFINITY;
  private suppressed = 0;

  constructor(
    private readonly logger: Logger | undefined,
    private readonly message: string,
    private readonly intervalMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  warn(fields: Record<string, unknown>): void {
    const now = this.now();
    if (now - this.lastAt < this.intervalMs) {
      this.suppressed++;
      return;
    }
    this.logger?.warn({ ...fields, suppressed: this.suppressed }, this.message);
    this.lastAt = now;
    this.suppressed = 0;
  }
}
