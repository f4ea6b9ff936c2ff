/**
 * The logger poolscope writes to, wherever it logs (the stats logger, pool config warnings, the server capacity
 * check): the part of a pino (or bunyan, or winston-with-objects) logger poolscope calls, `(fields, message)`.
 * Defined here, at the bottom, so every folder that logs can take one.
 */
export interface PoolscopeLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}
