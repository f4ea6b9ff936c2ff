// Running one group of a bench's variants in a child process of its own.
//
// On Node 20, the first AsyncLocalStorage#run() (or enterWith) in a process turns on its async hooks, a PromiseHook
// included, for the whole process: from then on every promise pays for the hook and carries the storage's slot,
// whichever code created it. A bench that measures "bare pg inside an empty AsyncLocalStorage scope" or "poolscope
// with owners" next to bare pg in one process therefore slows the bare baseline as soon as the first scoped slice
// runs. So such a bench runs its variants in groups: `plain` (no AsyncLocalStorage ever runs) and `scoped`, each in a
// child process started with the parent's own loader flags; the child prints its raw figures as one line of JSON on
// stdout, and its progress on stderr, which the parent shows as it comes. The parent merges and prints one table.
//
// For `--lib tsc` the parent transpiles src/ once and hands the folder to every child (`--lib-dir`), so all groups
// measure the same code even if src/ is edited while the bench runs.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import type * as Poolscope from '../src/index.js';
import { loadPoolscope, transpileSources } from './load-poolscope.js';
import type { LibChoice, LoadedPoolscope } from './load-poolscope.js';

/** The groups a variant can belong to: never in a scope, or every operation inside one. */
export const GROUPS = ['plain', 'scoped'] as const;
export type GroupName = (typeof GROUPS)[number];

/**
 * True once AsyncLocalStorage's hooks are on in this process: they then stamp every new promise with symbol-keyed
 * fields (async ids and the storage's slot); with no hook on, a promise has no own symbols.
 */
export function asyncHooksActive(): boolean {
  return Object.getOwnPropertySymbols(Promise.resolve()).length > 0;
}

/** What the parent passes on to every child so they all load the same poolscope. */
export interface SharedLib {
  /** Arguments for the child: `--lib <choice>`, plus `--lib-dir <folder>` for a shared transpile. */
  readonly childArgs: readonly string[];
  /** For the header; undefined when each child describes what it loaded. */
  readonly description: string | undefined;
  /** Removes the shared folder, if any. */
  dispose(): void;
}

/** Parent side: `tsc` transpiles src/ once into a folder the children load; `dist` and `src` are loaded by each child. */
export function shareLib(choice: LibChoice): SharedLib {
  if (choice !== 'tsc') return { childArgs: ['--lib', choice], description: undefined, dispose: () => undefined };
  const started = performance.now();
  const dir = transpileSources();
  const millis = Math.round(performance.now() - started);
  return {
    childArgs: ['--lib', choice, '--lib-dir', dir],
    description:
      `current src/ transpiled by TypeScript ${ts.version} (ES2022, as tsc emits it) in ${millis} ms, once, ` +
      'loaded by every child process',
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Child side: the shared transpile when the parent made one, else what `--lib` says. */
export async function loadChildLib(choice: LibChoice, libDir: string | undefined): Promise<LoadedPoolscope> {
  if (libDir === undefined) return loadPoolscope(choice);
  const lib = (await import(pathToFileURL(path.join(libDir, 'index.js')).href)) as typeof Poolscope;
  return { lib, kind: choice, description: `src/ transpiled by the parent (${libDir})` };
}

export interface ChildGroup<T> {
  readonly child: ChildProcess;
  /** The child's JSON, once it exits 0; rejects on any other exit or unreadable output. */
  readonly result: Promise<T>;
}

/**
 * Starts `script` in a child with the parent's node flags (`--import tsx`) and `argv`; each stderr line goes to
 * `onLine` as it arrives; the last non-empty stdout line is parsed as the result.
 */
export function startChildGroup<T>(script: string, argv: readonly string[], onLine: (line: string) => void): ChildGroup<T> {
  const child = spawn(process.execPath, [...process.execArgv, script, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    stdout += chunk;
  });
  const lines = createInterface({ input: child.stderr as NodeJS.ReadableStream });
  lines.on('line', onLine);
  const result = new Promise<T>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code !== 0) {
        reject(new Error(`child ${argv.join(' ')} exited with ${signal ?? `code ${code}`}`));
        return;
      }
      const last = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(last) as T);
      } catch {
        reject(new Error(`child ${argv.join(' ')} printed no JSON result (stdout: ${JSON.stringify(stdout.slice(-300))})`));
      }
    });
  });
  return { child, result };
}
