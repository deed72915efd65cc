/**
 * A running scopegate: both listeners, the current Runtime, reloads (SIGHUP or a changed file)
 * and graceful shutdown. The CLI's `serve` and the tests use the same entry point.
 */
import type { Server } from 'node:http';
import { ConfigError, type LoadedConfig, loadConfigFile } from '../../config/load.js';
import type { Config } from '../../config/schema.js';
import { clientCertificateMode } from '../http/client-certificate.js';
import { nodeHttp } from '../http/node-http.js';
import { KeyLoadError } from '../keys/signing-keys.js';
import { createLogger, flushLogger, type Logger } from '../observability/log.js';
import { LogDestination } from '../observability/log-destination.js';
import { Metrics } from '../observability/metrics.js';
import { startTracing } from '../observability/tracing.js';
import { packageVersion } from '../observability/version.js';
import { createReverseProxy } from '../relay/reverse-proxy.js';
import type { IpcChannel } from '../runtime/ipc-channel.js';
import { buildRuntime, closeReplaced, type Runtime } from '../runtime/runtime.js';
import { UpstreamKeyWarmup } from '../upstream/upstream-key-warmup.js';
import { createAdminHandler, type ReadinessReport } from './admin.js';
import { ConfigWatcher } from './config-watcher.js';
import { HttpDrain } from './drain.js';
import { EarlySignals } from './early-signals.js';
import { listen } from './listen.js';
import { applyServerTimeouts, applyServerTls, createPublicServer } from './public-server.js';
import { createGatewayHandler } from './router.js';
import { serialReloads } from './serial-runner.js';
import { loadServerTls, ServerTlsError, type ServerTlsMaterial } from './server-tls.js';

export interface StartOptions {
  configFile: string;
  env?: Readonly<Record<string, string | undefined>>;
  /** Replaces the configured logger (tests capture output this way). */
  logger?: Logger;
  /** Install SIGHUP/SIGTERM/SIGINT handlers (the CLI does; tests usually do not). */
  handleSignals?: boolean;
  /** Called once a signal-driven shutdown has completed (default: exit the process with 0). */
  onSignalShutdown?: () => void;
  /** Signals already held while the caller read the configuration (serve.ts). */
  earlySignals?: EarlySignals;
  /** Set when this process is one of several workers under a primary (cluster-primary.ts). */
  worker?: WorkerRole;
}

/** A configuration as the primary hands it to its workers: validated, with its generation. */
export interface HandedConfig {
  loaded: LoadedConfig;
  generation: number;
}

/**
 * What changes when this process is a worker: the primary read and validated the configuration
 * (a worker never reads the file, so a restarted worker does not depend on it still being valid),
 * it numbers the generations, watches the file, and serves the admin listener for the whole.
 */
export interface WorkerRole {
  id: number;
  /** To the primary: the state every worker shares lives there. */
  primary: IpcChannel;
  config: HandedConfig;
}

/** A new configuration built beside the one in force, and not yet switched to. */
export type PreparedReload =
  | { ok: true; generation: number; commit(): void; abort(): void }
  | { ok: false; errors: string[] };

export interface ScopegateInstance {
  publicUrl: string;
  adminUrl: string | undefined;
  metrics: Metrics;
  logger: Logger;
  runtime(): Runtime;
  readiness(): ReadinessReport;
  /** Loads the config file again; true when the new config is in force. */
  reload(): Promise<boolean>;
  /** Builds what `config` needs beside the generation in force (a worker's first reload step). */
  prepare(config: HandedConfig): Promise<PreparedReload>;
  shutdown(): Promise<void>;
}

/** A signal-driven shutdown that is still not done this long after the grace period exits. */
const SHUTDOWN_WATCHDOG_EXTRA_MS = 5000;
/** How long shutdown waits for the last spans to be exported: well inside the watchdog's margin. */
const TRACING_FLUSH_MS = 2000;

export async function startScopegate(options: StartOptions): Promise<ScopegateInstance> {
  // Signals that arrive while starting are held and acted on once started: the default actions
  // of SIGTERM and SIGHUP would end the process with requests possibly admitted already.
  const early = options.earlySignals ?? new EarlySignals(options.handleSignals === true);
  try {
    const instance = await start(options);
    early.handOver(instance);
    return instance;
  } catch (error) {
    early.release();
    throw error;
  }
}

async function start(
  options: StartOptions,
): Promise<ScopegateInstance & { signal(signal: NodeJS.Signals): void }> {
  const env = options.env ?? process.env;
  const role = options.worker;
  const first = role
    ? ({ ok: true, loaded: role.config.loaded } as const)
    : await loadConfigFile(options.configFile, env);
  if (!first.ok) throw new ConfigError(first.errors);
  const config = first.loaded.config;
  const ownLogger = options.logger === undefined;
  const stdout = ownLogger
    ? new LogDestination({ maxPendingBytes: config.log.buffer_bytes })
    : undefined;
  const baseLogger =
    options.logger ??
    createLogger({ level: config.log.level, format: config.log.format, env, stdout });
  // Every line a worker writes names it, access lines included.
  const logger = role ? baseLogger.child({ worker: role.id }) : baseLogger;
  const metrics = new Metrics(config.metrics.client_id_label);
  metrics.logLinesDropped.inc(stdout?.dropped ?? 0);
  stdout?.onDrop((lines) => metrics.logLinesDropped.inc(lines));
  // Tracing is set up once per process: a reload keeps what started (the context is global).
  const tracing = await startTracing(config.tracing, env, packageVersion());
  if (tracing !== undefined) {
    const { serviceName, sampleRatio, endpoint } = tracing.settings;
    logger.info({ serviceName, sampleRatio, endpoint }, 'tracing on: OTLP/HTTP export');
  }
  let runtime: Runtime;
  let serverTls: ServerTlsMaterial | undefined;
  try {
    serverTls = await loadServerTls(config.server.tls, first.loaded.file);
    runtime = await buildRuntime(
      first.loaded,
      role?.config.generation ?? 1,
      metrics,
      undefined,
      logger,
      role?.primary,
    );
  } catch (error) {
    await tracing?.shutdown(0);
    throw error;
  }
  let shuttingDown = false;

  const publishKeyMetrics = (current: Runtime) => {
    metrics.signingKeyInfo.reset();
    for (const key of current.signingKeys.keys) {
      metrics.signingKeyInfo.set({ kid: key.kid, alg: key.alg, status: key.status }, 1);
    }
    metrics.configGeneration.set(current.generation);
  };
  publishKeyMetrics(runtime);

  const warmup = new UpstreamKeyWarmup(() => runtime.upstreamKeys, logger);
  warmup.poke();

  const readiness = (): ReadinessReport => {
    const checks = {
      config_loaded: true,
      active_signing_key: runtime.signingKeys.active !== undefined,
      upstream_keys_fetched: runtime.upstreamKeys.loaded,
      not_shutting_down: !shuttingDown,
    };
    return { ready: Object.values(checks).every(Boolean), checks };
  };
  metrics.setReadinessProbe(() => readiness().ready);

  const proxy = createReverseProxy(metrics, logger);
  const handler = createGatewayHandler({ runtime: () => runtime, metrics, logger, proxy });
  const publicServer = createPublicServer(config.server, serverTls);
  // A failed handshake (no certificate where one is required, an old protocol) never reaches HTTP.
  publicServer.on('tlsClientError', (error: NodeJS.ErrnoException) => {
    logger.debug({ code: error.code, error: error.message }, 'TLS handshake failed');
  });
  const drain = new HttpDrain(publicServer);
  publicServer.on('request', drain.track(handler));
  const publicUrl = await listen(publicServer, config.listen).catch(async (error: unknown) => {
    await tracing?.shutdown(0);
    throw error;
  });

  let adminServer: Server | undefined;
  let adminUrl: string | undefined;
  // A worker's admin listener is the primary's, which answers for every worker.
  if (config.admin_listen && !role) {
    const admin = createAdminHandler({ metrics, readiness });
    adminServer = nodeHttp.createServer((req, res) => {
      admin(req, res).catch(() => res.destroy());
    });
    try {
      adminUrl = await listen(adminServer, config.admin_listen);
    } catch (error) {
      publicServer.close();
      await tracing?.shutdown(0);
      throw error;
    }
  }
  if (role) {
    // Not the `listen` line: the primary writes that one once every worker listens.
    logger.info({ address: publicUrl, pid: process.pid }, 'worker listening');
  } else {
    logger.info(
      { listen: publicUrl, admin: adminUrl, issuer: config.issuer, upstream: config.upstream.url },
      `scopegate listening on ${publicUrl}`,
    );
  }

  // Settings a reload can apply to what is already running; the rest waits for a restart.
  const applyServerSettings = (next: Config) => {
    applyServerTimeouts(publicServer, next.server);
    if (ownLogger) logger.level = next.log.level;
  };

  let watcher: ConfigWatcher | undefined;
  const setWatching = async (wanted: boolean) => {
    // The primary watches for its workers.
    if (wanted && !watcher && !shuttingDown && !role) {
      watcher = new ConfigWatcher({
        configFile: runtime.configFile,
        env,
        logger,
        onChange: () => {
          logger.info('config change detected on disk');
          void reload();
        },
      });
      await watcher.start();
    } else if (!wanted && watcher) {
      watcher.close();
      watcher = undefined;
    }
  };

  const failReload = (errors: string[]): PreparedReload => {
    // The primary counts its workers' reloads once, not once per worker.
    if (!role) metrics.configReloads.inc({ result: 'failure' });
    logger.error({ errors }, 'config reload failed; keeping the current config');
    return { ok: false, errors };
  };

  /** Builds the next generation beside the current one; switching to it is `commit`. */
  const prepare = async (handed: HandedConfig): Promise<PreparedReload> => {
    if (shuttingDown) return { ok: false, errors: ['shutting down'] };
    const current = runtime;
    let next: Runtime;
    let nextTls: ServerTlsMaterial | undefined;
    try {
      // A certificate or key that cannot be used fails the reload: the listener keeps its own.
      nextTls = await loadServerTls(handed.loaded.config.server.tls, handed.loaded.file);
      next = await buildRuntime(
        handed.loaded,
        handed.generation,
        metrics,
        current,
        logger,
        role?.primary,
      );
    } catch (error) {
      if (error instanceof ServerTlsError) {
        return failReload(
          error.problems.map((problem) => `${problem.path.join('.')}: ${problem.message}`),
        );
      }
      return failReload(
        error instanceof KeyLoadError ? error.problems : [(error as Error).message],
      );
    }
    if (shuttingDown) return { ok: false, errors: ['shutting down'] };
    if (next.upstreamKeys !== current.upstreamKeys) {
      // Another upstream: fetch its keys before switching, so readiness and the first token
      // requests do not wait for them. If they cannot be fetched, warm-up keeps trying.
      await next.upstreamKeys.refresh().catch((error: unknown) => {
        logger.warn(
          { error: (error as Error).message },
          'keys of the reloaded upstream not fetched yet; switching anyway',
        );
      });
    }
    let settled = false;
    return {
      ok: true,
      generation: next.generation,
      commit() {
        if (settled) return;
        settled = true;
        const replaced = runtime;
        warnOnRestartOnlyChanges(replaced.config, next.config, logger);
        // The swap: requests already running keep the Runtime they started with.
        runtime = next;
        void closeReplaced(replaced, next);
        applyServerSettings(next.config);
        if (
          serverTls !== undefined &&
          nextTls !== undefined &&
          nextTls.fingerprint !== serverTls.fingerprint
        ) {
          applyServerTls(publicServer, nextTls);
          serverTls = nextTls;
          logger.info('TLS certificate of the public listener reloaded');
        }
        publishKeyMetrics(next);
        if (!role) metrics.configReloads.inc({ result: 'success' });
        logger.info(
          {
            generation: next.generation,
            activeKid: next.signingKeys.active.kid,
            keys: next.signingKeys.keys.map((key) => `${key.kid}:${key.status}`),
          },
          'config reloaded',
        );
        warmup.poke();
      },
      abort() {
        if (settled) return;
        settled = true;
        // What the prepared generation built and the one in force does not use.
        void closeReplaced(next, runtime);
      },
    };
  };

  const reloadOnce = async (): Promise<boolean> => {
    // A worker reloads only what its primary hands it (prepare, then commit).
    if (shuttingDown || role) return false;
    const result = await loadConfigFile(runtime.configFile, env);
    if (!result.ok) return failReload(result.errors).ok;
    const prepared = await prepare({
      loaded: result.loaded,
      generation: runtime.generation + 1,
    });
    if (!prepared.ok) return false;
    if (shuttingDown) {
      prepared.abort();
      return false;
    }
    prepared.commit();
    await setWatching(runtime.config.server.watch_config);
    return true;
  };

  // Reloads never overlap, and one asked for during another runs again after it.
  const reloads = serialReloads(reloadOnce, metrics, logger);
  const reload = () => reloads.run();

  await setWatching(config.server.watch_config);

  let stopping: Promise<void> | undefined;
  const shutdown = (): Promise<void> => {
    if (stopping) return stopping;
    // Readiness fails from this instant, so load balancers stop sending new requests.
    shuttingDown = true;
    warmup.stop();
    void setWatching(false);
    const grace = runtime.config.server.shutdown_grace;
    logger.info({ inFlight: drain.inFlight, graceMs: grace }, 'shutting down: draining requests');
    stopping = (async () => {
      const { cut } = await drain.drain(grace, (inFlight) => {
        logger.warn({ inFlight }, 'shutdown grace period over: closing remaining connections');
      });
      proxy.close();
      await closeReplaced(runtime, undefined);
      // The last spans are exported within the shutdown deadline, never past it.
      await tracing?.shutdown(TRACING_FLUSH_MS);
      if (adminServer) {
        const closing = new Promise<void>((done) => adminServer?.close(() => done()));
        adminServer.closeAllConnections();
        await closing;
      }
      removeSignalHandlers();
      logger.info({ cut }, 'scopegate stopped');
    })();
    return stopping;
  };

  const onHangup = () => {
    if (role) {
      // A terminal's hang-up reaches the whole process group: the primary reloads for everyone.
      logger.debug({ signal: 'SIGHUP' }, 'signal received: the primary reloads the config');
      return;
    }
    logger.info({ signal: 'SIGHUP' }, 'signal received: reloading the config');
    void reload();
  };
  const onStop = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.info({ signal }, 'signal received: already shutting down');
      return;
    }
    logger.info({ signal }, 'signal received');
    const watchdog = setTimeout(() => {
      logger.error('shutdown did not finish in time; exiting');
      void flushLogger(logger).then(() => process.exit(1));
    }, runtime.config.server.shutdown_grace + SHUTDOWN_WATCHDOG_EXTRA_MS);
    watchdog.unref();
    void shutdown()
      .then(() => flushLogger(logger))
      .then(() => {
        clearTimeout(watchdog);
        (options.onSignalShutdown ?? (() => process.exit(0)))();
      });
  };
  const removeSignalHandlers = () => {
    process.off('SIGHUP', onHangup);
    process.off('SIGTERM', onStop);
    process.off('SIGINT', onStop);
  };
  if (options.handleSignals) {
    process.on('SIGHUP', onHangup);
    // Repeated SIGTERM/SIGINT while draining join the same shutdown.
    process.on('SIGTERM', onStop);
    process.on('SIGINT', onStop);
  }

  return {
    publicUrl,
    adminUrl,
    metrics,
    logger,
    runtime: () => runtime,
    readiness,
    reload,
    prepare,
    shutdown,
    signal(signal) {
      if (signal === 'SIGHUP') onHangup();
      else onStop(signal);
    },
  };
}

function warnOnRestartOnlyChanges(before: Config, after: Config, logger: Logger): void {
  const changed: string[] = [];
  if (before.listen !== after.listen) changed.push('listen');
  if (before.admin_listen !== after.admin_listen) changed.push('admin_listen');
  if ((before.server.tls === undefined) !== (after.server.tls === undefined)) {
    changed.push('server.tls');
  } else if (clientCertificateMode(before.server.tls) !== clientCertificateMode(after.server.tls)) {
    changed.push('server.tls.client_certificate');
  }
  if (before.server.workers !== after.server.workers) changed.push('server.workers');
  if (before.metrics.client_id_label !== after.metrics.client_id_label) {
    changed.push('metrics.client_id_label');
  }
  if (before.log.format !== after.log.format) changed.push('log.format');
  if (before.log.buffer_bytes !== after.log.buffer_bytes) changed.push('log.buffer_bytes');
  if (JSON.stringify(before.tracing) !== JSON.stringify(after.tracing)) changed.push('tracing');
  if (changed.length > 0) {
    logger.warn({ settings: changed }, 'these settings take effect at the next restart');
  }
}
