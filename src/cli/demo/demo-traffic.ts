import { setTimeout as sleep } from 'node:timers/promises';
import { parseStressArgs } from '../stress-options.js';
import type { StressWaveReport } from '../stress-report.js';
import { runStress } from '../stress-runner.js';
import type { DemoApp } from './demo-app.js';
import { DEMO_POOLS } from './demo-endpoints.js';
import type { DemoRequestGroup } from './demo-scenarios.js';

/**
 * The demo's traffic: sending a wave of requests to the app (one `poolscope stress` run per endpoint group) and
 * waiting, bounded, for the leak detector to report the last wave's leaks.
 */

/** How long to wait, at most, beyond the leak threshold, for the leak detector to report the last wave's leaks. */
const SETTLE_EXTRA_MILLIS = 3000;

/** Sends one wave: one stress run (one wave) per endpoint group, all at once. Returns the wave's summary line. */
export async function sendWave(app: DemoApp, groups: readonly DemoRequestGroup[], signal: AbortSignal): Promise<string> {
  const started = performance.now();
  const reports = await Promise.all(
    groups.map(async (group) => {
      const options = parseStressArgs(
        ['--base-url', app.url, '--endpoint', group.target, '--requests', String(group.count), '--waves', '1', '--delay', '0', '--format', 'json'],
        {},
      );
      const report = await runStress(options, signal);
      return { group, wave: report.waves[0] };
    }),
  );
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const total = groups.reduce((sum, group) => sum + group.count, 0);
  const parts = reports.map(({ group, wave }) => `${group.endpoint.path} ${outcomeOf(wave)}`);
  const main = app.inspector.stats(DEMO_POOLS.main);
  return (
    `${total} requests in ${seconds} s: ${parts.join(', ')}\n` +
    `      pool '${main.poolName}' now ${main.used}/${main.max} in use, ${main.pending} waiting, ` +
    `leaks suspected ${main.counters.leaksSuspected}, acquire timeouts ${main.counters.timeouts}`
  );
}

function outcomeOf(wave: StressWaveReport | undefined): string {
  if (wave === undefined) return 'not sent';
  const answers = Object.entries(wave.statuses).map(([status, count]) => `${count}x${status}`);
  const errors = Object.entries(wave.errors).map(([reason, count]) => `${count}x${reason}`);
  return [...answers, ...errors].join('+') || 'no answer';
}

/**
 * Waits (bounded) until every connection `main` still holds has been reported as a suspected leak: the leaks of the
 * last wave need the threshold to pass. Slow requests are finished by then (their waves were awaited).
 */
export async function settle(app: DemoApp, leakThresholdMillis: number, signal: AbortSignal): Promise<void> {
  const deadline = performance.now() + leakThresholdMillis + SETTLE_EXTRA_MILLIS;
  while (!signal.aborted && performance.now() < deadline) {
    const holders = app.inspector.snapshot(DEMO_POOLS.main).holders;
    if (holders.every((lease) => lease.leakSuspected)) return;
    await sleep(100, undefined, { signal }).catch(() => undefined);
  }
}
