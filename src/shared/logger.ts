import pino from 'pino';

export type Logger = pino.Logger;

/** `json`: one object per line (production); `pretty`: pino-pretty, for a person at a terminal. */
export type LogFormat = 'json' | 'pretty';

export interface LoggerOptions {
  /** Default: `pretty` when stdout is a terminal, else `json` (LOG_FORMAT overrides; src/config.ts). */
  format?: LogFormat;
  /** Fields added to every line, read when it is written (tracing: the current trace_id and span_id). */
  fields?: () => Record<string, string>;
  /** Where JSON lines go instead of stdout (tests read them). */
  destination?: pino.DestinationStream;
}

/** Structured logs on stdout, level from LOG_LEVEL. */
export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info', options: LoggerOptions = {}): Logger {
  const settings: pino.LoggerOptions = { level, base: { service: 'customer-gateway' } };
  if (options.fields) settings.mixin = options.fields;
  const format = options.format ?? (process.stdout.isTTY ? 'pretty' : 'json');
  if (options.destination) return pino(settings, options.destination);
  if (format === 'json') return pino(settings);
  // Loaded only here: a gateway logging JSON never loads the pretty printer.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- see above
  const pretty = require('pino-pretty') as typeof import('pino-pretty');
  return pino(settings, pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' }));
}
