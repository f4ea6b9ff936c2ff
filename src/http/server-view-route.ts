import { HttpRouteError, OptionsError, PoolscopeError } from '../errors.js';
import type { ServerActivityReport } from '../server/activity-report.js';
import type { OpsResponse } from './ops-response.js';
import { jsonResponse } from './ops-response.js';

/**
 * Where `GET /api/server` reads the database's view: an `ActivityInspector` from 'poolscope/server', or anything
 * with its `activity()` method.
 */
export interface ServerViewSource {
  activity(): Promise<ServerActivityReport>;
}

/** How long one report answers `/api/server` (from when its read started): many open pages cost one query per 2 s. */
export const SERVER_VIEW_MAX_AGE_MILLIS = 2000;

/** The code of a 503 when the source failed with something that is not a PoolscopeError. */
const FALLBACK_FAILURE_CODE = 'POOLSCOPE_ERR_SERVER_QUERY_FAILED';

/** Checks the `serverView` option at setup. */
export function validateServerViewSource(source: unknown): ServerViewSource | undefined {
  if (source === undefined) return undefined;
  const candidate = source as Partial<ServerViewSource> | null;
  if (candidate === null || typeof candidate !== 'object' || typeof candidate.activity !== 'function') {
    throw new OptionsError(
      'serverView',
      source,
      "an ActivityInspector (new ActivityInspector({ connectionString }) from 'poolscope/server') or an object with an activity() method",
    );
  }
  return candidate as ServerViewSource;
}

export interface ServerViewRouteOptions {
  /** Receives the error of a failed read (once per read, however many callers shared it). */
  readonly onError: (error: unknown) => void;
  /** Milliseconds of a monotonic clock (tests pass their own). Default `performance.now()`. */
  readonly now?: () => number;
  /** Default SERVER_VIEW_MAX_AGE_MILLIS. */
  readonly maxAgeMillis?: number;
}

/** One read and what it answered. */
interface Read {
  readonly startedAt: number;
  readonly answer: Promise<OpsResponse>;
  settled: boolean;
}

/**
 * `GET /api/server`: the source's `ServerActivityReport` as JSON (200). Concurrent callers share one read, and its
 * answer (a report or a failure) is reused until it is `maxAgeMillis` old, counted from when the read started.
 * A failed read answers 503 `{ error, message }` with the failure's code (e.g. `POOLSCOPE_ERR_SERVER_CONNECT_FAILED`)
 * and goes to `onError`; the driver's message is not sent. Without a source: 404
 * `POOLSCOPE_ERR_HTTP_SERVER_VIEW_DISABLED` saying how to enable it.
 */
export class ServerViewRoute {
  readonly #source: ServerViewSource | undefined;
  readonly #onError: (error: unknown) => void;
  readonly #now: () => number;
  readonly #maxAgeMillis: number;
  #last: Read | undefined;

  constructor(source: ServerViewSource | undefined, options: ServerViewRouteOptions) {
    this.#source = source;
    this.#onError = options.onError;
    this.#now = options.now ?? (() => performance.now());
    this.#maxAgeMillis = options.maxAgeMillis ?? SERVER_VIEW_MAX_AGE_MILLIS;
  }

  /** True when a source is configured (the dashboard shows its panel). */
  get enabled(): boolean {
    return this.#source !== undefined;
  }

  /** The answer: the read in flight, the last one while fresh, or a new read. */
  answer(): Promise<OpsResponse> {
    const source = this.#source;
    if (source === undefined) {
      throw new HttpRouteError(
        404,
        'POOLSCOPE_ERR_HTTP_SERVER_VIEW_DISABLED',
        "The database's view is not enabled on these ops routes. Pass a source: { serverView: new ActivityInspector({ connectionString }) } " +
          "with ActivityInspector from 'poolscope/server' (it reads pg_stat_activity over a connection of its own).",
      );
    }
    const now = this.#now();
    const last = this.#last;
    if (last !== undefined && (!last.settled || now - last.startedAt < this.#maxAgeMillis)) return last.answer;
    const read: Read = { startedAt: now, answer: this.#read(source), settled: false };
    void read.answer.then(() => {
      read.settled = true;
    });
    this.#last = read;
    return read.answer;
  }

  /** Never rejects: a failure becomes the 503. */
  async #read(source: ServerViewSource): Promise<OpsResponse> {
    try {
      const report = await source.activity();
      return jsonResponse(200, report);
    } catch (error) {
      this.#onError(error);
      const code = error instanceof PoolscopeError ? error.code : FALLBACK_FAILURE_CODE;
      return jsonResponse(503, {
        error: code,
        message:
          `The database's view could not be read (${code}); the error was reported to the server (onError). ` +
          'Check that the server view can reach the database; the next request tries again.',
      });
    }
  }
}
