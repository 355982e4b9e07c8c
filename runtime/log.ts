// A small structured logger: one line per entry on stderr, `level path message {fields}`.
// ESPER_LOG_LEVEL (debug|info|warn|error, default info) filters; tests set it to "error" or "silent".
import type { Logger } from './logic.ts';

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
type LevelName = keyof typeof LEVELS;

function threshold(): number {
  const configured = (process.env.ESPER_LOG_LEVEL ?? 'info').toLowerCase();
  return configured in LEVELS ? LEVELS[configured as LevelName] : LEVELS.info;
}

export type LogSink = (line: string) => void;
let sink: LogSink = (line) => process.stderr.write(`${line}\n`);

/** Redirects log lines (tests capture them). Returns the previous sink. */
export function setLogSink(next: LogSink): LogSink {
  const previous = sink;
  sink = next;
  return previous;
}

export function createLogger(scope: string): Logger {
  const write = (level: LevelName, message: string, fields?: Record<string, unknown>): void => {
    if (LEVELS[level] < threshold()) return;
    const suffix = fields && Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : '';
    sink(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${scope} ${message}${suffix}`);
  };
  return {
    info: (message, fields) => write('info', message, fields),
    warn: (message, fields) => write('warn', message, fields),
    error: (message, fields) => write('error', message, fields),
  };
}
