/**
 * The primary process when `server.workers` is above 1. It serves no request itself: it loads and
 * validates the configuration and hands it to the workers (worker-config.ts), supervises them
 * (worker-supervisor.ts), holds the state they share (primary-store.ts), serves the admin listener
 * for the whole, and turns signals into what a single process would do:
 *
 * - SIGHUP or a change on disk: load and validate again; on success every worker builds the new
 *   generation beside its current one, and only when every worker has built it do they all switch
 *   (prepare, then commit). A configuration that fails anywhere changes nothing, and is logged.
 * - SIGTERM or SIGINT: readiness turns false, every worker drains as a single process does (no
 *   admitted request is lost), and the primary exits 0 when all have exited.
 * - A worker that exits unexpectedly is started again with backoff, counted and logged.
 */
import cluster from 'node:cluster';
import type { Server } from 'node:http';
import { RateLimiterClusterMaster } from 'rate-limiter-flexible';
import { ConfigError, type LoadedConfig, loadConfigFile } from '../../config/load.js';
import { nodeHttp } from '../http/node-http.js';
import { KeyLoadError } from '../keys/signing-keys.js';
import { createLogger, flushLogger, type Logger } from '../observability/log.js';
import { LogDestination } from '../observability/log-destination.js';
import { Metrics } from '../observability/metrics.js';
import { WorkerMetrics } from '../observability/worker-metrics.js';
import { createAdminHandler, type ReadinessReport } from './admin.js';
import { clusterExposition } from './cluster-metrics.js';
import { ConfigWatcher } from './config-watcher.js';
import type { EarlySignals } from './early-signals.js';
import type { HandedConfig } from './instance.js';
import { listen } from './listen.js';
import { PrimaryStore } from './primary-store.js';
import { serialReloads } from './serial-runner.js';
import { portableConfig } from './worker-config.js';
import {
  PREPARE_TIMEOUT_MS,
  type PrepareAnswer,
  WORKER_OPS,
  WORKER_QUESTION_MS,
} from './worker-ops.js';
import { type WorkerSlot, WorkerSupervisor } from './worker-supervisor.js';

export interface PrimaryOptions {
  configFile: string;
  first: LoadedConfig;
  workers: number;
  early: EarlySignals;
  env?: Readonly<Record<string, string | undefined>>;
}

/** Past the workers' own grace period and watchdog: then the primary gives up and exits 1. */
const PRIMARY_WATCHDOG_EXTRA_MS = 10_000;

/** Loads, validates and makes portable; the errors otherwise. */
async function validated(
  configFile: string,
  env: Readonly<Record<string, string | undefined>>,
): Promise<{ ok: true; loaded: LoadedConfig } | { ok: false; errors: string[] }> {
  const result = await loadConfigFile(configFile, env);
  if (!result.ok) return { ok: false, errors: result.errors };
  try {
    return { ok: true, loaded: await portableConfig(result.loaded) };
  } catch (error) {
    if (error instanceof KeyLoadError) return { ok: false, errors: error.problems };
    throw error;
  }
}

export async function startClusterPrimary(options: PrimaryOptions): Promise<void> {
  const env = options.env ?? process.env;
  const config = options.first.config;
  const stdout = new LogDestination({ maxPendingBytes: config.log.buffer_bytes });
  const logger: Logger = createLogger({
    level: config.log.level,
    format: config.log.format,
    env,
    stdout,
  }).child({ role: 'primary' });
  let current: HandedConfig;
  try {
    current = { loaded: await portableConfig(options.first), generation: 1 };
  } catch (error) {
    if (error instanceof KeyLoadError) throw new ConfigError(error.problems);
    throw error;
  }
  const metrics = new Metrics(config.metrics.client_id_label);
  metrics.logLinesDropped.inc(stdout.dropped);
  stdout.onDrop((lines) => metrics.logLinesDropped.inc(lines));
  metrics.configGeneration.set(current.generation);
  const workerMetrics = new WorkerMetrics(metrics.registry);
  const store = new PrimaryStore(config);
  // Answers the workers' in-process quota rate counters (quota-store.ts): one count for the pod.
  new RateLimiterClusterMaster();
  let shuttingDown = false;

  /** Brings a worker that missed a reload (started during it) to the generation in force. */
  const catchUp = async (slot: WorkerSlot): Promise<void> => {
    const channel = slot.channel;
    if (channel === undefined || slot.generation >= current.generation) return;
    const target = current;
    const answer = (await channel
      .request(WORKER_OPS.prepare, target, PREPARE_TIMEOUT_MS)
      .catch((error: Error) => ({ ok: false, errors: [error.message] }))) as PrepareAnswer;
    if (!answer.ok) {
      logger.error({ worker: slot.worker?.id, errors: answer.errors }, 'worker could not catch up');
      return;
    }
    if (
      (await channel.request(WORKER_OPS.commit, target.generation, WORKER_QUESTION_MS)) === true
    ) {
      slot.generation = target.generation;
    }
  };

  // Workers run this same command (`serve --config FILE`). Advanced serialization: token cache
  // entries cross as bytes, not as JSON arrays of numbers.
  cluster.setupPrimary({ serialization: 'advanced' });
  const supervisor = new WorkerSupervisor({
    count: options.workers,
    logger,
    metrics: workerMetrics,
    wire(slot, channel) {
      channel.handle(WORKER_OPS.config, () => current);
      const id = slot.worker?.id ?? 0;
      for (const [op, handler] of Object.entries(store.handlersFor(id))) {
        channel.handle(op, handler);
      }
    },
    onStarted(slot) {
      logger.info(
        { worker: slot.worker?.id, pid: slot.worker?.process.pid, generation: slot.generation },
        'worker serving',
      );
      void catchUp(slot);
    },
    onExit(worker) {
      store.forget(worker.id);
    },
  });

  try {
    await supervisor.start();
  } catch (error) {
    await supervisor.stop('SIGKILL');
    throw error;
  }
  const publicUrl = supervisor.slots[0]?.address ?? '';

  const readiness = async (): Promise<ReadinessReport> => {
    const serving = supervisor.serving();
    const reports = await Promise.all(
      serving.map((slot) =>
        slot.channel
          ?.request(WORKER_OPS.readiness, null, WORKER_QUESTION_MS)
          .then((report) => (report as ReadinessReport).ready)
          .catch(() => false),
      ),
    );
    const ready = reports.filter(Boolean).length;
    supervisor.updateGauges(ready);
    const checks = {
      config_loaded: true,
      every_worker_up: serving.length === options.workers,
      every_worker_ready: ready === options.workers,
      not_shutting_down: !shuttingDown,
    };
    return { ready: Object.values(checks).every(Boolean), checks };
  };

  let adminServer: Server | undefined;
  let adminUrl: string | undefined;
  if (config.admin_listen) {
    const admin = createAdminHandler({
      metrics,
      readiness,
      exposition: async () => {
        // scopegate_ready of the primary is the whole's readiness (the lowest of all is taken).
        const whole = await readiness();
        metrics.setReadinessProbe(() => whole.ready);
        return clusterExposition(metrics, supervisor.serving());
      },
    });
    adminServer = nodeHttp.createServer((req, res) => {
      admin(req, res).catch(() => res.destroy());
    });
    try {
      adminUrl = await listen(adminServer, config.admin_listen);
    } catch (error) {
      await supervisor.stop();
      throw error;
    }
  }
  logger.info(
    {
      listen: publicUrl,
      admin: adminUrl,
      issuer: config.issuer,
      upstream: config.upstream.url,
      workers: options.workers,
    },
    `scopegate listening on ${publicUrl}`,
  );

  const reloadOnce = async (): Promise<boolean> => {
    if (shuttingDown) return false;
    const fail = (errors: string[]) => {
      metrics.configReloads.inc({ result: 'failure' });
      logger.error({ errors }, 'config reload failed; keeping the current config');
      return false;
    };
    const result = await validated(options.configFile, env);
    if (!result.ok) return fail(result.errors);
    const next: HandedConfig = { loaded: result.loaded, generation: current.generation + 1 };
    const workers = supervisor.serving();
    const answers = await Promise.all(
      workers.map(async (slot) => {
        const answer = await slot.channel
          ?.request(WORKER_OPS.prepare, next, PREPARE_TIMEOUT_MS)
          .catch((error: Error) => ({ ok: false, errors: [error.message] }) as const);
        return { slot, answer: (answer ?? { ok: false, errors: ['gone'] }) as PrepareAnswer };
      }),
    );
    const failed = answers.filter(({ answer }) => !answer.ok);
    if (failed.length > 0 || shuttingDown) {
      for (const { slot } of answers) {
        void slot.channel?.request(WORKER_OPS.abort, null, WORKER_QUESTION_MS).catch(() => false);
      }
      return fail(
        failed.flatMap(({ slot, answer }) =>
          answer.ok ? [] : answer.errors.map((error) => `worker ${slot.worker?.id}: ${error}`),
        ),
      );
    }
    // Every worker has the new generation built: now all switch, and later workers start on it.
    current = next;
    store.resize(next.loaded.config);
    await Promise.all(
      answers.map(async ({ slot }) => {
        const done = await slot.channel
          ?.request(WORKER_OPS.commit, next.generation, WORKER_QUESTION_MS)
          .catch(() => false);
        if (done === true) slot.generation = next.generation;
      }),
    );
    for (const slot of supervisor.serving()) void catchUp(slot);
    metrics.configGeneration.set(next.generation);
    metrics.configReloads.inc({ result: 'success' });
    logger.info({ generation: next.generation, workers: answers.length }, 'config reloaded');
    await setWatching(next.loaded.config.server.watch_config);
    return true;
  };
  const reloads = serialReloads(reloadOnce, metrics, logger);

  let watcher: ConfigWatcher | undefined;
  const setWatching = async (wanted: boolean) => {
    if (wanted && !watcher && !shuttingDown) {
      watcher = new ConfigWatcher({
        configFile: options.configFile,
        env,
        logger,
        onChange: () => {
          logger.info('config change detected on disk');
          void reloads.run();
        },
      });
      await watcher.start();
    } else if (!wanted && watcher) {
      watcher.close();
      watcher = undefined;
    }
  };
  await setWatching(config.server.watch_config);

  let stopping: Promise<void> | undefined;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.info({ signal }, 'signal received: already shutting down');
      return;
    }
    shuttingDown = true;
    logger.info(
      { signal, workers: supervisor.serving().length },
      'shutting down: draining workers',
    );
    const watchdog = setTimeout(() => {
      logger.error('workers did not stop in time; exiting');
      void flushLogger(logger).then(() => process.exit(1));
    }, current.loaded.config.server.shutdown_grace + PRIMARY_WATCHDOG_EXTRA_MS);
    watchdog.unref();
    void setWatching(false);
    stopping = (async () => {
      // Every worker drains as a single process does; SIGTERM is what each one acts on.
      const clean = await supervisor.stop('SIGTERM');
      store.close();
      if (adminServer) {
        const closing = new Promise<void>((done) => adminServer?.close(() => done()));
        adminServer.closeAllConnections();
        await closing;
      }
      // A worker that had to give up on its drain (its own watchdog) makes the whole exit 1 too.
      if (clean) logger.info('scopegate stopped');
      else logger.error('scopegate stopped; a worker did not stop cleanly');
      await flushLogger(logger);
      clearTimeout(watchdog);
      process.exit(clean ? 0 : 1);
    })();
  };
  const onHangup = () => {
    logger.info({ signal: 'SIGHUP' }, 'signal received: reloading the config');
    void reloads.run();
  };
  process.on('SIGHUP', onHangup);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  options.early.handOver({
    signal(signal) {
      if (signal === 'SIGHUP') onHangup();
      else stop(signal);
    },
  });
}
