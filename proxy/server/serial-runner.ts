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
