/**
 * A running scopegate: both listeners, the current Runtime, reloads (SIGHUP or a changed file)
 * and graceful shutdown. The CLI's `serve` and the tests use the same entry point.
 */
import http, { type Server } from 'node:http';
import { ConfigError, loadConfigFile } from '../../config/load.js';
import type { Config } from '../../config/schema.js';
import { clientCertificateMode } from '../http/client-certificate.js';
import { KeyLoadError } from '../keys/signing-keys.js';
import { createLogger, flushLogger, type Logger } from '../observability/log.js';
import { LogDestination } from '../observability/log-destination.js';
import { Metrics } from '../observability/metrics.js';
import { startTracing } from '../observability/tracing.js';
import { packageVersion } from '../observability/version.js';
import { createReverseProxy } from '../relay/reverse-proxy.js';
import { buildRuntime, closeReplaced, type Runtime } from '../runtime/runtime.js';
import { UpstreamKeyWarmup } from '../upstream/upstream-key-warmup.js';
import { createAdminHandler, type ReadinessReport } from './admin.js';
import { ConfigWatcher } from './config-watcher.js';
import { HttpDrain } from './drain.js';
import { EarlySignals } from './early-signals.js';
import { listen } from './listen.js';
import { applyServerTimeouts, applyServerTls, createPublicServer } from './public-server.js';
import { createGatewayHandler } from './router.js';
import { SerialRunner } from './serial-runner.js';
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
}

export interface ScopegateInstance {
  publicUrl: string;
  adminUrl: string | undefined;
  metrics: Metrics;
  logger: Logger;
  runtime(): Runtime;
  readiness(): ReadinessReport;
  /** Loads the config file again; true when the new config is in force. */
  reload(): Promise<boolean>;
  shutdown(): Promise<void>;
}

/** A signal-driven shutdown that is still not done this long after the grace period exits. */
const SHUTDOWN_WATCHDOG_EXTRA_MS = 5000;
/** How long shutdown waits for the last spans to be exported: well inside the watchdog's margin. */
const TRACING_FLUSH_MS = 2000;

export async function startScopegate(options: StartOptions): Promise<ScopegateInstance> {
  // Signals that arrive while starting are held and acted on once started: the default actions
  // of SIGTERM and SIGHUP would end the process with requests possibly admitted already.
  const early = new EarlySignals(options.handleSignals === true);
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
  const first = await loadConfigFile(options.configFile, env);
  if (!first.ok) throw new ConfigError(first.errors);
  const config = first.loaded.config;
  const ownLogger = options.logger === undefined;
  const stdout = ownLogger
    ? new LogDestination({ maxPendingBytes: config.log.buffer_bytes })
    : undefined;
  const logger =
    options.logger ??
    createLogger({ level: config.log.level, format: config.log.format, env, stdout });
  const metrics = new Metrics(config.metrics.client_id_label);
  metrics.logLinesDropped.inc(stdout?.dropped ?? 0);
  stdout?.onDrop((lines) => metrics.logLinesDropped.inc(lines));
  // Tracing is set up once per process: a reload keeps what started (the context is global).
  const tracing = startTracing(config.tracing, env, packageVersion());
  if (tracing !== undefined) {
    const { serviceName, sampleRatio, endpoint } = tracing.settings;
    logger.info({ serviceName, sampleRatio, endpoint }, 'tracing on: OTLP/HTTP export');
  }
  let runtime: Runtime;
  let serverTls: ServerTlsMaterial | undefined;
  try {
    serverTls = await loadServerTls(config.server.tls, first.loaded.file);
    runtime = await buildRuntime(first.loaded, 1, metrics, undefined, logger);
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
  if (config.admin_listen) {
    const admin = createAdminHandler({ metrics, readiness });
    adminServer = http.createServer((req, res) => {
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
  logger.info(
    { listen: publicUrl, admin: adminUrl, issuer: config.issuer, upstream: config.upstream.url },
    `scopegate listening on ${publicUrl}`,
  );

  // Settings a reload can apply to what is already running; the rest waits for a restart.
  const applyServerSettings = (next: Config) => {
    applyServerTimeouts(publicServer, next.server);
    if (ownLogger) logger.level = next.log.level;
  };

  let watcher: ConfigWatcher | undefined;
  const setWatching = async (wanted: boolean) => {
    if (wanted && !watcher && !shuttingDown) {
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

  const reloadOnce = async (): Promise<boolean> => {
    if (shuttingDown) return false;
    const fail = (errors: string[]) => {
      metrics.configReloads.inc({ result: 'failure' });
      logger.error({ errors }, 'config reload failed; keeping the current config');
      return false;
    };
    const result = await loadConfigFile(runtime.configFile, env);
    if (!result.ok) return fail(result.errors);
    const current = runtime;
    let next: Runtime;
    let nextTls: ServerTlsMaterial | undefined;
    try {
      // A certificate or key that cannot be used fails the reload: the listener keeps its own.
      nextTls = await loadServerTls(result.loaded.config.server.tls, result.loaded.file);
      next = await buildRuntime(result.loaded, current.generation + 1, metrics, current, logger);
    } catch (error) {
      if (error instanceof ServerTlsError) {
        return fail(
          error.problems.map((problem) => `${problem.path.join('.')}: ${problem.message}`),
        );
      }
      return fail(error instanceof KeyLoadError ? error.problems : [(error as Error).message]);
    }
    if (shuttingDown) return false;
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
    warnOnRestartOnlyChanges(current.config, next.config, logger);
    // The swap: requests already running keep the Runtime they started with.
    runtime = next;
    void closeReplaced(current, next);
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
    metrics.configReloads.inc({ result: 'success' });
    logger.info(
      {
        generation: next.generation,
        activeKid: next.signingKeys.active.kid,
        keys: next.signingKeys.keys.map((key) => `${key.kid}:${key.status}`),
      },
      'config reloaded',
    );
    warmup.poke();
    await setWatching(next.config.server.watch_config);
    return true;
  };

  // Reloads never overlap, and one asked for during another runs again after it.
  const reloads = new SerialRunner(() =>
    reloadOnce().catch((error: unknown) => {
      metrics.configReloads.inc({ result: 'failure' });
      logger.error({ errors: [(error as Error).message] }, 'config reload failed');
      return false;
    }),
  );
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
