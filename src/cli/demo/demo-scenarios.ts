import { DEMO_ENDPOINTS } from './demo-endpoints.js';
import type { DemoEndpoint } from './demo-endpoints.js';

/**
 * What `poolscope demo` sends to the demo app: waves of concurrent requests mixing healthy, slow and leaky
 * endpoints, bounded, and a final burst of slow requests when the waves alone did not saturate the main pool.
 */

/**
 * Defaults of `poolscope demo`: five waves leak two connections each, so the tenth connection of `main` is taken by
 * the fifth wave and callers queue and time out. A default run takes about 10-15 s.
 */
export const DEMO_DEFAULTS = Object.freeze({
  waves: 5,
  requests: 12,
  /** Pause between waves. */
  delayMillis: 500,
});

/** Bounds of `--waves` and `--requests` (the demo is a show, not a load test). */
export const DEMO_LIMITS = Object.freeze({ maxWaves: 20, maxRequests: 200 });

/** Requests to one endpoint within a wave. */
export interface DemoRequestGroup {
  readonly endpoint: DemoEndpoint;
  /** The path requested (with a query string for the lookup). */
  readonly target: string;
  readonly count: number;
}

/** The path the demo requests for an endpoint: the lookup asks for a customer that does not exist. */
export function demoTarget(endpoint: DemoEndpoint): string {
  return endpoint.path === '/api/customers/lookup' ? `${endpoint.path}?name=nobody` : endpoint.path;
}

/**
 * One wave of `requests` concurrent requests: each leaky endpoint once (in the order listed, as far as `requests`
 * goes), the rest split between the healthy endpoint (the larger half) and the slow one.
 */
export function demoWaveMix(requests: number): DemoRequestGroup[] {
  const leaky = DEMO_ENDPOINTS.filter((endpoint) => endpoint.kind === 'leaky');
  const healthy = DEMO_ENDPOINTS.find((endpoint) => endpoint.kind === 'healthy');
  const slow = DEMO_ENDPOINTS.find((endpoint) => endpoint.kind === 'slow');
  const groups: DemoRequestGroup[] = [];
  const rest = Math.max(0, requests - leaky.length);
  if (healthy !== undefined && rest > 0) groups.push({ endpoint: healthy, target: demoTarget(healthy), count: Math.ceil(rest / 2) });
  if (slow !== undefined && Math.floor(rest / 2) > 0) groups.push({ endpoint: slow, target: demoTarget(slow), count: Math.floor(rest / 2) });
  for (const endpoint of leaky.slice(0, Math.min(leaky.length, requests))) groups.push({ endpoint, target: demoTarget(endpoint), count: 1 });
  return groups;
}

/** The burst sent when the waves did not saturate the main pool: `max + 2` slow requests at once, so callers queue. */
export function demoBurst(mainMax: number): DemoRequestGroup[] {
  const slow = DEMO_ENDPOINTS.find((endpoint) => endpoint.kind === 'slow');
  return slow === undefined ? [] : [{ endpoint: slow, target: demoTarget(slow), count: mainMax + 2 }];
}
