/**
 * Property-based fuzzing with fast-check, seeded and bounded (issue 17).
 *
 * Every property of test/unit/fuzz-*.test.ts runs through `fuzzSuite(import.meta.url).property(...)`:
 *   - runs: POOLSCOPE_FUZZ_RUNS per property (default DEFAULT_FUZZ_RUNS, what `npm test` runs), times the
 *     property's weight (a costly property asks for fewer runs). `npm run fuzz` sets 20000.
 *   - seed: POOLSCOPE_FUZZ_SEED (default DEFAULT_FUZZ_SEED, fixed: every run of `npm test` checks the same cases).
 *   - replay: POOLSCOPE_FUZZ_PATH (with the seed) replays one failure's shrunk counterexample; the failure message
 *     prints the whole command, test name pattern included, so only that property runs.
 * A failing property throws an Error whose message holds fast-check's report (seed, path, counterexample, the
 * assertion that failed) and that command; each passing property leaves a diagnostic line `fuzz: N runs, seed S`.
 */
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test, type TestContext } from 'node:test';
import fc from 'fast-check';

/** The seed when POOLSCOPE_FUZZ_SEED is not set. */
export const DEFAULT_FUZZ_SEED = 1_700_017;
/** Runs per property (weight 1) when POOLSCOPE_FUZZ_RUNS is not set: the bounded run of `npm test`. */
export const DEFAULT_FUZZ_RUNS = 300;

export interface FuzzSettings {
  readonly seed: number;
  /** Runs of a weight-1 property. */
  readonly runs: number;
  /** A counterexample path to replay (from a failure report), or undefined. */
  readonly path: string | undefined;
}

/** Reads POOLSCOPE_FUZZ_SEED / _RUNS / _PATH; a malformed value throws (a typo must not silently mean default). */
export function fuzzSettings(env: Readonly<Record<string, string | undefined>> = process.env): FuzzSettings {
  const seedText = env.POOLSCOPE_FUZZ_SEED?.trim();
  const runsText = env.POOLSCOPE_FUZZ_RUNS?.trim();
  const pathText = env.POOLSCOPE_FUZZ_PATH?.trim();
  let seed = DEFAULT_FUZZ_SEED;
  if (seedText !== undefined && seedText !== '') {
    seed = /^-?\d{1,10}$/.test(seedText) ? Number(seedText) : Number.NaN;
    if (!Number.isSafeInteger(seed) || seed < -0x8000_0000 || seed > 0xffff_ffff) {
      throw new RangeError(`POOLSCOPE_FUZZ_SEED must be a 32-bit integer (as a failure report prints it), not ${JSON.stringify(seedText)}`);
    }
  }
  let runs = DEFAULT_FUZZ_RUNS;
  if (runsText !== undefined && runsText !== '') {
    runs = /^\d{1,9}$/.test(runsText) ? Number(runsText) : 0;
    if (runs < 1) throw new RangeError(`POOLSCOPE_FUZZ_RUNS must be a whole number >= 1, not ${JSON.stringify(runsText)}`);
  }
  if (pathText !== undefined && pathText !== '' && !/^\d+(?::\d+)*$/.test(pathText)) {
    throw new RangeError(`POOLSCOPE_FUZZ_PATH must be a path such as "12:3:0" (from a failure report), not ${JSON.stringify(pathText)}`);
  }
  return { seed, runs, path: pathText === '' ? undefined : pathText };
}

export interface FuzzPropertyOptions {
  /** Fraction (or multiple) of the runs for this property: 0.25 for a property four times as costly. Default 1. */
  readonly weight?: number;
}

/** A property, sync or async, over any arbitraries. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- fast-check's own property types are generic over a tuple.
type AnyProperty = fc.IRawProperty<any, boolean>;

export interface FuzzSuite {
  readonly settings: FuzzSettings;
  /**
   * Declares a node:test test that checks the property built by `build` with the seeded, bounded parameters. `build`
   * gets the test's context, to register clean-up (`t.after`) for what the property runs against.
   */
  property(name: string, build: (t: TestContext) => AnyProperty | Promise<AnyProperty>, options?: FuzzPropertyOptions): void;
}

/** Runs of a property of `weight` under `settings`: at least 1. */
export function runsFor(settings: FuzzSettings, weight = 1): number {
  return Math.max(1, Math.round(settings.runs * weight));
}

/** The fuzz helpers of one test file (`import.meta.url`), for the replay command. */
export function fuzzSuite(fileUrl: string, settings: FuzzSettings = fuzzSettings()): FuzzSuite {
  const file = relative(process.cwd(), fileURLToPath(fileUrl));
  return {
    settings,
    property(name, build, options = {}) {
      test(name, async (t) => {
        await checkProperty(t, file, await build(t), runsFor(settings, options.weight), settings);
      });
    },
  };
}

async function checkProperty(t: TestContext, file: string, property: AnyProperty, numRuns: number, settings: FuzzSettings): Promise<void> {
  const parameters: fc.Parameters<unknown> = {
    seed: settings.seed,
    numRuns,
    includeErrorInReport: true,
    ...(settings.path === undefined ? {} : { path: settings.path, endOnFailure: true }),
  };
  const details = await fc.check(property, parameters);
  if (details.failed) {
    const report = fc.defaultReportMessage(details) ?? 'the property failed';
    const replay =
      `POOLSCOPE_FUZZ_SEED=${details.seed} POOLSCOPE_FUZZ_PATH=${details.counterexamplePath ?? ''} ` +
      `node --import tsx --test --test-name-pattern=${shellQuote(`^${escapeRegExp(t.name)}$`)} ${file}`;
    throw new FuzzFailure(`${report}\n\nReplay this counterexample:\n  ${replay}\n`, details.errorInstance);
  }
  t.diagnostic(`fuzz: ${details.numRuns} runs, seed ${details.seed}${settings.path === undefined ? '' : `, replayed path ${settings.path}`}`);
}

/** A failed property: the message is fast-check's report plus the replay command; `cause` is the failing check. */
export class FuzzFailure extends Error {
  constructor(message: string, cause: unknown) {
    super(message, { cause });
    this.name = 'FuzzFailure';
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
