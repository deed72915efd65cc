/**
 * SIGTERM, SIGINT and SIGHUP that arrive while scopegate starts are held and acted on once it has
 * started: their default actions would end the process with requests possibly admitted already.
 */
export interface SignalTarget {
  signal(signal: NodeJS.Signals): void;
}

export class EarlySignals {
  private stop: NodeJS.Signals | undefined;
  private hangup = false;
  private readonly onStop = (signal: NodeJS.Signals) => {
    this.stop ??= signal;
  };
  private readonly onHangup = () => {
    this.hangup = true;
  };

  constructor(private readonly enabled: boolean) {
    if (!enabled) return;
    process.on('SIGTERM', this.onStop);
    process.on('SIGINT', this.onStop);
    process.on('SIGHUP', this.onHangup);
  }

  release(): void {
    if (!this.enabled) return;
    process.off('SIGTERM', this.onStop);
    process.off('SIGINT', this.onStop);
    process.off('SIGHUP', this.onHangup);
  }

  /** Called once the instance's own handlers are installed: replays what arrived meanwhile. */
  handOver(target: SignalTarget): void {
    this.release();
    if (this.stop) target.signal(this.stop);
    else if (this.hangup) target.signal('SIGHUP');
  }
}
