/**
 * What every CLI command is: a name, a one-line summary, its --help text, and `run`, which gets parsed-free argv and
 * an I/O context and resolves to an exit code. Commands never touch `process.argv`, `process.exit` or the real
 * streams themselves (only src/cli/main.ts does), so tests run them in-process.
 */

/** Where a command writes and what it may read of its environment. */
export interface CliIo {
  readonly stdout: NodeJS.WritableStream & { readonly isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Aborted on Ctrl-C (SIGINT/SIGTERM): long-running commands stop and clean up. */
  readonly signal: AbortSignal;
}

export interface CliCommand {
  readonly name: string;
  /** One line for `poolscope --help`. */
  readonly summary: string;
  /** The full `poolscope <name> --help` text. */
  readonly help: string;
  /** Runs with the arguments after the command name; resolves to the process exit code. */
  run(args: readonly string[], io: CliIo): Promise<number>;
}

/** Exit codes shared by every command (documented in docs/reference/cli.md). */
export const EXIT_CODES = {
  ok: 0,
  /** The command ran and found a problem it was asked to gate on (e.g. a critical pool). */
  problem: 1,
  /** Bad usage: unknown command or flag, bad value. */
  usage: 2,
  /** The target could not be reached or answered wrongly. */
  unreachable: 3,
  /** Interrupted (Ctrl-C). */
  interrupted: 130,
} as const;

/** Thrown by argument parsing: main prints the message and the command's usage, exits with EXIT_CODES.usage. */
export class CliUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliUsageError';
  }
}
