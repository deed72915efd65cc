/**
 * A running scopegate: both listeners, the current Runtime, reloads (SIGHUP or a changed file)
 * and graceful shutdown. The CLI's `serve` and the tests use the same entry point.
 */
import { createHash } from 'node:crypto';
import { type FSWatcher, watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import http, { type Server } from 'node:http';
import type { Socket } from 'node:net';
import path from 'node:path';
import { ConfigError, type LoadedConfig, loadConfigFile } from '../config/load.js';
import { createAdminHandler, type ReadinessReport } from './admin.js';
import { createGatewayHandler } from './gateway.js';
import { listen } from './listen.js';
import { createLogger, type Logger } from './log.js';
import { Metrics } from './metrics.js';
import { createReverseProxy } from './reverse-proxy.js';
import { buildRuntime, type Runtime } from './runtime.js';

export interface StartOptions {
  configFile: string;
  env?: Readonly<Record<string, string | undefined>>;
  /** Replaces the configured logger (tests capture output this way). */
  logger?: Logger;
  /** Install SIGHUP/SIGTERM/SIGINT handlers (the CLI does; tests usually do not). */
  handleSignals?: boolean;
}

export interface ScopegateInstance {
  publicUrl: string;
  adminUrl: string | undefined;
  metrics: Metrics;
  logger: Logger;
  runtime(): Runtime;
  readiness(): ReadinessReport;
  reload(): Promise<boolean>;
  shutdown(): Promise<void>;
}

const KEY_WARMUP_RETRY_MS = 2000;

function trackConnections(server: Server): Set<Socket> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  return sockets;
}

function hashOf(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export async function startScopegate(options: StartOptions): Promise<ScopegateInstance> {
  const env = options.env ?? process.env;
  const first = await loadConfigFile(options.configFile, env);
  if (!first.ok) throw new ConfigError(first.errors);
  const config = first.loaded.config;
  const logger =
    options.logger ?? createLogger({ level: config.log.level, format: config.log.format });
  const metrics = new Metrics(config.metrics.client_id_label);
  let runtime = await buildRuntime(first.loaded, 1, metrics);
  let configHash = hashOf(await readFile(first.loaded.file, 'utf8'));
  let shuttingDown = false;
  let inFlight = 0;

  const publishKeyMetrics = (current: Runtime) => {
    metrics.signingKeyInfo.reset();
    for (const key of current.signingKeys.keys) {
      metrics.signingKeyInfo.set({ kid: key.kid, alg: key.alg, status: key.status }, 1);
    }
    metrics.configGeneration.set(current.generation);
  };
  publishKeyMetrics(runtime);

  // Fetch upstream keys before the first token request needs them; readiness waits for it.
  let warmupTimer: NodeJS.Timeout | undefined;
  const warmUp = () => {
    const current = runtime;
    if (current.upstreamKeys.loaded || shuttingDown) return;
    current.upstreamKeys.refresh().catch((error: unknown) => {
      logger.warn({ error: (error as Error).message }, 'upstream keys not fetched yet; retrying');
      warmupTimer = setTimeout(warmUp, KEY_WARMUP_RETRY_MS);
      warmupTimer.unref();
    });
  };
  warmUp();

  const readiness = (): ReadinessReport => {
    const checks = {
      config_loaded: true,
      active_signing_key: runtime.signingKeys.active !== undefined,
      upstream_keys_fetched: runtime.upstreamKeys.loaded,
      not_shutting_down: !shuttingDown,
    };
    return { ready: Object.values(checks).every(Boolean), checks };
  };

  const proxy = createReverseProxy(metrics, logger);
  const handler = createGatewayHandler({ runtime: () => runtime, metrics, logger, proxy });
  const publicServer = http.createServer(
    {
      requestTimeout: config.server.request_timeout,
      headersTimeout: config.server.headers_timeout,
      keepAliveTimeout: config.server.keep_alive_timeout,
    },
    (req, res) => {
      inFlight++;
      res.on('close', () => inFlight--);
      // During shutdown, answered connections are not kept alive for another request.
      if (shuttingDown) res.setHeader('connection', 'close');
      handler(req, res);
    },
  );
  const publicSockets = trackConnections(publicServer);
  const publicUrl = await listen(publicServer, config.listen);

  let adminServer: Server | undefined;
  let adminUrl: string | undefined;
  if (config.admin_listen) {
    const admin = createAdminHandler({ metrics, readiness });
    adminServer = http.createServer((req, res) => {
      admin(req, res).catch(() => res.destroy());
    });
    adminUrl = await listen(adminServer, config.admin_listen);
  }
  logger.info(
    { listen: publicUrl, admin: adminUrl, issuer: config.issuer, upstream: config.upstream.url },
    `scopegate listening on ${publicUrl}`,
  );

  let reloading: Promise<boolean> | undefined;
  const reload = (): Promise<boolean> => {
    if (reloading) return reloading;
    reloading = (async () => {
      const result = await loadConfigFile(runtime.configFile, env);
      if (!result.ok) {
        metrics.configReloads.inc({ result: 'failure' });
        logger.error({ errors: result.errors }, 'config reload failed; keeping the current config');
        return false;
      }
      let next: Runtime;
      try {
        next = await buildRuntime(result.loaded, runtime.generation + 1, metrics, runtime);
      } catch (error) {
        metrics.configReloads.inc({ result: 'failure' });
        logger.error(
          { errors: [(error as Error).message] },
          'config reload failed; keeping the current config',
        );
        return false;
      }
      warnOnListenerChange(runtime, result.loaded, logger);
      runtime = next;
      configHash = hashOf(await readFile(result.loaded.file, 'utf8').catch(() => ''));
      publishKeyMetrics(next);
      metrics.configReloads.inc({ result: 'success' });
      logger.info(
        { generation: next.generation, activeKid: next.signingKeys.active.kid },
        'config reloaded',
      );
      warmUp();
      return true;
    })().finally(() => {
      reloading = undefined;
    });
    return reloading;
  };

  let watcher: FSWatcher | undefined;
  if (config.server.watch_config) {
    // Watch the directory: Kubernetes swaps ConfigMap files by replacing a symlink.
    let debounce: NodeJS.Timeout | undefined;
    const file = first.loaded.file;
    watcher = watch(path.dirname(file), () => {
      clearTimeout(debounce);
      debounce = setTimeout(async () => {
        const text = await readFile(file, 'utf8').catch(() => undefined);
        if (text === undefined || hashOf(text) === configHash) return;
        await reload();
      }, 200);
      debounce.unref();
    });
    watcher.unref();
  }

  let stopping: Promise<void> | undefined;
  const shutdown = (): Promise<void> => {
    if (stopping) return stopping;
    shuttingDown = true;
    metrics.ready.set(0);
    clearTimeout(warmupTimer);
    watcher?.close();
    logger.info({ inFlight }, 'shutting down: draining in-flight requests');
    const grace = runtime.config.server.shutdown_grace;
    stopping = new Promise<void>((resolve) => {
      const closed = new Promise<void>((done) => publicServer.close(() => done()));
      publicServer.closeIdleConnections();
      const force = setTimeout(() => {
        logger.warn({ inFlight }, 'shutdown grace period over: closing remaining connections');
        for (const socket of publicSockets) socket.destroy();
      }, grace);
      force.unref();
      void closed.then(async () => {
        clearTimeout(force);
        proxy.close();
        if (adminServer) {
          adminServer.closeAllConnections();
          await new Promise<void>((done) => adminServer?.close(() => done()));
        }
        logger.info('scopegate stopped');
        resolve();
      });
    });
    return stopping;
  };

  if (options.handleSignals) {
    process.on('SIGHUP', () => void reload());
    const onStop = (signal: string) => {
      logger.info({ signal }, 'signal received');
      void shutdown().then(() => {
        logger.flush();
        process.exit(0);
      });
    };
    process.once('SIGTERM', () => onStop('SIGTERM'));
    process.once('SIGINT', () => onStop('SIGINT'));
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
  };
}

function warnOnListenerChange(current: Runtime, loaded: LoadedConfig, logger: Logger): void {
  const before = current.config;
  const after = loaded.config;
  if (before.listen !== after.listen || before.admin_listen !== after.admin_listen) {
    logger.warn('listen addresses changed: they take effect at the next restart');
  }
}
