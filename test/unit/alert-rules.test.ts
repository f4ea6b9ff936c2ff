import { test, describe, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Inspector, type InspectorOptions } from '../../src/core/inspector.js';
import type { PoolTracker } from '../../src/core/pool-tracker.js';
import type { Lease } from '../../src/core/lease.js';
import {
  AlertEvaluator,
  callersWaitingRule,
  DEFAULT_ALERT_RULES,
  utilizationAboveRule,
  type AlertRule,
} from '../../src/core/alert-rules.js';
import type { AlertFiringEvent, AlertResolvedEvent } from '../../src/core/pool-events.js';
import { OptionsError } from '../../src/errors.js';
import { FakeClock } from '../support/fake-clock.js';
import { FakePoolAdapter } from '../support/fake-pool-adapter.js';

type AlertEvent = AlertFiringEvent | AlertResolvedEvent;

function setup(t: TestContext, options: InspectorOptions = {}) {
  const clock = new FakeClock();
  const errors: unknown[] = [];
  const seen: AlertEvent[] = [];
  const inspector = new Inspector({
    clock,
    historyIntervalMillis: 0,
    onError: (error) => errors.push(error),
    alerts: { intervalMillis: 0, onAlert: (event) => seen.push(event) },
    ...options,
  });
  t.after(() => inspector.close());
  return { inspector, clock, errors, seen };
}

function hold(tracker: PoolTracker, count: number): Lease[] {
  const leases: Lease[] = [];
  for (let i = 0; i < count; i++) {
    const lease = tracker.checkoutStarted(hold);
    tracker.checkoutSucceeded(lease, {}, null, false, 'idle');
    leases.push(lease);
  }
  return leases;
}

function releaseAll(tracker: PoolTracker, leases: Lease[]): void {
  for (const lease of leases) tracker.releaseStarted(lease, 'idle', false, releaseAll);
}

describe('default alert rules', () => {
  test('utilization above 80% fires only after holding for 5 minutes, then resolves', (t) => {
    const { inspector, clock, seen } = setup(t);
    const adapter = new FakePoolAdapter({ max: 10, total: 9 });
    const tracker = inspector.registerPool(adapter, { name: 'main' });
    const leases = hold(tracker, 9); // 90%
    inspector.evaluateAlerts();
    assert.equal(seen.length, 0, 'nothing fires at once');
    const [pending] = inspector.activeAlerts();
    assert.equal(pending?.rule, 'pool-utilization-high');
    assert.equal(pending?.state, 'pending');
    assert.equal(pending?.firedAt, null);

    clock.advance(5 * 60_000 - 1);
    inspector.evaluateAlerts();
    assert.equal(seen.length, 0, 'one millisecond short of the duration');

    clock.advance(1);
    inspector.evaluateAlerts();
    assert.equal(seen.length, 1);
    const firing = seen[0] as AlertFiringEvent;
    assert.equal(firing.type, 'alert-firing');
    assert.equal(firing.poolName, 'main');
    assert.equal(firing.alert.severity, 'warning');
    assert.equal(firing.alert.state, 'firing');
    assert.match(firing.message, /pool-utilization-high \(warning\) firing: Pool 'main' utilization at 90% \(9\/10 in use\) for 5 min or more/);

    inspector.evaluateAlerts();
    assert.equal(seen.length, 1, 'fires once, not on every evaluation');

    clock.advance(30_000);
    releaseAll(tracker, leases);
    inspector.evaluateAlerts();
    assert.equal(seen.length, 2);
    const resolved = seen[1] as AlertResolvedEvent;
    assert.equal(resolved.type, 'alert-resolved');
    assert.equal(resolved.firingMillis, 30_000);
    assert.deepEqual(inspector.activeAlerts(), []);
  });

  test('a dip below the threshold restarts the duration', (t) => {
    const { inspector, clock, seen } = setup(t);
    const tracker = inspector.registerPool(new FakePoolAdapter({ max: 10 }), { name: 'main' });
    let leases = hold(tracker, 9);
    inspector.evaluateAlerts();
    clock.advance(4 * 60_000);
    releaseAll(tracker, leases);
    inspector.evaluateAlerts(); // condition false: pending alert dropped, no event
    leases = hold(tracker, 9);
    inspector.evaluateAlerts();
    clock.advance(4 * 60_000);
    inspector.evaluateAlerts();
    assert.equal(seen.length, 0);
    clock.advance(60_000);
    inspector.evaluateAlerts();
    assert.equal(seen.length, 1);
    releaseAll(tracker, leases);
  });

  test('callers waiting fire at once as critical; expectFull pools never fire on utilization', (t) => {
    const { inspector, seen } = setup(t);
    const main = new FakePoolAdapter({ max: 2 });
    const listen = new FakePoolAdapter({ max: 2 });
    const mainTracker = inspector.registerPool(main, { name: 'main' });
    const listenTracker = inspector.registerPool(listen, { name: 'listen', expectFull: true });
    hold(mainTracker, 2);
    hold(listenTracker, 2);
    main.set({ waiting: 3 });
    inspector.evaluateAlerts();
    assert.equal(seen.length, 1);
    const firing = seen[0] as AlertFiringEvent;
    assert.equal(firing.alert.rule, 'pool-callers-waiting');
    assert.equal(firing.alert.severity, 'critical');
    assert.equal(firing.poolName, 'main');
    assert.match(firing.alert.summary, /Pool 'main' has 3 waiting client\(s\)/);
    assert.ok(
      inspector.activeAlerts().every((alert) => alert.poolName === 'main'),
      'the expectFull pool at 100% has no utilization alert, not even pending',
    );
  });

  test('an untracked pool resolves its firing alerts', (t) => {
    const { inspector, seen } = setup(t);
    const adapter = new FakePoolAdapter({ max: 1, waiting: 1 });
    inspector.registerPool(adapter, { name: 'gone' });
    inspector.evaluateAlerts();
    assert.equal(seen.at(-1)?.type, 'alert-firing');
    inspector.untrack('gone');
    inspector.evaluateAlerts();
    assert.equal(seen.at(-1)?.type, 'alert-resolved');
    assert.equal(seen.at(-1)?.poolName, 'gone');
  });

  test('events go to inspector.on and to the diagnostics channel as well as onAlert', async (t) => {
    const { inspector } = setup(t, { alerts: { intervalMillis: 0 } });
    const viaOn: string[] = [];
    inspector.on('alert-firing', (event) => viaOn.push(event.alert.rule));
    const { subscribe, unsubscribe } = await import('node:diagnostics_channel');
    const viaChannel: string[] = [];
    const onMessage = (message: unknown) => viaChannel.push((message as AlertFiringEvent).alert.rule);
    subscribe('poolscope:alert:firing', onMessage);
    t.after(() => unsubscribe('poolscope:alert:firing', onMessage));
    inspector.registerPool(new FakePoolAdapter({ max: 1, waiting: 2 }), { name: 'main' });
    inspector.evaluateAlerts();
    assert.deepEqual(viaOn, ['pool-callers-waiting']);
    assert.deepEqual(viaChannel, ['pool-callers-waiting']);
  });

  test('DEFAULT_ALERT_RULES are the two the docs name', () => {
    assert.deepEqual(
      DEFAULT_ALERT_RULES.map((rule) => [rule.name, rule.severity, rule.forMillis]),
      [
        ['pool-utilization-high', 'warning', 300_000],
        ['pool-callers-waiting', 'critical', 0],
      ],
    );
  });
});

describe('custom rules', () => {
  test('user rules replace the defaults; pools limits a rule; a throwing condition is contained', (t) => {
    const broken: AlertRule = {
      name: 'broken',
      severity: 'warning',
      forMillis: 0,
      condition: () => {
        throw new Error('rule bug');
      },
      summary: () => 'never',
    };
    const { inspector, errors, seen } = setup(t, {
      alerts: {
        intervalMillis: 0,
        rules: [{ ...utilizationAboveRule(50, 0), pools: ['b'] }, broken],
        onAlert: (event) => seen.push(event),
      },
    });
    const a = inspector.registerPool(new FakePoolAdapter({ max: 2 }), { name: 'a' });
    const b = inspector.registerPool(new FakePoolAdapter({ max: 2 }), { name: 'b' });
    hold(a, 2);
    hold(b, 2);
    inspector.evaluateAlerts();
    assert.deepEqual(
      seen.map((event) => [event.type, event.poolName, event.alert.rule]),
      [['alert-firing', 'b', 'pool-utilization-high']],
    );
    assert.match(seen[0]?.alert.summary ?? '', /^Pool 'b' utilization at 100% \(2\/2 in use\)$/);
    assert.equal(errors.length, 2, 'the throwing condition reported once per pool');
  });

  test('a throwing onAlert goes to onError and evaluation goes on', (t) => {
    const { inspector, errors } = setup(t, {
      alerts: {
        intervalMillis: 0,
        rules: [callersWaitingRule(0)],
        onAlert: () => {
          throw new Error('hook bug');
        },
      },
    });
    inspector.registerPool(new FakePoolAdapter({ max: 1, waiting: 1 }), { name: 'x' });
    inspector.registerPool(new FakePoolAdapter({ max: 1, waiting: 1 }), { name: 'y' });
    inspector.evaluateAlerts();
    assert.equal(errors.length, 2);
    assert.equal(inspector.activeAlerts().length, 2);
  });

  test('alerts: false turns them off', (t) => {
    const { inspector } = setup(t, { alerts: false });
    inspector.registerPool(new FakePoolAdapter({ max: 1, waiting: 1 }), { name: 'x' });
    inspector.evaluateAlerts();
    assert.deepEqual(inspector.activeAlerts(), []);
  });

  test('bad rules are refused with an error naming the field', () => {
    const good = callersWaitingRule(0);
    const cases: [unknown, string][] = [
      ['nope', 'alerts.rules'],
      [[{ ...good, name: 'has space' }], 'alerts.rules[0].name'],
      [[good, good], 'alerts.rules[1].name'],
      [[{ ...good, severity: 'page' }], 'alerts.rules[0].severity'],
      [[{ ...good, forMillis: -1 }], 'alerts.rules[0].forMillis'],
      [[{ ...good, condition: 'x > 1' }], 'alerts.rules[0].condition'],
      [[{ ...good, summary: undefined }], 'alerts.rules[0].summary'],
      [[{ ...good, pools: 'main' }], 'alerts.rules[0].pools'],
    ];
    for (const [rules, option] of cases) {
      assert.throws(
        () => new Inspector({ historyIntervalMillis: 0, alerts: { rules: rules as AlertRule[] } }),
        (error: unknown) => error instanceof OptionsError && error.option === option,
        `expected OptionsError for ${option}`,
      );
    }
    assert.throws(() => new Inspector({ alerts: 'on' as unknown as false }), OptionsError);
    assert.throws(() => new Inspector({ alerts: { intervalMillis: -5 } }), OptionsError);
  });
});

describe('AlertEvaluator', () => {
  test('active() lists firing before pending, oldest first', () => {
    const evaluator = new AlertEvaluator([utilizationAboveRule(0, 1000), callersWaitingRule(0)], () => undefined);
    const stats = { poolName: 'p', utilizationPercent: 50, expectFull: false, pending: 1, used: 1, max: 2 };
    const iso = (time: number) => `t${time}`;
    evaluator.evaluate([stats as never], 0, iso);
    const active = evaluator.active(iso);
    assert.deepEqual(
      active.map((alert) => [alert.rule, alert.state, alert.activeSince, alert.firedAt]),
      [
        ['pool-callers-waiting', 'firing', 't0', 't0'],
        ['pool-utilization-high', 'pending', 't0', null],
      ],
    );
  });
});
