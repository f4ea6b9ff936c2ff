import { OptionsError } from '../errors.js';
import type { PoolStats } from './pool-stats.js';

/**
 * Alert rules over pool stats, with a duration like Prometheus `for:`: a rule's condition must hold on every
 * evaluation for `forMillis` before the alert fires; it resolves at the first evaluation where the condition is false.
 */

export const ALERT_SEVERITIES = ['warning', 'critical'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

/** One rule, evaluated per pool. */
export interface AlertRule {
  /** Stable id (letters, digits, `-`, `_`), unique among the rules, e.g. `pool-utilization-high`. */
  readonly name: string;
  readonly severity: AlertSeverity;
  /** How long the condition must hold before the alert fires. 0 fires at the first evaluation that sees it. */
  readonly forMillis: number;
  /** True while the pool is in the alerting condition. Must not throw (a throw counts as false and goes to onError). */
  readonly condition: (stats: PoolStats) => boolean;
  /** One line for people: what is wrong, with the numbers. */
  readonly summary: (stats: PoolStats) => string;
  /** Pool names the rule applies to. Default: every pool. */
  readonly pools?: readonly string[];
}

/** An alert that is pending (condition holds, duration not reached) or firing. */
export interface AlertSnapshot {
  readonly rule: string;
  readonly severity: AlertSeverity;
  readonly poolName: string;
  readonly state: 'pending' | 'firing';
  /** When the condition started to hold (ISO-8601). */
  readonly activeSince: string;
  /** When the alert fired (ISO-8601), null while pending. */
  readonly firedAt: string | null;
  /** The rule's summary at the latest evaluation. */
  readonly summary: string;
}

/** A rule that fires while more than `percent` of a pool's connections are in use, for `forMillis`. */
export function utilizationAboveRule(percent: number, forMillis: number): AlertRule {
  return {
    name: 'pool-utilization-high',
    severity: 'warning',
    forMillis,
    // Pools declared expectFull (LISTEN connections held by design) are full on purpose.
    condition: (stats) => !stats.expectFull && stats.utilizationPercent > percent,
    summary: (stats) =>
      `Pool '${stats.poolName}' utilization at ${stats.utilizationPercent}% (${stats.used}/${stats.max} in use)` +
      (forMillis > 0 ? ` for ${describeDuration(forMillis)} or more` : ''),
  };
}

/** A rule that fires while callers wait for a connection (the pool is exhausted). */
export function callersWaitingRule(forMillis: number): AlertRule {
  return {
    name: 'pool-callers-waiting',
    severity: 'critical',
    forMillis,
    condition: (stats) => stats.pending > 0,
    summary: (stats) => `Pool '${stats.poolName}' has ${stats.pending} waiting client(s) (${stats.used}/${stats.max} in use)`,
  };
}

/** The default rules: utilization above 80% for 5 minutes (warning); any caller waiting, at once (critical). */
export const DEFAULT_ALERT_RULES: readonly AlertRule[] = [utilizationAboveRule(80, 5 * 60_000), callersWaitingRule(0)];

/** A change of an alert's state found by one evaluation. */
export interface AlertTransition {
  readonly kind: 'firing' | 'resolved';
  readonly alert: AlertSnapshot;
  /** For `resolved`: how long it fired, in milliseconds. */
  readonly firingMillis: number;
}

interface AlertState {
  readonly rule: AlertRule;
  readonly poolName: string;
  readonly since: number;
  firedAt: number | undefined;
  summary: string;
}

const RULE_NAME = /^[A-Za-z0-9_-]{1,100}$/;

/** Checks user rules; throws OptionsError naming the bad field. */
export function validateAlertRules(rules: unknown): readonly AlertRule[] {
  if (!Array.isArray(rules)) throw new OptionsError('alerts.rules', rules, 'an array of alert rules');
  const names = new Set<string>();
  rules.forEach((rule: unknown, index) => {
    const at = `alerts.rules[${index}]`;
    if (rule === null || typeof rule !== 'object') throw new OptionsError(at, rule, 'an object { name, severity, forMillis, condition, summary }');
    const r = rule as Record<string, unknown>;
    if (typeof r.name !== 'string' || !RULE_NAME.test(r.name)) {
      throw new OptionsError(`${at}.name`, r.name, 'a name of 1-100 letters, digits, "-" or "_"');
    }
    if (names.has(r.name)) throw new OptionsError(`${at}.name`, r.name, 'a name not used by another rule');
    names.add(r.name);
    if (!ALERT_SEVERITIES.includes(r.severity as AlertSeverity)) {
      throw new OptionsError(`${at}.severity`, r.severity, `one of ${ALERT_SEVERITIES.join(', ')}`);
    }
    if (typeof r.forMillis !== 'number' || !Number.isFinite(r.forMillis) || r.forMillis < 0) {
      throw new OptionsError(`${at}.forMillis`, r.forMillis, 'a number of milliseconds >= 0 (0 fires at once)');
    }
    if (typeof r.condition !== 'function') throw new OptionsError(`${at}.condition`, r.condition, 'a function (stats) => boolean');
    if (typeof r.summary !== 'function') throw new OptionsError(`${at}.summary`, r.summary, 'a function (stats) => string');
    if (r.pools !== undefined && (!Array.isArray(r.pools) || r.pools.some((name) => typeof name !== 'string'))) {
      throw new OptionsError(`${at}.pools`, r.pools, 'an array of pool names (or nothing for every pool)');
    }
  });
  return rules as readonly AlertRule[];
}

/**
 * Holds the state of every (rule, pool) pair and turns successive stats readings into firing and resolved
 * transitions. Pure: time comes in as an argument.
 */
export class AlertEvaluator {
  readonly #rules: readonly AlertRule[];
  readonly #states = new Map<string, AlertState>();
  readonly #onError: (error: unknown) => void;

  constructor(rules: readonly AlertRule[], onError: (error: unknown) => void) {
    this.#rules = rules;
    this.#onError = onError;
  }

  /** Evaluates every rule on every pool in `pools`; pools no longer present resolve their alerts. */
  evaluate(pools: readonly PoolStats[], now: number, iso: (time: number) => string): AlertTransition[] {
    const transitions: AlertTransition[] = [];
    const seen = new Set<string>();
    for (const stats of pools) {
      for (const rule of this.#rules) {
        if (rule.pools !== undefined && !rule.pools.includes(stats.poolName)) continue;
        const key = `${rule.name}\u0000${stats.poolName}`;
        const holds = this.#holds(rule, stats);
        let state = this.#states.get(key);
        if (!holds) {
          if (state !== undefined) this.#end(key, state, now, iso, transitions);
          continue;
        }
        seen.add(key);
        if (state === undefined) {
          state = { rule, poolName: stats.poolName, since: now, firedAt: undefined, summary: '' };
          this.#states.set(key, state);
        }
        state.summary = this.#summary(rule, stats);
        if (state.firedAt === undefined && now - state.since >= rule.forMillis) {
          state.firedAt = now;
          transitions.push({ kind: 'firing', alert: view(state, iso), firingMillis: 0 });
        }
      }
    }
    for (const [key, state] of this.#states) {
      if (!seen.has(key)) this.#end(key, state, now, iso, transitions);
    }
    return transitions;
  }

  /** Pending and firing alerts, firing first, then oldest first. */
  active(iso: (time: number) => string): AlertSnapshot[] {
    return [...this.#states.values()]
      .sort((a, b) => Number(a.firedAt === undefined) - Number(b.firedAt === undefined) || a.since - b.since)
      .map((state) => view(state, iso));
  }

  #end(key: string, state: AlertState, now: number, iso: (time: number) => string, out: AlertTransition[]): void {
    this.#states.delete(key);
    if (state.firedAt !== undefined) out.push({ kind: 'resolved', alert: view(state, iso), firingMillis: now - state.firedAt });
  }

  #holds(rule: AlertRule, stats: PoolStats): boolean {
    try {
      return rule.condition(stats) === true;
    } catch (error) {
      this.#onError(error);
      return false;
    }
  }

  #summary(rule: AlertRule, stats: PoolStats): string {
    try {
      return String(rule.summary(stats));
    } catch (error) {
      this.#onError(error);
      return `${rule.name} on pool '${stats.poolName}'`;
    }
  }
}

function view(state: AlertState, iso: (time: number) => string): AlertSnapshot {
  return {
    rule: state.rule.name,
    severity: state.rule.severity,
    poolName: state.poolName,
    state: state.firedAt === undefined ? 'pending' : 'firing',
    activeSince: iso(state.since),
    firedAt: state.firedAt === undefined ? null : iso(state.firedAt),
    summary: state.summary,
  };
}

function describeDuration(millis: number): string {
  if (millis % 60_000 === 0 && millis > 0) return `${millis / 60_000} min`;
  return `${Math.round(millis / 100) / 10} s`;
}
