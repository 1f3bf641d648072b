import type { Logger } from './actor.js';

export type LogLevel = 'info' | 'warn' | 'error';

export interface LogRecord {
  readonly level: LogLevel;
  readonly source: string;
  readonly message: string;
  readonly fields?: Record<string, unknown>;
  readonly atMs: number;
}

/** A logger that hands records to a sink (console on threads, an array in simulation). */
export function sinkLogger(source: string, now: () => number, sink: (record: LogRecord) => void): Logger {
  const emit = (level: LogLevel) => (message: string, fields?: Record<string, unknown>) =>
    sink({ level, source, message, ...(fields ? { fields } : {}), atMs: now() });
  return { info: emit('info'), warn: emit('warn'), error: emit('error') };
}

/** Bounded in-memory log (a limit on everything): keeps the newest `limit` records. */
export class LogBuffer {
  private records: LogRecord[] = [];
  constructor(private readonly limit = 10_000) {}
  push = (record: LogRecord): void => {
    this.records.push(record);
    if (this.records.length > this.limit * 2) this.records = this.records.slice(-this.limit);
  };
  all(): LogRecord[] {
    return this.records.slice(-this.limit);
  }
}
