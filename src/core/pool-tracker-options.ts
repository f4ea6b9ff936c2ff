import { OptionsError, PoolNameError } from '../errors.js';
import { DEFAULT_CRITICAL_PERCENT, DEFAULT_WARNING_PERCENT, validateThresholds } from './pool-health.js';
import { DEFAULT_SATURATION_COOLDOWN_MILLIS, DEFAULT_SATURATION_PERCENT } from './saturation-watch.js';
import type { StackCaptureMode } from './stack-capture.js';
import { DEFAULT_KEPT_FRAMES, STACK_CAPTURE_MODES } from './stack-capture.js';
import type { QueryCommentOptions, ResolvedQueryComments } from './query-comment-options.js';
import { resolveQueryComments } from './query-comment-options.js';

/** Default leak threshold: 30 s. A checkout held that long in a request path is almost always a bug. */
export const DEFAULT_LEAK_THRESHOLD_MILLIS = 30_000;

/** Per-pool settings. Every field but `name` has a default; inspector-wide defaults can be set in `InspectorOptions`. */
export interface PoolTrackingOptions {
  /** Unique name of the pool within the inspector (shown everywhere, the `pool_name` of metrics). */
  readonly name: string;
  /**
   * Report a checkout held longer than this (once per lease; its return is reported too). Default 30000;
   * 0 disables. Pools declared `expectFull` default to 0.
   */
  readonly leakThresholdMillis?: number;
  /** When to capture the acquisition stack. Default `adaptive`; see StackCaptureMode. */
  readonly stackCapture?: StackCaptureMode;
  /** Adaptive mode: stacks captured per second at most before sampling starts. Default 200 (about 0.3% of a core at 10 us a capture; see bench/README.md). */
  readonly stackCaptureBudgetPerSecond?: number;
  /**
   * Frames of your code kept in a lease's stack: the site (the first frame outside node_modules and poolscope) and
   * its callers; up to 3 library frames before the site are shown too. Each captured frame costs about 0.2-0.8 us
   * at every captured checkout: captures walk only to the site plus these frames, as deep as the pool's call sites
   * need (learned, up to 64 frames). Default 3 (the site and two callers).
   */
  readonly stackFrameLimit?: number;
  /** Utilization percent for level `warning`. Default 80. */
  readonly warningPercent?: number;
  /** Utilization percent for level `critical`. Default 90. */
  readonly criticalPercent?: number;
  /** Utilization percent that triggers an automatic snapshot. Default 80. */
  readonly saturationPercent?: number;
  /** Minimum time between two automatic snapshots of this pool. Default 10000. */
  readonly saturationCooldownMillis?: number;
  /** The pool is full by design (LISTEN connections): full is healthy, no leak threshold by default. */
  readonly expectFull?: boolean;
  /**
   * What to do with a connection released inside a transaction (a dirty release), besides reporting it:
   * - `report` (default): return it to the pool as it is (observing changes nothing; the next borrower inherits the
   *   open transaction, which is reported once, naming the lease that left it open);
   * - `rollback`: send ROLLBACK before it goes back to the pool (the work of the open transaction is lost, as it
   *   would be anyway; the connection stays open); if ROLLBACK fails the connection is destroyed;
   * - `destroy`: close the connection instead of returning it (costs a new connection later).
   */
  readonly onDirtyRelease?: DirtyReleasePolicy;
  /** Older form of `onDirtyRelease: 'destroy'` (true) or `'report'` (false); `onDirtyRelease` wins when both are set. */
  readonly destroyDirtyReleases?: boolean;
  /** After an owner ends, how long its leases may still be returned before they are reported. Default 100. */
  readonly ownerEndGraceMillis?: number;
  /** Longest query text kept per lease (characters). Default 1000. */
  readonly maxQueryTextLength?: number;
  /** More stack frames to drop from stacks altogether, matched against V8's frame text. */
  readonly hiddenFrames?: readonly RegExp[];
  /**
   * Frames of your own that are library code (e.g. your database helper module): kept in the stack, never named as
   * the site, so reports name the code that called them. Frames under node_modules always are.
   */
  readonly libraryFrames?: readonly RegExp[];
  /**
   * Frames that are your application's code even where poolscope would hide them as its own or set them aside as
   * library code under node_modules (e.g. an app vendored under node_modules, or poolscope's own CLI demo, which
   * plays a user's app): never hidden, and named as the site when first. Matched against V8's frame text.
   */
  readonly applicationFrames?: readonly RegExp[];
  /**
   * The application_name of the pool's new connections (pg's application_name; mysql2's `program_name` connection
   * attribute; not applied by the tarn and generic-pool adapters), when the pool's own config gives none. Default: generated, `<appName>/<instanceId>/<pool name>` (see InspectorOptions.appName); a string:
   * that name instead (1-63 printable ASCII characters; it also wins over the PGAPPNAME environment variable);
   * `false`: leave the pool's application_name alone.
   */
  readonly applicationName?: string | false;
  /**
   * A sqlcommenter comment at the end of each statement sent through a lease (`/*app='..',file='..',lease='..',
   * owner='..',pool='..'*\/`), so pg_stat_activity, the server log and `poolscope db` name the owner, the file:line
   * of the checkout and the lease behind each query. Off by default (`false`); `true` sends every field (but
   * `traceparent`); an object picks fields, adds your own (`extra`) and the OpenTelemetry trace context (`otel`).
   * Statements whose text must not change are sent as written: named prepared statements, statements that already
   * hold a comment, COPY, submittables (pg-cursor, pg-query-stream). Applied by trackPgPool only. See
   * docs/reference/query-comments.md.
   */
  readonly queryComments?: boolean | QueryCommentOptions;
}

/**
 * Settings that apply to every pool of an inspector unless the pool sets its own. `applicationName` can only be
 * turned off here (`false`): one name for every pool would make their sessions indistinguishable.
 */
export type PoolTrackingDefaults = Partial<Omit<PoolTrackingOptions, 'name' | 'applicationName'>> & {
  readonly applicationName?: false;
};

/** Options after defaults and validation. */
export interface ResolvedPoolTrackingOptions {
  readonly name: string;
  readonly leakThresholdMillis: number;
  readonly stackCapture: StackCaptureMode;
  readonly stackCaptureBudgetPerSecond: number;
  readonly stackFrameLimit: number;
  readonly warningPercent: number;
  readonly criticalPercent: number;
  readonly saturationPercent: number;
  readonly saturationCooldownMillis: number;
  readonly expectFull: boolean;
  readonly onDirtyRelease: DirtyReleasePolicy;
  readonly ownerEndGraceMillis: number;
  readonly maxQueryTextLength: number;
  readonly hiddenFrames: readonly RegExp[];
  readonly libraryFrames: readonly RegExp[];
  readonly applicationFrames: readonly RegExp[];
  /** undefined: generate one (when the pool's config sets none); a string: use it; false: leave it alone. */
  readonly applicationName: string | false | undefined;
  /** undefined: off. */
  readonly queryComments: ResolvedQueryComments | undefined;
}

/** What happens to a connection released inside a transaction (see PoolTrackingOptions.onDirtyRelease). */
export const DIRTY_RELEASE_POLICIES = ['report', 'rollback', 'destroy'] as const;
export type DirtyReleasePolicy = (typeof DIRTY_RELEASE_POLICIES)[number];

/** PostgreSQL keeps at most 63 bytes of application_name (NAMEDATALEN - 1), and only printable ASCII. */
export const MAX_APPLICATION_NAME_LENGTH = 63;
const APPLICATION_NAME = /^[\x20-\x7e]{1,63}$/;

const POOL_NAME = /^[A-Za-z0-9_.:-]{1,100}$/;

/** Merges defaults and validates; throws a coded error naming the first bad option. */
export function resolvePoolTrackingOptions(
  options: PoolTrackingOptions,
  defaults: PoolTrackingDefaults = {},
): ResolvedPoolTrackingOptions {
  if (options === null || typeof options !== 'object') {
    throw new OptionsError('options', options, "an object with at least a name, e.g. { name: 'main' }");
  }
  const name = checkPoolName(options.name);
  const merged = { ...defaults, ...stripUndefined(options) };
  const expectFull = bool('expectFull', merged.expectFull, false);
  const resolved: ResolvedPoolTrackingOptions = {
    name,
    expectFull,
    leakThresholdMillis: nonNegative('leakThresholdMillis', merged.leakThresholdMillis, expectFull ? 0 : DEFAULT_LEAK_THRESHOLD_MILLIS),
    stackCapture: oneOf('stackCapture', merged.stackCapture, STACK_CAPTURE_MODES, 'adaptive'),
    stackCaptureBudgetPerSecond: positive('stackCaptureBudgetPerSecond', merged.stackCaptureBudgetPerSecond, 200),
    stackFrameLimit: positiveInteger('stackFrameLimit', merged.stackFrameLimit, DEFAULT_KEPT_FRAMES),
    warningPercent: merged.warningPercent ?? DEFAULT_WARNING_PERCENT,
    criticalPercent: merged.criticalPercent ?? DEFAULT_CRITICAL_PERCENT,
    saturationPercent: percent('saturationPercent', merged.saturationPercent, DEFAULT_SATURATION_PERCENT),
    saturationCooldownMillis: nonNegative('saturationCooldownMillis', merged.saturationCooldownMillis, DEFAULT_SATURATION_COOLDOWN_MILLIS),
    onDirtyRelease: oneOf(
      'onDirtyRelease',
      merged.onDirtyRelease,
      DIRTY_RELEASE_POLICIES,
      bool('destroyDirtyReleases', merged.destroyDirtyReleases, false) ? 'destroy' : 'report',
    ),
    ownerEndGraceMillis: nonNegative('ownerEndGraceMillis', merged.ownerEndGraceMillis, 100),
    maxQueryTextLength: positiveInteger('maxQueryTextLength', merged.maxQueryTextLength, 1000),
    hiddenFrames: regexps('hiddenFrames', merged.hiddenFrames),
    libraryFrames: regexps('libraryFrames', merged.libraryFrames),
    applicationFrames: regexps('applicationFrames', merged.applicationFrames),
    applicationName: applicationName(merged.applicationName, defaults.applicationName),
    queryComments: resolveQueryComments(merged.queryComments),
  };
  validateThresholds('', resolved.warningPercent, resolved.criticalPercent);
  return resolved;
}

/** `name` when it is a valid pool name (1-100 of A-Z a-z 0-9 _ . : -); else throws POOLSCOPE_ERR_POOL_INVALID_NAME. */
export function checkPoolName(name: unknown): string {
  if (typeof name !== 'string' || !POOL_NAME.test(name)) {
    throw new PoolNameError(
      'POOLSCOPE_ERR_POOL_INVALID_NAME',
      String(name),
      `Invalid pool name ${JSON.stringify(name)}: use 1-100 characters from A-Z a-z 0-9 _ . : - (e.g. 'main', 'tenant:42').`,
    );
  }
  return name;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  const out: Partial<T> = {};
  for (const key of Object.keys(value) as (keyof T)[]) if (value[key] !== undefined) out[key] = value[key];
  return out;
}

/** A number of milliseconds >= 0, or the fallback when undefined; throws OptionsError naming `option`. */
export function nonNegative(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new OptionsError(option, value, 'a finite number of milliseconds >= 0 (0 disables where documented)');
  }
  return value;
}

function positive(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new OptionsError(option, value, 'a finite number > 0');
  }
  return value;
}

export function positiveInteger(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new OptionsError(option, value, 'a whole number > 0');
  }
  return value;
}

function percent(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > 100) {
    throw new OptionsError(option, value, 'a number in (0, 100]');
  }
  return value;
}

function bool(option: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new OptionsError(option, value, 'true or false');
  return value;
}

function oneOf<T extends string>(option: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new OptionsError(option, value, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`);
  }
  return value as T;
}

function applicationName(value: unknown, fromDefaults: unknown): string | false | undefined {
  if (fromDefaults !== undefined && fromDefaults !== false) {
    throw new OptionsError(
      'defaults.applicationName',
      fromDefaults,
      'false (or nothing): a name shared by every pool is not allowed; set applicationName per pool instead',
    );
  }
  if (value === undefined || value === false) return value;
  if (typeof value !== 'string' || !APPLICATION_NAME.test(value)) {
    throw new OptionsError(
      'applicationName',
      value,
      `false (leave the pool's application_name alone), or 1-${MAX_APPLICATION_NAME_LENGTH} printable ASCII characters ` +
        "(PostgreSQL shows other bytes as '?' and cuts at 63 bytes), e.g. 'billing-api/web-1/main'",
    );
  }
  return value;
}

function regexps(option: string, value: unknown): readonly RegExp[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((v) => v instanceof RegExp)) {
    throw new OptionsError(option, value, 'an array of RegExp');
  }
  return value as RegExp[];
}
