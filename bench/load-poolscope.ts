// Which build of poolscope a bench measures.
//
// Under `node --import tsx`, TypeScript files are compiled by esbuild with keepNames, which wraps every named closure
// in `__name(fn, 'name')`, an Object.defineProperty per closure created. poolscope creates a few closures per checkout
// and per query, so measuring src/ through tsx overstates its cost (by about 1-2 us per checkout on the bench
// machine). What users run is tsc's output, so by default the bench transpiles the current src/ with the TypeScript
// compiler into a temporary folder marked `"type": "module"` (which tsx leaves alone) and measures that.

import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import type * as Poolscope from '../src/index.js';

/** `tsc`: current src/ transpiled by TypeScript (default); `dist`: the `npm run build` output; `src`: through tsx. */
export const LIB_CHOICES = ['tsc', 'dist', 'src'] as const;
export type LibChoice = (typeof LIB_CHOICES)[number];

export interface LoadedPoolscope {
  readonly lib: typeof Poolscope;
  readonly kind: LibChoice;
  /** One line for the bench header: what was loaded. */
  readonly description: string;
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SRC_DIR = path.join(ROOT, 'src');
const DIST_ENTRY = path.join(ROOT, 'dist', 'index.js');

function sourceFiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) files.push(...sourceFiles(full));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) files.push(full);
  }
  return files;
}

/**
 * Transpiles every src/ file on its own (the project uses verbatimModuleSyntax, so per-file output equals tsc's)
 * with tsconfig.json's target into a fresh temporary folder; returns the folder (the caller removes it). Exported for
 * benches that run several child processes: one transpile, so every child measures the same code.
 */
export function transpileSources(): string {
  const configPath = path.join(ROOT, 'tsconfig.json');
  const read = ts.readConfigFile(configPath, (file) => ts.sys.readFile(file));
  if (read.error !== undefined) throw new Error(`cannot read tsconfig.json: ${ts.flattenDiagnosticMessageText(read.error.messageText, '\n')}`);
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, ROOT, undefined, configPath);
  const compilerOptions: ts.CompilerOptions = {
    ...parsed.options,
    module: ts.ModuleKind.ES2022,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    declaration: false,
    declarationMap: false,
    sourceMap: false,
    inlineSourceMap: false,
    noEmit: false,
  };
  const outDir = mkdtempSync(path.join(os.tmpdir(), 'poolscope-bench-'));
  writeFileSync(path.join(outDir, 'package.json'), '{ "type": "module" }\n');
  for (const file of sourceFiles(SRC_DIR)) {
    const output = ts.transpileModule(readFileSync(file, 'utf8'), { compilerOptions, fileName: file, reportDiagnostics: false });
    const target = path.join(outDir, path.relative(SRC_DIR, file)).replace(/\.ts$/, '.js');
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, output.outputText);
  }
  return outDir;
}

export async function loadPoolscope(choice: LibChoice): Promise<LoadedPoolscope> {
  if (choice === 'src') {
    const lib = (await import('../src/index.js')) as typeof Poolscope;
    return {
      lib,
      kind: choice,
      description: "src/ through tsx (--lib src): tsx's keepNames adds a defineProperty per closure, overstating poolscope's cost",
    };
  }
  if (choice === 'dist') {
    let distMtime: number;
    try {
      distMtime = statSync(DIST_ENTRY).mtimeMs;
    } catch {
      throw new Error('--lib dist: dist/index.js is missing; run `npm run build` first');
    }
    const srcMtime = Math.max(...sourceFiles(SRC_DIR).map((f) => statSync(f).mtimeMs));
    const lib = (await import(pathToFileURL(DIST_ENTRY).href)) as typeof Poolscope;
    const note = distMtime >= srcMtime ? 'newer than src/' : 'OLDER than src/: run `npm run build`';
    return { lib, kind: choice, description: `dist/ (--lib dist, ${note})` };
  }
  const started = performance.now();
  const outDir = transpileSources();
  try {
    const lib = (await import(pathToFileURL(path.join(outDir, 'index.js')).href)) as typeof Poolscope;
    const millis = Math.round(performance.now() - started);
    return { lib, kind: choice, description: `current src/ transpiled by TypeScript ${ts.version} (ES2022, as tsc emits it) in ${millis} ms` };
  } finally {
    // Loaded modules stay in memory; the files are no longer needed.
    rmSync(outDir, { recursive: true, force: true });
  }
}
