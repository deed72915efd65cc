/**
 * Structured JSON logs (pino). Secrets stay out by construction: log calls pass chosen fields,
 * never request bodies or header maps, and redactSecrets (log-redact.ts) is a second fence for
 * anything that slips through.
 */
import { createRequire } from 'node:module';
import { Writable } from 'node:stream';
import { isatty } from 'node:tty';
import pino, { type DestinationStream, type Logger } from 'pino';
import { LogDestination } from './log-destination.js';
import { redactSecrets } from './log-redact.js';
import { mergeTraceLogFields, traceLogFields } from './tracing.js';

export type { Logger } from 'pino';

export interface LoggerOptions {
  level: string;
  format: 'auto' | 'json' | 'pretty';
  destination?: DestinationStream;
  /** Where stdout lines go when `destination` is not given (the caller reads its drop count). */
  stdout?: LogDestination;
  /** For tests: whether stdout counts as a terminal, and the environment to read NODE_ENV from. */
  isTerminal?: boolean;
  env?: Readonly<Record<string, string | undefined>>;
}

/**
 * pino-pretty is a development aid: used when present and wanted, JSON otherwise. Its output goes
 * through the same never-blocking destination (its own would flush synchronously at exit).
 */
function prettyStream(stdout: LogDestination): DestinationStream | undefined {
  try {
    const require = createRequire(import.meta.url);
    const pretty = require('pino-pretty') as (options: object) => DestinationStream;
    const destination = new Writable({
      write(chunk: Buffer | string, _encoding, done) {
        stdout.write(chunk.toString());
        done();
      },
    });
    return pretty({
      colorize: true,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname',
      destination,
    });
  } catch {
    return undefined;
  }
}

/** `auto` is pretty only for a person at a terminal: never in production, never when piped. */
export function wantsPretty(options: LoggerOptions): boolean {
  if (options.format !== 'auto') return options.format === 'pretty';
  // isatty, not process.stdout.isTTY: touching process.stdout opens a second stream on fd 1.
  const terminal = options.isTerminal ?? isatty(1);
  const env = options.env ?? process.env;
  return terminal && env.NODE_ENV !== 'production';
}

let stampedAt = Number.NaN;
let stamp = '';

/**
 * pino's ISO time member, formatted once per millisecond: under load several lines share one, and
 * formatting a date per line showed in the token path's profile.
 */
export function isoTimestamp(): string {
  const now = Date.now();
  if (now !== stampedAt) {
    stampedAt = now;
    stamp = `,"time":"${new Date(now).toISOString()}"`;
  }
  return stamp;
}

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      name: 'scopegate',
      level: options.level,
      formatters: { log: redactSecrets },
      base: { service: 'scopegate' },
      timestamp: isoTimestamp,
      // trace_id and span_id on every line written while a request is traced.
      mixin: traceLogFields,
      mixinMergeStrategy: mergeTraceLogFields,
    },
    options.destination ?? stdoutStream(options),
  );
}

function stdoutStream(options: LoggerOptions): DestinationStream {
  const stdout = options.stdout ?? new LogDestination();
  return (wantsPretty(options) ? prettyStream(stdout) : undefined) ?? stdout;
}

/** Writes out buffered lines; resolves after at most `timeoutMs` whatever happens. */
export function flushLogger(logger: Logger, timeoutMs = 1000): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    timer.unref();
    try {
      logger.flush(() => {
        clearTimeout(timer);
        resolve();
      });
    } catch {
      clearTimeout(timer);
      resolve();
    }
  });
}
