/**
 * Runs the CLI in-process with stdout and stderr captured, for CLI tests: `runCli` with a CliIo of in-memory streams.
 */
import { execFile } from 'node:child_process';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { runCli } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/cli-command.js';
import { eventOnce, listenTo } from './wait-for.js';

/** A writable that keeps what is written; `isTTY` can be set to play a terminal. */
export class Capture extends Writable {
  readonly chunks: string[] = [];
  isTTY: boolean | undefined = undefined;
  override _write(chunk: unknown, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.chunks.push(String(chunk));
    callback();
    this.emit('written');
  }
  get text(): string {
    return this.chunks.join('');
  }
  /** Resolves once what was written includes `text`; rejects after the bound, showing what was written so far. */
  async untilIncludes(text: string, timeoutMillis = 15_000): Promise<void> {
    if (this.text.includes(text)) return;
    await eventOnce(listenTo(this, 'written'), () => `${JSON.stringify(text)} in the output:\n${this.text}`, {
      timeoutMillis,
      accept: () => this.text.includes(text),
    });
  }
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliRunOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** stdout plays a terminal (live progress, colour unless NO_COLOR). */
  readonly tty?: boolean;
  readonly signal?: AbortSignal;
}

/** `runCli(args)` in this process; resolves to the exit code and what was written. */
export async function runCliCaptured(args: readonly string[], options: CliRunOptions = {}): Promise<CliRun> {
  const stdout = new Capture();
  const stderr = new Capture();
  stdout.isTTY = options.tty;
  const io: CliIo = { stdout, stderr, env: options.env ?? {}, signal: options.signal ?? new AbortController().signal };
  const code = await runCli(args, io);
  return { code, stdout: stdout.text, stderr: stderr.text };
}

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The real CLI as a child process (`node --import tsx src/cli/main.ts ...args`) from the repository root, with this
 * process's environment minus NO_COLOR and the test runner's context, plus `env` (a value of undefined removes the
 * variable). Resolves to the exit code and the output; bounded at 60 s.
 */
export function spawnCli(args: readonly string[], env: Readonly<Record<string, string | undefined>> = {}): Promise<CliRun> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  delete childEnv.NO_COLOR;
  delete childEnv.NODE_TEST_CONTEXT; // the child is a program, not a test file
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete childEnv[name];
    else childEnv[name] = value;
  }
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: REPO_ROOT, env: childEnv, timeout: 60_000 }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== 'number') {
        reject(error);
        return;
      }
      resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr });
    });
  });
}
