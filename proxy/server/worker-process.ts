/**
 * One worker under the primary (cluster-primary.ts): asks the primary for the configuration,
 * serves the public listener the workers share, and answers the primary's questions (readiness,
 * metrics, a new generation). SIGTERM drains it exactly as it drains a single process; the
 * primary going away (its IPC channel closing) does too, so no worker outlives its primary.
 */
import cluster from 'node:cluster';
import { IpcChannel, primaryEndpoint } from '../runtime/ipc-channel.js';
import type { EarlySignals } from './early-signals.js';
import { type HandedConfig, type PreparedReload, startScopegate } from './instance.js';
import {
  PREPARE_TIMEOUT_MS,
  type PrepareAnswer,
  type StartedNote,
  WORKER_OPS,
} from './worker-ops.js';

export async function runWorker(configFile: string, early: EarlySignals): Promise<void> {
  const primary = new IpcChannel(primaryEndpoint());
  const handed = (await primary.request(
    WORKER_OPS.config,
    null,
    PREPARE_TIMEOUT_MS,
  )) as HandedConfig;
  const id = cluster.worker?.id ?? process.pid;
  const instance = await startScopegate({
    configFile,
    handleSignals: true,
    earlySignals: early,
    worker: { id, primary, config: handed },
  });

  let prepared: PreparedReload | undefined;
  primary.handle(WORKER_OPS.readiness, () => instance.readiness());
  primary.handle(WORKER_OPS.metrics, () => instance.metrics.registry.getMetricsAsJSON());
  primary.handle(WORKER_OPS.prepare, async (payload): Promise<PrepareAnswer> => {
    if (prepared?.ok) prepared.abort();
    prepared = await instance.prepare(payload as HandedConfig);
    return prepared.ok ? { ok: true } : { ok: false, errors: prepared.errors };
  });
  primary.handle(WORKER_OPS.commit, (generation) => {
    if (!prepared?.ok || prepared.generation !== generation) return false;
    prepared.commit();
    prepared = undefined;
    return true;
  });
  primary.handle(WORKER_OPS.abort, () => {
    if (prepared?.ok) prepared.abort();
    prepared = undefined;
    return true;
  });
  process.once('disconnect', () => {
    primary.close('the primary is gone');
    // Drained like any SIGTERM: requests admitted already are answered.
    process.kill(process.pid, 'SIGTERM');
  });
  const note: StartedNote = {
    address: instance.publicUrl,
    generation: instance.runtime().generation,
  };
  primary.notify(WORKER_OPS.started, note);
}
