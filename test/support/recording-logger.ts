/** A PoolscopeLogger that records every line, for tests of what poolscope logs. */
import type { PoolscopeLogger } from '../../src/core/logger.js';

export interface LoggedLine {
  level: 'info' | 'warn';
  fields: Record<string, unknown>;
  message: string;
}

/** Logs into `lines`. */
export function recordingLogger(lines: LoggedLine[]): PoolscopeLogger {
  return {
    info: (fields, message) => lines.push({ level: 'info', fields: fields as Record<string, unknown>, message }),
    warn: (fields, message) => lines.push({ level: 'warn', fields: fields as Record<string, unknown>, message }),
  };
}
