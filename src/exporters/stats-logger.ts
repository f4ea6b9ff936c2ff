import { OptionsError } from '../errors.js';
import type { Inspector } from '../core/inspector.js';
import { nonNegative } from '../core/pool-tracker-options.js';
import type { PoolStats } from '../core/pool-stats.js';
import type { PoolscopeLogger } from '../core/logger.js';

/**
 * Periodic pool stats in the log, one line per pool (seed 001's form):
 *
 *     Pool 'main': 23% utilized (7/30 active, 23 idle, 0 waiting)
 *
 * at info, escalated to warn when the pool is above its warning level or anything waits.
 */

/** The logger lines go to (src/core/logger.ts; re-exported here, where it was first defined). */
export type { PoolscopeLogger } from '../core/logger.js';

export interface StatsLoggerOptions {
  /** Where lines go. Default: the console (`console.info` / `console.warn`, message only). */
  readonly logger?: PoolscopeLogger;
  /** Time between two rounds of lines. Default 30000; 0 logs only when `logNow()` is called. */
  readonly intervalMillis?: number;
  /** Pools to log. Default: every tracked pool, including pools tracked later. */
  readonly pools?: readonly string[];
}

/** The structured fields of one line (the shape /readyz uses, plus the level and why it was escalated). */
export interface StatsLogFields {
  readonly poolName: string;
  readonly totalCount: number;
  readonly idleCount: number;
  readonly activeCount: number;
  readonly waitingCount: number;
  readonly maxCount: number;
  readonly utilizationPercent: number;
  readonly level: PoolStats['level'];
  readonly timestamp: string;
}

/** One line, built from stats: the level to log at, the fields and the message. */
export interface StatsLogLine {
  readonly severity: 'info' | 'warn';
  readonly fields: StatsLogFields;
  readonly message: string;
}

const consoleLogger: PoolscopeLogger = {
  info: (_fields, message) => console.info(message),
  warn: (_fields, message) => console.warn(message),
};

/** The line for one pool's stats; `warningPercent` is the pool's warning level (80 by default). */
export function statsLogLine(stats: PoolStats, warningPercent: number): StatsLogLine {
  const base =
    `Pool '${stats.poolName}': ${stats.utilizationPercent}% utilized ` +
    `(${stats.used}/${stats.max} active, ${stats.idle} idle, ${stats.pending} waiting)`;
  const reasons: string[] = [];
  if (stats.level === 'critical') reasons.push('critical utilization');
  else if (!stats.expectFull && stats.utilizationPercent >= warningPercent) reasons.push(`above the ${warningPercent}% warning level`);
  if (stats.pending > 0) reasons.push(`${stats.pending} caller(s) waiting for a connection`);
  return {
    severity: reasons.length > 0 ? 'warn' : 'info',
    fields: {
      poolName: stats.poolName,
      totalCount: stats.total,
      idleCount: stats.idle,
      activeCount: stats.used,
      waitingCount: stats.pending,
      maxCount: stats.max,
      utilizationPercent: stats.utilizationPercent,
      level: stats.level,
      timestamp: stats.timestamp,
    },
    message: reasons.length > 0 ? `${base}: ${reasons.join('; ')}` : base,
  };
}

/**
 * Logs every pool's stats on an interval (timer unref'd, so it never keeps the process alive). Opt-in: create one,
 * `close()` it on shutdown. A logger that throws is reported to the inspector's onError, never to your code.
 *
 * ```ts
 * const statsLogger = new StatsLogger(inspector, { logger: pino(), intervalMillis: 30_000 });
 * ```
 */
export class StatsLogger {
  readonly #inspector: Inspector;
  readonly #logger: PoolscopeLogger;
  readonly #pools: readonly string[] | undefined;
  readonly #onError: (error: unknown) => void;
  #timer: NodeJS.Timeout | undefined;

  constructor(inspector: Inspector, options: StatsLoggerOptions = {}) {
    if (options === null || typeof options !== 'object') {
      throw new OptionsError('options', options, 'an object { logger?, intervalMillis?, pools? } for new StatsLogger()');
    }
    const logger = options.logger ?? consoleLogger;
    if (logger === null || typeof logger !== 'object' || typeof logger.info !== 'function' || typeof logger.warn !== 'function') {
      throw new OptionsError('logger', logger, 'an object with info(fields, message) and warn(fields, message), such as a pino logger');
    }
    if (options.pools !== undefined && (!Array.isArray(options.pools) || options.pools.some((name) => typeof name !== 'string'))) {
      throw new OptionsError('pools', options.pools, 'an array of pool names (or nothing for every pool)');
    }
    const interval = nonNegative('intervalMillis', options.intervalMillis, 30_000);
    this.#inspector = inspector;
    this.#logger = logger;
    this.#pools = options.pools;
    this.#onError = (error) => inspector.reportError(error);
    if (interval > 0) {
      this.#timer = setInterval(() => this.logNow(), interval);
      this.#timer.unref();
    }
  }

  /** Logs one line per pool now. Pools named in `pools` but not tracked are skipped. */
  logNow(): void {
    if (this.#inspector.closed) return;
    const names = this.#pools ?? this.#inspector.poolNames();
    for (const name of names) {
      try {
        const tracker = this.#inspector.pool(name);
        if (tracker === undefined) continue;
        const line = statsLogLine(tracker.stats(), tracker.options.warningPercent);
        if (line.severity === 'warn') this.#logger.warn(line.fields, line.message);
        else this.#logger.info(line.fields, line.message);
      } catch (error) {
        this.#onError(error);
      }
    }
  }

  /** Stops the timer. Idempotent. */
  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
