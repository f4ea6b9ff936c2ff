/**
 * Runs the CLI in-process with stdout and stderr captured, for CLI tests: `runCli` with a CliIo of in-memory streams.
 */
import { Writable } from 'node:stream';
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
