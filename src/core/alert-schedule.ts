import type { Clock } from './monotonic-clock.js';
import { isoAt } from './monotonic-clock.js';
import type { EventBus, AlertFiringEvent, AlertResolvedEvent } from './pool-events.js';
import type { PoolStats } from './pool-stats.js';
import type { AlertRule, AlertSnapshot } from './alert-rules.js';
import { AlertEvaluator } from './alert-rules.js';

/** Validated alert settings (InspectorOptions.alerts with its defaults filled in). */
export interface AlertScheduleSettings {
  readonly rules: readonly AlertRule[];
  /** 0 turns the timer off (evaluate() still works). */
  readonly intervalMillis: number;
  readonly onAlert: ((event: AlertFiringEvent | AlertResolvedEvent) => void) | undefined;
}

/** What the schedule reads and where it reports; the Inspector provides it. */
export interface AlertScheduleContext {
  readonly clock: Clock;
  readonly bus: EventBus;
  readonly onError: (error: unknown) => void;
  /** Stats of every tracked pool, read at each evaluation. */
  readonly stats: () => readonly PoolStats[];
}

/**
 * Evaluates the alert rules on a timer (every `intervalMillis`, unref'd) and on demand, turning each transition
 * into an `alert-firing`/`alert-resolved` event and an `onAlert` call. The Inspector owns one and closes it.
 */
export class AlertSchedule {
  readonly #evaluator: AlertEvaluator;
  readonly #onAlert: ((event: AlertFiringEvent | AlertResolvedEvent) => void) | undefined;
  readonly #context: AlertScheduleContext;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(settings: AlertScheduleSettings, context: AlertScheduleContext) {
    this.#context = context;
    this.#evaluator = new AlertEvaluator(settings.rules, context.onError);
    this.#onAlert = settings.onAlert;
    if (settings.intervalMillis > 0 && settings.rules.length > 0) {
      this.#timer = setInterval(() => this.evaluate(), settings.intervalMillis);
      this.#timer.unref();
    }
  }

  /** Evaluates the rules now against every pool; emits the transitions. Does nothing after close(); never throws. */
  evaluate(): void {
    if (this.#closed) return;
    const { clock, bus, onError } = this.#context;
    try {
      const now = clock.now();
      const iso = (time: number): string => isoAt(clock, time);
      for (const transition of this.#evaluator.evaluate(this.#context.stats(), now, iso)) {
        const { alert } = transition;
        const event: AlertFiringEvent | AlertResolvedEvent =
          transition.kind === 'firing'
            ? {
                type: 'alert-firing',
                poolName: alert.poolName,
                alert,
                message: `Alert ${alert.rule} (${alert.severity}) firing: ${alert.summary}`,
              }
            : {
                type: 'alert-resolved',
                poolName: alert.poolName,
                alert,
                firingMillis: transition.firingMillis,
                message: `Alert ${alert.rule} resolved on pool '${alert.poolName}' after ${Math.round(transition.firingMillis / 100) / 10} s`,
              };
        bus.emit(event);
        if (this.#onAlert !== undefined) {
          try {
            this.#onAlert(event);
          } catch (error) {
            onError(error);
          }
        }
      }
    } catch (error) {
      onError(error);
    }
  }

  /** Alerts pending (condition holds, duration not reached) and firing, firing first. */
  active(): AlertSnapshot[] {
    const clock = this.#context.clock;
    return this.#evaluator.active((time) => isoAt(clock, time));
  }

  /** Stops the timer; later evaluate() calls do nothing. Idempotent. */
  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
