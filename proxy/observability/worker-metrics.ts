/**
 * The primary process's own metrics when workers run (server.workers above 1): how many workers
 * it expects, how many are up and ready, and how often one was restarted. Registered in the
 * primary's registry, which /metrics adds to every worker's (proxy/server/cluster-metrics.ts).
 */
import { Counter, Gauge, type Registry } from 'prom-client';

export const WORKER_STATES = ['expected', 'up', 'ready'] as const;
export type WorkerState = (typeof WORKER_STATES)[number];

export class WorkerMetrics {
  readonly workers: Gauge<'state'>;
  readonly restarts: Counter;

  constructor(registry: Registry) {
    const registers = [registry];
    this.workers = new Gauge({
      name: 'scopegate_workers',
      help: 'Worker processes: expected (server.workers), up (serving), ready (answering ready)',
      labelNames: ['state'],
      registers,
    });
    this.restarts = new Counter({
      name: 'scopegate_worker_restarts_total',
      help: 'Workers started again after one exited unexpectedly (crash, kill, out of memory)',
      registers,
    });
    // At 0 from the start: alerts use increase(), which cannot see a counter's first appearance.
    this.restarts.inc(0);
    for (const state of WORKER_STATES) this.workers.set({ state }, 0);
  }
}
