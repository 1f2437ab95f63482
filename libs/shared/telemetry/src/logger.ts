// Structured JSON logs (pino) so operators can grep and ship them; one child logger per module.
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export interface LoggerOptions {
  /** process or module name, e.g. "cloudcore" */
  name: string;
  level?: LevelWithSilent;
  /** where to write; defaults to stdout */
  destination?: NodeJS.WritableStream;
}

export function createLogger(options: LoggerOptions): Logger {
  const base = { name: options.name, pid: process.pid };
  const settings = { level: options.level ?? 'info', base, timestamp: pino.stdTimeFunctions.isoTime };
  return options.destination ? pino(settings, options.destination) : pino(settings);
}
