// A small structured logger. Each entry (time, level, scope, message, fields) goes to one sink: by default stderr, a
// line `time LEVEL scope message {fields}`; a command may send entries elsewhere (`esper run`: a JSON line each in the
// run's `esper.log`, warnings and errors on the terminal too; cli/run-log.ts).
// ESPER_LOG_LEVEL (debug|info|warn|error|silent, default info) filters what is logged at all; tests set it to "error"
// or "silent".
import type { Logger } from './logic.ts';

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
export type LogLevel = Exclude<keyof typeof LEVELS, 'silent'>;

export interface LogEntry {
  /** ISO 8601. */
  time: string;
  level: LogLevel;
  /** Who logged: an actor's path, or a module's name (`tolaria.checkpoint`). */
  scope: string;
  message: string;
  fields?: Record<string, unknown>;
}

function threshold(): number {
  const configured = (process.env.ESPER_LOG_LEVEL ?? 'info').toLowerCase();
  return configured in LEVELS ? LEVELS[configured as keyof typeof LEVELS] : LEVELS.info;
}

/** Whether `level` is `floor` or more severe. */
export const atLeast = (level: LogLevel, floor: LogLevel): boolean => LEVELS[level] >= LEVELS[floor];

/** The terminal's form: `2026-01-02T03:04:05.678Z WARN  scope message {"field":1}`. */
export function logLine(entry: LogEntry): string {
  const suffix = entry.fields && Object.keys(entry.fields).length > 0 ? ` ${JSON.stringify(entry.fields)}` : '';
  return `${entry.time} ${entry.level.toUpperCase().padEnd(5)} ${entry.scope} ${entry.message}${suffix}`;
}

/** A log file's form: the entry as one JSON object (fields under `fields`, so none can shadow the entry's own). */
export const logJson = (entry: LogEntry): string => JSON.stringify(entry);

export type LogSink = (entry: LogEntry) => void;
const toStderr: LogSink = (entry) => void process.stderr.write(`${logLine(entry)}\n`);
let sink: LogSink = toStderr;

/** Sends every entry logged from now on to `next` (null: back to stderr). Returns the previous sink. */
export function setLogSink(next: LogSink | null): LogSink {
  const previous = sink;
  sink = next ?? toStderr;
  return previous;
}

export function createLogger(scope: string): Logger {
  const write = (level: LogLevel, message: string, fields?: Record<string, unknown>): void => {
    if (LEVELS[level] < threshold()) return;
    sink({
      time: new Date().toISOString(),
      level,
      scope,
      message,
      ...(fields && Object.keys(fields).length > 0 ? { fields } : {}),
    });
  };
  return {
    info: (message, fields) => write('info', message, fields),
    warn: (message, fields) => write('warn', message, fields),
    error: (message, fields) => write('error', message, fields),
  };
}
