/**
 * Structured JSON logs (pino). Secrets stay out by construction: log calls pass chosen fields,
 * never request bodies or header maps, and the redact list is a second fence for anything that
 * slips through.
 */
import { createRequire } from 'node:module';
import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

export const REDACTED_PATHS = [
  'authorization',
  '*.authorization',
  'headers.authorization',
  'headers.cookie',
  '*.headers.authorization',
  '*.headers.cookie',
  'client_secret',
  '*.client_secret',
  'client_assertion',
  '*.client_assertion',
  'password',
  '*.password',
  'refresh_token',
  '*.refresh_token',
  'access_token',
  '*.access_token',
  'id_token',
  '*.id_token',
  'code',
  '*.code',
  'private_key',
  '*.private_key',
];

export interface LoggerOptions {
  level: string;
  format: 'auto' | 'json' | 'pretty';
  destination?: DestinationStream;
}

/** pino-pretty is a development aid: used when present and wanted, JSON otherwise. */
function prettyStream(): DestinationStream | undefined {
  try {
    const require = createRequire(import.meta.url);
    const pretty = require('pino-pretty') as (options: object) => DestinationStream;
    return pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' });
  } catch {
    return undefined;
  }
}

export function createLogger(options: LoggerOptions): Logger {
  const wantPretty =
    options.format === 'pretty' || (options.format === 'auto' && process.stdout.isTTY === true);
  const destination = options.destination ?? (wantPretty ? prettyStream() : undefined);
  return pino(
    {
      name: 'scopegate',
      level: options.level,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      base: { service: 'scopegate' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination ?? pino.destination({ fd: 1, sync: false }),
  );
}
