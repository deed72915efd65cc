/**
 * Fetches the upstream's keys before the first token request needs them (readiness waits for
 * them), retrying with backoff until they arrive. Follows the Runtime in force, so a reload to
 * another upstream is warmed up too.
 */
import type { Logger } from '../observability/log.js';
import type { UpstreamKeys } from './upstream-keys.js';

const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 30_000;

export class UpstreamKeyWarmup {
  private timer: NodeJS.Timeout | undefined;
  private warming = false;
  private delay = RETRY_MIN_MS;
  private stopped = false;

  constructor(
    private readonly currentKeys: () => UpstreamKeys,
    private readonly logger: Logger,
  ) {}

  /** Starts a fetch unless the keys are loaded or one is under way. */
  poke(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const keys = this.currentKeys();
    if (this.warming || keys.loaded || this.stopped) return;
    this.warming = true;
    keys.refresh().then(
      () => {
        this.warming = false;
        this.delay = RETRY_MIN_MS;
        this.logger.info('upstream keys fetched');
        // A reload may have brought another upstream while this fetch ran.
        this.poke();
      },
      (error: unknown) => {
        this.warming = false;
        if (this.stopped) return;
        this.logger.warn(
          { error: (error as Error).message, retryInMs: this.delay },
          'upstream keys not fetched yet; retrying',
        );
        this.timer = setTimeout(() => this.poke(), this.delay);
        this.timer.unref();
        this.delay = Math.min(this.delay * 2, RETRY_MAX_MS);
      },
    );
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}
