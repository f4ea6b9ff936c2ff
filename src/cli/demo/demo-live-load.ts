import { setTimeout as sleep } from 'node:timers/promises';
import type { DemoApp } from './demo-app.js';
import { DEMO_ENDPOINTS } from './demo-endpoints.js';
import type { DemoEndpointKind } from './demo-endpoints.js';
import { demoBurst, demoTarget } from './demo-scenarios.js';
import type { DemoRequestGroup } from './demo-scenarios.js';
import { sendWave } from './demo-traffic.js';

/**
 * The load of `poolscope demo --keep-running`, so the dashboard has something to show until Ctrl-C: a light steady
 * load (a few healthy and slow requests a second), one planted leak at a time (reclaimed and planted again, so the
 * feed shows it), and a saturating burst now and then.
 */

export interface DemoLiveLoadOptions {
  /** `max` of the main pool (the burst is max + 2 slow requests). */
  readonly mainMax: number;
  /** Pause between light waves. Default 1000. */
  readonly stepMillis?: number;
  /** A saturating burst every this many steps. Default 20. */
  readonly burstEvery?: number;
  /** The planted leak is reclaimed and planted again every this many steps. Default 30. */
  readonly leakEvery?: number;
}

function group(kind: DemoEndpointKind, count: number, path?: string): DemoRequestGroup[] {
  const endpoint = DEMO_ENDPOINTS.find((e) => e.kind === kind && (path === undefined || e.path === path));
  return endpoint === undefined ? [] : [{ endpoint, target: demoTarget(endpoint), count }];
}

/** Runs until `signal` aborts; never rejects (a failed wave is tried again at the next step). */
export async function runLiveLoad(app: DemoApp, signal: AbortSignal, options: DemoLiveLoadOptions): Promise<void> {
  const step = options.stepMillis ?? 1000;
  const burstEvery = options.burstEvery ?? 20;
  const leakEvery = options.leakEvery ?? 30;
  const light = [...group('healthy', 2), ...group('slow', 1)];
  // The leaks of the scripted run hold every connection of 'main': give them back so the live load can run.
  app.reclaimLeakedConnections();
  for (let n = 0; !signal.aborted; n += 1) {
    let wave = light;
    if (n % leakEvery === 0) {
      app.reclaimLeakedConnections();
      wave = [...wave, ...group('leaky', 1, '/api/customers/lookup')];
    }
    if (n % burstEvery === burstEvery - 1) wave = [...wave, ...demoBurst(options.mainMax)];
    await sendWave(app, wave, signal).catch(() => undefined);
    await sleep(step, undefined, { signal }).catch(() => undefined);
  }
}
