import { fileURLToPath } from 'node:url';
import path from 'node:path';

/**
 * Cheap stack capture for the checkout path: `Error.captureStackTrace` on a plain holder, with the frame limit
 * scoped to the call and every frame above the instrumented function hidden. V8 formats `holder.stack` only when
 * it is read, so an unread capture costs the walk (about 1.3-3 us) and nothing more. The site reported is the first
 * frame of the user's code: outside node_modules, poolscope and Node's internals (see formatStack).
 */

/** When stacks are captured at checkout. */
export const STACK_CAPTURE_MODES = ['adaptive', 'always', 'off'] as const;
/**
 * - `adaptive` (default): every checkout while the pool's checkout rate is under `stackCaptureBudgetPerSecond`;
 *   above it, the first ones of each 100 ms slice. After a leak is suspected on a lease that has no stack, every
 *   checkout of that pool is captured for a while so the next leak names its file:line.
 * - `always`: every checkout and every waiter (costs 10-15% of bare pg's throughput on `SELECT 1`).
 * - `off`: never; leak reports then name the owner only.
 */
export type StackCaptureMode = (typeof STACK_CAPTURE_MODES)[number];

/** A captured, not yet formatted stack (V8 fills `stack` lazily when it is read). */
export interface StackHolder {
  stack?: string;
}

/** Whether a formatted stack names the user's code. */
export const LOCATION_STATUSES = ['found', 'no-user-frame', 'not-captured'] as const;
/**
 * - `found`: the first frame of the user's code is `location`;
 * - `no-user-frame`: a stack was captured but holds no frame of the user's code (a query builder or ORM that runs
 *   the query from a microtask when awaited: Drizzle, Knex, Prisma); the owner is the attribution that works there;
 * - `not-captured`: no stack was taken (sampled out, or stack capture off).
 */
export type LocationStatus = (typeof LOCATION_STATUSES)[number];

/** A formatted stack: the frames that are not pool or poolscope internals, and the user's first frame. */
export interface FormattedStack {
  /** The first frame of the user's code as `path:line:col`, the path relative to the working directory when below it. */
  readonly location: string | undefined;
  readonly locationStatus: LocationStatus;
  /** Frames as V8 prints them, without the leading `at `: a few library frames, the user's, then its callers. */
  readonly frames: readonly string[];
  /** Frames V8 recorded before any was dropped (a stack cut by the capture limit has as many as the limit). */
  readonly rawFrames: number;
  /** Index (among the raw frames) of the user's frame; -1 when there is none. */
  readonly userFrameIndex: number;
}

/** How frames are sorted when a stack is formatted. */
export interface FrameRules {
  /** Frames dropped entirely (the user's `hiddenFrames`), besides pg, pg-pool, poolscope and Node's internals. */
  readonly hidden?: readonly RegExp[];
  /**
   * Frames that are library code (the user's `libraryFrames`): kept in the stack, never named as the location.
   * Everything under node_modules is library code already.
   */
  readonly library?: readonly RegExp[];
  /**
   * Frames that are the application's code (the user's `applicationFrames`) even where they would be hidden as
   * poolscope's own or set aside as node_modules' library code: never hidden, and may be named as the location.
   */
  readonly application?: readonly RegExp[];
  /** Frames of the user's code kept in `frames`: the site and its callers (default 3). */
  readonly keep?: number;
}

const POOLSCOPE_SOURCE_DIR = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
/**
 * poolscope's own code: the folder this module was loaded from (dist/, src/ under tsx, or wherever a bundle put it),
 * and the package's src/ and dist/ (source maps of a linked checkout or a workspace point at src/). Under
 * node_modules it is hidden anyway; this covers `npm link`, workspaces and running from a checkout.
 */
const POOLSCOPE_ROOT = path.dirname(POOLSCOPE_SOURCE_DIR);
const POOLSCOPE_CODE_DIRS = [
  ...new Set([POOLSCOPE_SOURCE_DIR + path.sep, path.join(POOLSCOPE_ROOT, 'src') + path.sep, path.join(POOLSCOPE_ROOT, 'dist') + path.sep]),
];

/** Frames hidden from stacks: node-postgres, pg-pool, poolscope itself, and Node's internals. */
const DEFAULT_HIDDEN_FRAME_PATTERNS: readonly RegExp[] = [
  /[\\/]node_modules[\\/](pg|pg-pool|pg-native|pg-cursor|pg-query-stream|pg-protocol|poolscope)[\\/]/,
  /\(node:internal[\\/]|\bnode:internal[\\/]/,
  /^new Promise \(<anonymous>\)$/,
];
/** Library code: kept in the stack, never the location. */
const NODE_MODULES = /[\\/]node_modules[\\/]/;

/** Library frames shown before the user's frame, so a stack shows which library call led there. */
const LIBRARY_FRAMES_BEFORE_USER = 3;
/** Frames kept by default from the site on: the site and two callers (each captured frame costs ~0.2-0.8 us). */
export const DEFAULT_KEPT_FRAMES = 3;
/** Most raw frames ever captured: probes and the rare release-site captures use it. */
export const MAX_CAPTURED_FRAMES = 64;

/**
 * Captures the current stack into a fresh holder, hiding `hideAbove` and every frame above it.
 * @param limit frames recorded by V8 (scoped to this call; `Error.stackTraceLimit` is restored). Async frames
 *   (`at async fn`) count too.
 */
export function captureStack(limit: number, hideAbove: (...args: never[]) => unknown): StackHolder {
  const holder: StackHolder = {};
  const previous = Error.stackTraceLimit;
  Error.stackTraceLimit = limit;
  Error.captureStackTrace(holder, hideAbove);
  Error.stackTraceLimit = previous;
  return holder;
}

const EMPTY: FormattedStack = Object.freeze({ location: undefined, locationStatus: 'not-captured', frames: [], rawFrames: 0, userFrameIndex: -1 });

/**
 * Formats a holder: splits frames, drops pool/poolscope/internal frames, finds the first frame of the user's code
 * (outside node_modules, poolscope and Node's internals) and keeps a few library frames before it and its callers
 * after it. `rules` may be the extra hidden patterns alone (older form).
 */
export function formatStack(holder: StackHolder | undefined, rules: FrameRules | readonly RegExp[] = {}): FormattedStack {
  if (holder === undefined) return EMPTY;
  let raw: string | undefined;
  try {
    raw = holder.stack;
  } catch {
    raw = undefined;
  }
  if (typeof raw !== 'string') return EMPTY;
  const { hidden = [], library = [], application = [], keep = DEFAULT_KEPT_FRAMES } = Array.isArray(rules)
    ? { hidden: rules as readonly RegExp[] }
    : (rules as FrameRules);
  const visible: string[] = [];
  let rawFrames = 0;
  let userVisible = -1;
  let userRaw = -1;
  let location: string | undefined;
  for (const line of raw.split('\n')) {
    const trimmed = line.trim();
    if (!trimmed.startsWith('at ')) continue;
    rawFrames += 1;
    const frame = trimmed.slice(3);
    const app = application.length > 0 && matchesAny(frame, application);
    if (!app && isHiddenFrame(frame, hidden)) continue;
    if (location === undefined && (app || !isLibraryFrame(frame, library))) {
      const at = locationOfFrame(frame);
      if (at !== undefined) {
        location = at;
        userVisible = visible.length;
        userRaw = rawFrames - 1;
      }
    }
    visible.push(frame);
  }
  const start = userVisible < 0 ? 0 : Math.max(0, userVisible - LIBRARY_FRAMES_BEFORE_USER);
  const frames = visible.slice(start, userVisible < 0 ? LIBRARY_FRAMES_BEFORE_USER + keep : userVisible + keep);
  return { location, locationStatus: location === undefined ? 'no-user-frame' : 'found', frames, rawFrames, userFrameIndex: userRaw };
}

function matchesAny(frame: string, patterns: readonly RegExp[]): boolean {
  for (const pattern of patterns) if (pattern.test(frame)) return true;
  return false;
}

function isHiddenFrame(frame: string, extraHidden: readonly RegExp[]): boolean {
  for (const dir of POOLSCOPE_CODE_DIRS) if (frame.includes(dir)) return true;
  for (const pattern of DEFAULT_HIDDEN_FRAME_PATTERNS) if (pattern.test(frame)) return true;
  for (const pattern of extraHidden) if (pattern.test(frame)) return true;
  return false;
}

function isLibraryFrame(frame: string, library: readonly RegExp[]): boolean {
  if (NODE_MODULES.test(frame)) return true;
  for (const pattern of library) if (pattern.test(frame)) return true;
  return false;
}

const FRAME_LOCATION = /\(?((?:file:\/\/)?[^()\s][^()]*?):(\d+):(\d+)\)?$/;

/** `path:line:col` of one V8 frame, relative to the working directory when below it. */
export function locationOfFrame(frame: string): string | undefined {
  const match = FRAME_LOCATION.exec(frame);
  if (match === null) return undefined;
  let file = match[1] ?? '';
  if (file.startsWith('async ')) file = file.slice(6);
  if (file.startsWith('file://')) {
    try {
      file = fileURLToPath(file);
    } catch {
      return undefined;
    }
  }
  if (file.startsWith('node:') || file === '<anonymous>' || file === 'native') return undefined;
  const relative = path.relative(process.cwd(), file);
  const shown = relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
  return `${shown}:${match[2]}:${match[3]}`;
}

/** Length of one adaptive budget slice. */
const SLICE_MILLIS = 100;

/** First interval between two depth probes of a pool; it doubles after each probe up to the maximum. */
const FIRST_PROBE_INTERVAL_MILLIS = 1_000;
const MAX_PROBE_INTERVAL_MILLIS = 60_000;

/**
 * Decides, per checkout, whether to capture a stack, and how deep. One per tracked pool; `shouldCapture` is a few
 * comparisons.
 *
 * Depth: a walk costs about 0.15-0.3 us per frame, so captures record only as many frames as this pool's call
 * sites need to reach the user's code. The need is learned: now and then (the first capture, then after 1 s, 2 s,
 * 4 s ... up to once a minute) one capture records up to MAX_CAPTURED_FRAMES and is formatted at once, and the
 * depth becomes the user's frame index plus a few callers. A stack read later that was cut by the limit before any
 * user frame doubles the depth for the next captures.
 */
export class StackCapturePolicy {
  readonly mode: StackCaptureMode;
  readonly #perSlice: number;
  readonly #kept: number;
  #sliceStart = Number.NEGATIVE_INFINITY;
  #sliceCount = 0;
  #alwaysUntil = Number.NEGATIVE_INFINITY;
  #limit: number;
  #nextProbe = Number.NEGATIVE_INFINITY;
  #probeInterval = FIRST_PROBE_INTERVAL_MILLIS;

  /**
   * @param keptFrames frames of the user's code kept per stack (`stackFrameLimit`): a capture walks to the site plus
   *   that many frames minus one (its callers). Until a probe says where the site is, one frame (the pool's own call)
   *   is assumed before it.
   */
  constructor(mode: StackCaptureMode, budgetPerSecond: number, keptFrames: number = DEFAULT_KEPT_FRAMES) {
    this.mode = mode;
    this.#perSlice = Math.max(1, Math.round((budgetPerSecond * SLICE_MILLIS) / 1000));
    this.#kept = Math.min(MAX_CAPTURED_FRAMES, Math.max(1, keptFrames));
    this.#limit = Math.min(MAX_CAPTURED_FRAMES, this.#kept + 1);
  }

  /** Frames recorded by an ordinary capture now. */
  get captureLimit(): number {
    return this.#limit;
  }

  /** True when this capture should be a deep probe (formatted at once to learn the depth). */
  probeDue(now: number): boolean {
    if (now < this.#nextProbe) return false;
    this.#nextProbe = now + this.#probeInterval;
    this.#probeInterval = Math.min(MAX_PROBE_INTERVAL_MILLIS, this.#probeInterval * 2);
    return true;
  }

  /** Learns from a formatted probe (or any formatted stack): deep enough for its user frame and a few callers. */
  learn(formatted: FormattedStack): void {
    if (formatted.userFrameIndex >= 0) {
      this.#raise(formatted.userFrameIndex + this.#kept);
    } else if (formatted.rawFrames >= this.#limit && formatted.rawFrames < MAX_CAPTURED_FRAMES) {
      // Cut by the limit before any user frame: the site is deeper than this pool captures.
      this.#raise(this.#limit * 2);
    }
  }

  #raise(limit: number): void {
    const bounded = Math.min(MAX_CAPTURED_FRAMES, limit);
    if (bounded > this.#limit) this.#limit = bounded;
  }

  shouldCapture(now: number): boolean {
    if (this.mode === 'always') return true;
    if (this.mode === 'off') return false;
    if (now < this.#alwaysUntil) return true;
    if (now - this.#sliceStart >= SLICE_MILLIS) {
      this.#sliceStart = now;
      this.#sliceCount = 0;
    }
    if (this.#sliceCount < this.#perSlice) {
      this.#sliceCount += 1;
      return true;
    }
    return false;
  }

  /** Adaptive mode only: capture every checkout until `until` (monotonic ms). */
  captureAllUntil(until: number): void {
    if (this.mode === 'adaptive' && until > this.#alwaysUntil) this.#alwaysUntil = until;
  }

  /** True while an escalation is in force. */
  isEscalated(now: number): boolean {
    return now < this.#alwaysUntil;
  }
}
