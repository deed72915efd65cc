/**
 * Keeps `count` workers running (node:cluster): forks them, knows which have started serving, and
 * starts one again when it exits unexpectedly, after a backoff that doubles with each exit in a
 * row (bounded) and starts over once a worker has stayed up. Each restart is a metric and a log
 * line with the exit code or signal; the configuration is the primary's, so a restarted worker
 * serves exactly what the others serve.
 *
 * While starting, a worker that exits before it serves fails the whole start (a port in use, a
 * configuration a worker cannot build): the caller reports it and exits non-zero, as a single
 * process would. Once started, a worker's death never takes the others down.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '../observability/log.js';
import type { WorkerMetrics } from '../observability/worker-metrics.js';
import { IpcChannel } from '../runtime/ipc-channel.js';
import { type StartedNote, WORKER_OPS } from './worker-ops.js';

export interface Backoff {
  /** Delay before the first restart after a worker that had stayed up. */
  initialMs: number;
  maxMs: number;
  /** A worker up at least this long resets the delay to initialMs. */
  stableMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { initialMs: 100, maxMs: 30_000, stableMs: 30_000 };

/** One place for a worker: the worker in it changes with every restart. */
export interface WorkerSlot {
  readonly index: number;
  worker: Worker | undefined;
  channel: IpcChannel | undefined;
  /** Serving (its `started` note arrived), at this generation. */
  started: boolean;
  generation: number;
  address: string | undefined;
  startedAt: number;
  /** Unexpected exits in a row (each doubles the next delay). */
  exits: number;
  restartTimer: NodeJS.Timeout | undefined;
}

export interface SupervisorOptions {
  count: number;
  logger: Logger;
  metrics: WorkerMetrics;
  backoff?: Backoff;
  /** Installs what the primary answers a new worker (configuration, shared state). */
  wire(slot: WorkerSlot, channel: IpcChannel): void;
  /** A worker started serving (at start, and after every restart). */
  onStarted?(slot: WorkerSlot): void;
  /** A worker exited (before its slot is restarted): what it held is released. */
  onExit?(worker: Worker): void;
}

function endpointOf(worker: Worker) {
  return {
    send(message: unknown, done: (error: Error | null) => void) {
      if (!worker.isConnected()) throw new Error(`worker ${worker.id} is not connected`);
      worker.send(message as object, undefined, {}, done);
    },
    onMessage(listener: (message: unknown) => void) {
      worker.on('message', listener);
      return () => worker.off('message', listener);
    },
  };
}

export class WorkerSupervisor {
  readonly slots: WorkerSlot[];
  private stopping = false;
  private readonly backoff: Backoff;
  private startFailure: ((error: Error) => void) | undefined;

  constructor(private readonly options: SupervisorOptions) {
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.slots = Array.from({ length: options.count }, (_, index) => ({
      index,
      worker: undefined,
      channel: undefined,
      started: false,
      generation: 0,
      address: undefined,
      startedAt: 0,
      exits: 0,
      restartTimer: undefined,
    }));
    this.updateGauges();
  }

  /** Forks every worker; resolves when all serve, rejects when one exits first. */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      const waiting = new Set(this.slots.map((slot) => slot.index));
      this.startFailure = reject;
      for (const slot of this.slots) {
        this.fork(slot, () => {
          waiting.delete(slot.index);
          if (waiting.size === 0) {
            this.startFailure = undefined;
            resolve();
          }
        });
      }
    });
  }

  /** Workers serving now. */
  serving(): WorkerSlot[] {
    return this.slots.filter((slot) => slot.started && slot.worker?.isConnected() === true);
  }

  /**
   * No more restarts; every worker gets `signal` (SIGTERM: it drains); resolves when all have
   * exited, with whether every one exited 0.
   */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<boolean> {
    this.stopping = true;
    const exits: Promise<boolean>[] = [];
    for (const slot of this.slots) {
      clearTimeout(slot.restartTimer);
      const worker = slot.worker;
      if (worker === undefined || worker.isDead()) continue;
      exits.push(new Promise((done) => worker.once('exit', (code) => done(code === 0))));
      worker.process.kill(signal);
    }
    return (await Promise.all(exits)).every(Boolean);
  }

  /** Readiness and gauges: the ready count is the caller's to set (it asks the workers). */
  updateGauges(ready?: number): void {
    const gauges = this.options.metrics.workers;
    gauges.set({ state: 'expected' }, this.options.count);
    gauges.set({ state: 'up' }, this.serving().length);
    if (ready !== undefined) gauges.set({ state: 'ready' }, ready);
  }

  private fork(slot: WorkerSlot, onFirstStart?: () => void): void {
    const worker = cluster.fork();
    const channel = new IpcChannel(endpointOf(worker));
    slot.worker = worker;
    slot.channel = channel;
    slot.started = false;
    slot.startedAt = Date.now();
    this.options.wire(slot, channel);
    channel.onNote(WORKER_OPS.started, (payload) => {
      const note = payload as StartedNote;
      slot.started = true;
      slot.generation = note.generation;
      slot.address = note.address;
      this.updateGauges();
      this.options.onStarted?.(slot);
      onFirstStart?.();
    });
    worker.once('exit', (code, signal) => {
      channel.close(`worker ${worker.id} exited`);
      const wasStarted = slot.started;
      if (slot.worker === worker) {
        slot.worker = undefined;
        slot.channel = undefined;
        slot.started = false;
      }
      this.options.onExit?.(worker);
      this.updateGauges();
      if (this.stopping) return;
      if (!wasStarted && this.startFailure !== undefined) {
        this.startFailure(
          new Error(
            `worker ${worker.id} exited during start-up (${signal ? `signal ${signal}` : `exit code ${code}`})`,
          ),
        );
        this.startFailure = undefined;
        return;
      }
      this.restartLater(slot, worker, code, signal);
    });
  }

  private restartLater(
    slot: WorkerSlot,
    worker: Worker,
    code: number | null,
    signal: string | null,
  ): void {
    const upMs = Date.now() - slot.startedAt;
    if (upMs >= this.backoff.stableMs) slot.exits = 0;
    const delayMs = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** slot.exits);
    slot.exits += 1;
    this.options.metrics.restarts.inc();
    this.options.logger.error(
      { worker: worker.id, pid: worker.process.pid, code, signal, upMs, restartInMs: delayMs },
      'worker exited unexpectedly; starting another',
    );
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = undefined;
      if (!this.stopping) this.fork(slot);
    }, delayMs);
  }
}
