import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { messageOf } from '../errors.js';
import type { ReadyzReport } from '../http/readyz-route.js';
import { ApiRequestError, getJson } from './api-client.js';
import type { StressOptions } from './stress-options.js';
import type { StressHealthReading, StressReport, StressWaveReport } from './stress-report.js';
import { healthReadingOf, summarizeStress } from './stress-report.js';
import { summarizeLatencies } from './latency-summary.js';

/**
 * Runs seed 001's stress test against a running app: reads pool health, then `waves` times sends `requests`
 * concurrent GETs to the target, reads pool health again, and pauses `delayMillis`. Stops at the next await when
 * `signal` aborts, and still returns what it measured (`interrupted: true`).
 */

/** Told as the run goes (the command prints from these). */
export interface StressRunHooks {
  onInitialHealth?(reading: StressHealthReading): void;
  /** After every finished request of a wave. */
  onProgress?(wave: number, done: number, failed: number): void;
  onWave?(wave: StressWaveReport): void;
}

/** What one request came to. */
type RequestOutcome =
  | { readonly kind: 'answer'; readonly status: number; readonly millis: number }
  | { readonly kind: 'error'; readonly reason: string }
  | { readonly kind: 'aborted' };

/**
 * Runs the whole test. Rejects with ApiRequestError when the first health read fails (nothing has been sent then:
 * a wrong URL or a missing token is not worth a load test); later health failures are recorded in the wave.
 */
export async function runStress(options: StressOptions, signal: AbortSignal, hooks: StressRunHooks = {}): Promise<StressReport> {
  const startedAt = new Date().toISOString();
  const waves: StressWaveReport[] = [];
  const latencies: number[] = [];
  let initialHealth: StressHealthReading | null = null;
  const finish = (): StressReport => ({
    target: { url: options.targetUrl, healthUrl: options.healthUrl },
    settings: { requests: options.requests, waves: options.waves, delayMillis: options.delayMillis, timeoutMillis: options.timeoutMillis },
    startedAt,
    finishedAt: new Date().toISOString(),
    interrupted: signal.aborted,
    initialHealth,
    waves,
    summary: summarizeStress(initialHealth, waves, latencies),
  });

  try {
    initialHealth = await readHealth(options, signal);
  } catch (error) {
    if (error instanceof ApiRequestError && error.failure === 'interrupted') return finish();
    throw error;
  }
  hooks.onInitialHealth?.(initialHealth);

  for (let wave = 1; wave <= options.waves && !signal.aborted; wave += 1) {
    const report = await runWave(options, wave, signal, hooks, latencies);
    waves.push(report);
    hooks.onWave?.(report);
    if (wave < options.waves && options.delayMillis > 0 && !signal.aborted) {
      await sleep(options.delayMillis, undefined, { signal }).catch(() => undefined);
    }
  }
  return finish();
}

async function runWave(
  options: StressOptions,
  wave: number,
  signal: AbortSignal,
  hooks: StressRunHooks,
  latencies: number[],
): Promise<StressWaveReport> {
  const started = performance.now();
  let done = 0;
  let failedSoFar = 0;
  const outcomes = await Promise.all(
    Array.from({ length: options.requests }, () =>
      sendOne(options, signal).then((outcome) => {
        if (outcome.kind !== 'aborted') done += 1;
        if (isFailure(outcome)) failedSoFar += 1;
        hooks.onProgress?.(wave, done, failedSoFar);
        return outcome;
      }),
    ),
  );
  const durationMillis = Math.round((performance.now() - started) * 1000) / 1000;
  const statuses = new Map<string, number>();
  const errors = new Map<string, number>();
  const waveLatencies: number[] = [];
  let succeeded = 0;
  let failed = 0;
  let aborted = 0;
  for (const outcome of outcomes) {
    if (outcome.kind === 'aborted') {
      aborted += 1;
      continue;
    }
    if (isFailure(outcome)) failed += 1;
    else succeeded += 1;
    if (outcome.kind === 'answer') {
      statuses.set(String(outcome.status), (statuses.get(String(outcome.status)) ?? 0) + 1);
      waveLatencies.push(outcome.millis);
    } else {
      errors.set(outcome.reason, (errors.get(outcome.reason) ?? 0) + 1);
    }
  }
  latencies.push(...waveLatencies);
  const completed = aborted === 0 && !signal.aborted;
  let health: StressHealthReading | null = null;
  if (!signal.aborted) {
    try {
      health = await readHealth(options, signal);
    } catch (error) {
      health =
        error instanceof ApiRequestError && error.failure === 'interrupted'
          ? null
          : { readAt: new Date().toISOString(), httpStatus: error instanceof ApiRequestError ? error.status : null, status: null, pools: [], error: messageOf(error) };
    }
  }
  return {
    wave,
    requests: options.requests,
    completed,
    succeeded,
    failed,
    aborted,
    statuses: Object.fromEntries(statuses),
    errors: Object.fromEntries(errors),
    latency: summarizeLatencies(waveLatencies),
    durationMillis,
    health,
  };
}

function isFailure(outcome: RequestOutcome): boolean {
  return outcome.kind === 'error' || (outcome.kind === 'answer' && outcome.status >= 400);
}

/** One GET of the target, timed to the end of its body. Redirects are not followed (a 3xx is an answer). */
async function sendOne(options: StressOptions, signal: AbortSignal): Promise<RequestOutcome> {
  if (signal.aborted) return { kind: 'aborted' };
  const timeout = AbortSignal.timeout(options.timeoutMillis);
  const started = performance.now();
  try {
    const response = await fetch(options.targetUrl, {
      headers: authorization(options.token),
      signal: AbortSignal.any([signal, timeout]),
      redirect: 'manual',
    });
    await response.arrayBuffer();
    return { kind: 'answer', status: response.status, millis: performance.now() - started };
  } catch (error) {
    if (signal.aborted) return { kind: 'aborted' };
    if (timeout.aborted) return { kind: 'error', reason: 'timeout' };
    return { kind: 'error', reason: errorReason(error) };
  }
}

/** Reads `/readyz` (200 and 503 are both answers). Rejects with ApiRequestError. */
async function readHealth(options: StressOptions, signal: AbortSignal): Promise<StressHealthReading> {
  const answer = await getJson<ReadyzReport>(options.healthUrl, { token: options.token, timeoutMillis: options.timeoutMillis, signal }, [503]);
  if (answer.body === null || typeof answer.body !== 'object' || !Array.isArray(answer.body.pools)) {
    throw new ApiRequestError(
      options.healthUrl,
      'not-json',
      `GET ${options.healthUrl} answered ${answer.status} but not with poolscope's /readyz report (check --health-url)`,
      answer.status,
    );
  }
  return healthReadingOf(answer.body, answer.status, new Date().toISOString());
}

function authorization(token: string | undefined): Record<string, string> {
  return token === undefined ? {} : { authorization: `Bearer ${token}` };
}

/** A short reason for a request with no answer: the system's code (ECONNREFUSED, ECONNRESET, ...) when known. */
function errorReason(error: unknown): string {
  const cause = (error as { cause?: unknown } | null)?.cause;
  const code = (cause as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code !== '') return code;
  if (cause instanceof Error) return cause.name === 'Error' ? cause.message.slice(0, 60) : cause.name;
  return error instanceof Error ? error.name : 'network error';
}
