/**
 * `scopegate serve`: one process, as always, or with `server.workers` above 1 a primary and its
 * workers (cluster-primary.ts). A worker is this same command started by the primary
 * (node:cluster); it takes its configuration from the primary, never from the file. Each role
 * imports only what it runs: the primary never loads the gateway itself.
 */
import cluster from 'node:cluster';
import { ConfigError, loadConfigFile } from '../../config/load.js';
import { workerCount } from './cgroup-cpus.js';
import { EarlySignals } from './early-signals.js';

export async function serve(configFile: string): Promise<void> {
  // Held from the first instant: reading the configuration (or asking the primary) takes a moment.
  const early = new EarlySignals(true);
  try {
    if (cluster.isWorker) {
      const { runWorker } = await import('./worker-process.js');
      await runWorker(configFile, early);
      return;
    }
    const first = await loadConfigFile(configFile);
    if (!first.ok) throw new ConfigError(first.errors);
    const workers = await workerCount(first.loaded.config.server.workers);
    if (workers <= 1) {
      const { startScopegate } = await import('./instance.js');
      await startScopegate({ configFile, handleSignals: true, earlySignals: early });
      return;
    }
    const { startClusterPrimary } = await import('./cluster-primary.js');
    await startClusterPrimary({ configFile, first: first.loaded, workers, early });
  } catch (error) {
    early.release();
    throw error;
  }
}
