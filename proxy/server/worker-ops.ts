/**
 * What the primary and its workers say to each other besides the shared state
 * (proxy/runtime/primary-store-ops.ts): one definition for both sides.
 */

export const WORKER_OPS = {
  /** Worker → primary, at start: the configuration to serve (a HandedConfig). */
  config: 'worker.config',
  /** Worker → primary, note: listening and serving generation N at `address`. */
  started: 'worker.started',
  /** Primary → worker: its readiness report. */
  readiness: 'worker.readiness',
  /** Primary → worker: its metrics, as prom-client's getMetricsAsJSON gives them. */
  metrics: 'worker.metrics',
  /** Primary → worker: build a new generation beside the current one (answers ok or errors). */
  prepare: 'worker.prepare',
  /** Primary → worker: switch to the prepared generation. */
  commit: 'worker.commit',
  /** Primary → worker: drop the prepared generation (another worker could not build it). */
  abort: 'worker.abort',
} as const;

export interface StartedNote {
  address: string;
  generation: number;
}

export type PrepareAnswer = { ok: true } | { ok: false; errors: string[] };

/** A question about a worker's state: a worker that does not answer this fast is not ready. */
export const WORKER_QUESTION_MS = 2000;
/** Building a generation may fetch the upstream's discovery and keys (each with its deadline). */
export const PREPARE_TIMEOUT_MS = 60_000;
