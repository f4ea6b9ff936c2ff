import { fileURLToPath } from 'node:url';
import path from 'node:path';

/**
 * Cheap stack capture for the checkout path: `Error.captureStackTrace` on a plain holder, with the frame limit
 * scoped to the call and every frame above the instrumented function hidden. V8 formats `holder.stack` only when
 * it is read, so an unread capture costs the walk (about 1.3-3 us) and nothing more.
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

/** A formatted stack: the frames that are not pool or poolscope internals, and the first of them as file:line:col. */
export interface FormattedStack {
  /** The first user frame as `path:line:col`, the path relative to the working directory when below it. */
  readonly location: string | undefined;
  /** Frames as V8 prints them, without the leading `at `. */
  readonly frames: readonly string[];
}

const POOLSCOPE_SOURCE_DIR = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
/**
 * The demo app (src/demo, reached through `poolscope demo`) plays the user's app: its frames are shown like any
 * app's, so its planted leaks are reported at their file:line (also when installed under node_modules/poolscope).
 */
const POOLSCOPE_DEMO_DIR = path.join(POOLSCOPE_SOURCE_DIR, 'demo') + path.sep;

/** Frames hidden from stacks: node-postgres, pg-pool, poolscope itself, and Node's internals. */
const DEFAULT_HIDDEN_FRAME_PATTERNS: readonly RegExp[] = [
  /[\\/]node_modules[\\/](pg|pg-pool|pg-native|pg-cursor|pg-query-stream|poolscope)[\\/]/,
  /\(node:internal[\\/]|\bnode:internal[\\/]/,
  /^new Promise \(<anonymous>\)$/,
];

/**
 * Captures the current stack into a fresh holder, hiding `hideAbove` and every frame above it.
 * @param limit frames kept by V8 before trimming (scoped to this call; `Error.stackTraceLimit` is restored).
 */
export function captureStack(limit: number, hideAbove: (...args: never[]) => unknown): StackHolder {
  const holder: StackHolder = {};
  const previous = Error.stackTraceLimit;
  Error.stackTraceLimit = limit;
  Error.captureStackTrace(holder, hideAbove);
  Error.stackTraceLimit = previous;
  return holder;
}

/** Formats a holder: splits frames, drops pool/poolscope/internal frames, finds the first user location. */
export function formatStack(holder: StackHolder | undefined, extraHidden: readonly RegExp[] = []): FormattedStack {
  if (holder === undefined) return { location: undefined, frames: [] };
  let raw: string | undefined;
  try {
    raw = holder.stack;
  } catch {
    raw = undefined;
  }
  if (typeof raw !== 'string') return { location: undefined, frames: [] };
  const frames: string[] = [];
  for (const line of raw.split('\n')) {
    const trimmed = line.trim();
    if (!trimmed.startsWith('at ')) continue;
    const frame = trimmed.slice(3);
    if (isHiddenFrame(frame, extraHidden)) continue;
    frames.push(frame);
  }
  let location: string | undefined;
  for (const frame of frames) {
    location = locationOfFrame(frame);
    if (location !== undefined) break;
  }
  return { location, frames };
}

function isHiddenFrame(frame: string, extraHidden: readonly RegExp[]): boolean {
  const demo = frame.includes(POOLSCOPE_DEMO_DIR);
  if (!demo && frame.includes(POOLSCOPE_SOURCE_DIR + path.sep)) return true;
  if (!demo) for (const pattern of DEFAULT_HIDDEN_FRAME_PATTERNS) if (pattern.test(frame)) return true;
  for (const pattern of extraHidden) if (pattern.test(frame)) return true;
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

/**
 * Decides, per checkout, whether to capture a stack. One per tracked pool; `shouldCapture` is a few comparisons.
 */
export class StackCapturePolicy {
  readonly mode: StackCaptureMode;
  readonly #perSlice: number;
  #sliceStart = Number.NEGATIVE_INFINITY;
  #sliceCount = 0;
  #alwaysUntil = Number.NEGATIVE_INFINITY;

  constructor(mode: StackCaptureMode, budgetPerSecond: number) {
    this.mode = mode;
    this.#perSlice = Math.max(1, Math.round((budgetPerSecond * SLICE_MILLIS) / 1000));
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
