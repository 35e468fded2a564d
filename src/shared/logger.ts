import pino from 'pino';

export type Logger = pino.Logger;

/** Structured JSON logs on stdout (one object per line), level from LOG_LEVEL. */
export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { service: 'customer-gateway' } });
}
