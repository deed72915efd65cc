import type { Logger } from '../observability/log.js';
import type { Metrics } from '../observability/metrics.js';

/**
 * Runs one task at a time. A call while a run is under way queues exactly one more run after it
 * (calls meanwhile share that queued run), so the last request is always served by a run that
 * started after it: for reloads, the last change on disk is always the one applied.
 */
export class SerialRunner<T> {
  private running: Promise<T> | undefined;
  private queued: Promise<T> | undefined;

  constructor(private readonly task: () => Promise<T>) {}

  run(): Promise<T> {
    if (this.queued) return this.queued;
    if (!this.running) return this.start();
    const after = this.running.then(() => {
      this.queued = undefined;
      return this.start();
    });
    this.queued = after;
    return after;
  }

  private start(): Promise<T> {
    const attempt = this.task().finally(() => {
      if (this.running === attempt) this.running = undefined;
    });
    this.running = attempt;
    return attempt;
  }
}

/**
 * The configuration reloads of a process (a single one, or the primary of workers): one at a
 * time, and a reload that throws is counted and logged as a failure (the configuration in force
 * stays) instead of rejecting whoever asked for it.
 */
export function serialReloads(
  reloadOnce: () => Promise<boolean>,
  metrics: Metrics,
  logger: Logger,
): SerialRunner<boolean> {
  return new SerialRunner(() =>
    reloadOnce().catch((error: unknown) => {
      metrics.configReloads.inc({ result: 'failure' });
      logger.error({ errors: [(error as Error).message] }, 'config reload failed');
      return false;
    }),
  );
}
