import os from 'node:os';
import path from 'node:path';
import { OptionsError } from '../errors.js';
import type { Clock } from './monotonic-clock.js';
import { systemClock } from './monotonic-clock.js';
import type { PoolTrackingDefaults } from './pool-tracker-options.js';
import { nonNegative, resolvePoolTrackingOptions } from './pool-tracker-options.js';
import { DEFAULT_HISTORY_INTERVAL_MILLIS, DEFAULT_HISTORY_RETENTION_MILLIS } from './pool-history.js';
import type { AlertRule } from './alert-rules.js';
import { DEFAULT_ALERT_RULES, validateAlertRules } from './alert-rules.js';
import type { AlertFiringEvent, AlertResolvedEvent } from './pool-events.js';
import type { AlertScheduleSettings } from './alert-schedule.js';

/** Alert evaluation settings (see docs/reference/api.md, "Alerts"). */
export interface AlertOptions {
  /** The rules. Default DEFAULT_ALERT_RULES: utilization above 80% for 5 minutes; any caller waiting, at once. */
  readonly rules?: readonly AlertRule[];
  /** How often the rules are evaluated. Default 1000. */
  readonly intervalMillis?: number;
  /** Called on every firing and resolved alert (as well as the `alert-firing`/`alert-resolved` events). */
  readonly onAlert?: (event: AlertFiringEvent | AlertResolvedEvent) => void;
}

/** Options of an Inspector. All optional. */
export interface InspectorOptions {
  /** Settings applied to every tracked pool unless the pool sets its own. */
  readonly defaults?: PoolTrackingDefaults;
  /** History sample interval. Default 1000; 0 disables history. */
  readonly historyIntervalMillis?: number;
  /** How far back history reaches. Default 900000 (15 minutes). */
  readonly historyRetentionMillis?: number;
  /** Automatic snapshots kept (all pools together). Default 50. */
  readonly snapshotBufferSize?: number;
  /**
   * Called with any error raised inside poolscope's own work or a listener (never thrown into your code).
   * Default: one `process.emitWarning` with code `POOLSCOPE_INTERNAL_ERROR`, then silence.
   */
  readonly onError?: (error: unknown) => void;
  /** Alert rules evaluated on a timer; `false` turns alerts off. Default: on, with DEFAULT_ALERT_RULES. */
  readonly alerts?: AlertOptions | false;
  /** Time source (tests). */
  readonly clock?: Clock;
  /**
   * Names this application in the application_name poolscope gives each pool's connections
   * (`<appName>/<instanceId>/<pool name>`, see PoolTrackingOptions.applicationName). Default: the
   * `npm_package_name` environment variable (set by `npm run`/`npm start`), else the main script's file name
   * without extension, else `node`.
   */
  readonly appName?: string;
  /** Names this process in that application_name. Default `<host name>-<pid>` (host name cut to 20 characters). */
  readonly instanceId?: string;
}

/** InspectorOptions validated, with every default filled in. */
export interface ResolvedInspectorOptions {
  readonly clock: Clock;
  readonly appName: string;
  readonly instanceId: string;
  /** The user's hook, if any (the Inspector wraps it, falling back to one process warning). */
  readonly onError: ((error: unknown) => void) | undefined;
  readonly defaults: PoolTrackingDefaults;
  /** 0 when history is off. */
  readonly historyIntervalMillis: number;
  /** History samples kept per pool (retention / interval, at least 1). */
  readonly historyCapacity: number;
  readonly snapshotBufferSize: number;
  /** Undefined when alerts are off. */
  readonly alerts: AlertScheduleSettings | undefined;
}

/** The alert evaluation interval when `alerts.intervalMillis` is not given. */
const DEFAULT_ALERT_INTERVAL_MILLIS = 1000;

/** The number of automatic snapshots kept when `snapshotBufferSize` is not given. */
const DEFAULT_SNAPSHOT_BUFFER_SIZE = 50;

/** Validates `options` (throws OptionsError naming the bad option) and fills in the defaults. */
export function resolveInspectorOptions(options: InspectorOptions): ResolvedInspectorOptions {
  if (options === null || typeof options !== 'object') {
    throw new OptionsError('options', options, 'an object (or nothing) for new Inspector()');
  }
  const clock = options.clock ?? systemClock;
  const appName = nonEmptyString('appName', options.appName) ?? defaultAppName();
  const instanceId = nonEmptyString('instanceId', options.instanceId) ?? defaultInstanceId();
  const onError = options.onError;
  if (onError !== undefined && typeof onError !== 'function') {
    throw new OptionsError('onError', onError, 'a function (error) => void');
  }
  const defaults = options.defaults ?? {};
  // Validate the defaults once, with a placeholder name, so a bad default fails here and not at trackPgPool().
  resolvePoolTrackingOptions({ name: 'defaults' }, defaults);
  const interval = nonNegative('historyIntervalMillis', options.historyIntervalMillis, DEFAULT_HISTORY_INTERVAL_MILLIS);
  const retention = nonNegative('historyRetentionMillis', options.historyRetentionMillis, DEFAULT_HISTORY_RETENTION_MILLIS);
  const historyCapacity = interval > 0 ? Math.max(1, Math.ceil(retention / interval)) : 1;
  const bufferSize = options.snapshotBufferSize ?? DEFAULT_SNAPSHOT_BUFFER_SIZE;
  if (!Number.isInteger(bufferSize) || bufferSize <= 0) {
    throw new OptionsError('snapshotBufferSize', bufferSize, 'a whole number > 0');
  }
  return {
    clock,
    appName,
    instanceId,
    onError,
    defaults,
    historyIntervalMillis: interval,
    historyCapacity,
    snapshotBufferSize: bufferSize,
    alerts: resolveAlertOptions(options.alerts ?? {}),
  };
}

function resolveAlertOptions(alerts: AlertOptions | false): AlertScheduleSettings | undefined {
  if (alerts === false) return undefined;
  if (alerts === null || typeof alerts !== 'object') {
    throw new OptionsError('alerts', alerts, 'an object { rules?, intervalMillis?, onAlert? } or false');
  }
  const rules = alerts.rules === undefined ? DEFAULT_ALERT_RULES : validateAlertRules(alerts.rules);
  if (alerts.onAlert !== undefined && typeof alerts.onAlert !== 'function') {
    throw new OptionsError('alerts.onAlert', alerts.onAlert, 'a function (event) => void');
  }
  const intervalMillis = nonNegative('alerts.intervalMillis', alerts.intervalMillis, DEFAULT_ALERT_INTERVAL_MILLIS);
  return { rules, intervalMillis, onAlert: alerts.onAlert };
}

function nonEmptyString(option: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '') throw new OptionsError(option, value, 'a non-empty string');
  return value;
}

/** `npm_package_name` (npm/pnpm/yarn scripts), else the main script's base name, else `node`. */
function defaultAppName(): string {
  const fromNpm = process.env.npm_package_name;
  if (typeof fromNpm === 'string' && fromNpm.trim() !== '') return fromNpm;
  const main = process.argv[1];
  if (typeof main === 'string' && main !== '') {
    const base = path.basename(main, path.extname(main));
    if (base !== '') return base;
  }
  return 'node';
}

/** `<host name up to its first dot, at most 20 characters>-<pid>`. */
function defaultInstanceId(): string {
  let host = '';
  try {
    host = os.hostname().split('.')[0] ?? '';
  } catch {
    // no host name: the pid alone
  }
  host = host.slice(0, 20);
  return host === '' ? String(process.pid) : `${host}-${process.pid}`;
}

/**
 * The inspector's error hook: the user's `onError`, or else one process warning (code POOLSCOPE_INTERNAL_ERROR) for
 * the first error. Never throws: if the user's hook throws, nothing safe is left to tell.
 */
export function containedErrorHook(userOnError: ((error: unknown) => void) | undefined): (error: unknown) => void {
  let warned = false;
  return (error) => {
    try {
      if (userOnError !== undefined) {
        userOnError(error);
        return;
      }
      if (warned) return;
      warned = true;
      const message = error instanceof Error ? error.message : String(error);
      process.emitWarning(`poolscope: an error inside poolscope or one of its listeners was contained: ${message}`, {
        code: 'POOLSCOPE_INTERNAL_ERROR',
      });
    } catch {
      // The error hook itself failed: nothing safe is left to tell.
    }
  };
}
