#!/usr/bin/env node
/**
 * The `poolscope` CLI entry point: the only file that reads process.argv, wires Ctrl-C and calls process.exit.
 * Everything else is in the commands (src/cli/commands/<name>-command.ts).
 */
import { CLI_COMMANDS } from './command-registry.js';
import { CliUsageError, EXIT_CODES, type CliCommand, type CliIo } from './cli-command.js';

/** The top-level help. */
export function mainHelp(commands: readonly CliCommand[] = CLI_COMMANDS): string {
  const width = Math.max(...commands.map((command) => command.name.length));
  return [
    'poolscope: observe and diagnose database connection pools',
    '',
    'Usage: poolscope <command> [options]',
    '',
    'Commands:',
    ...commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`),
    '',
    'Run `poolscope <command> --help` for a command\'s options. Exit codes: docs/reference/cli.md.',
    '',
  ].join('\n');
}

/** Runs the CLI with `argv` (without node and the script); resolves to the exit code. */
export async function runCli(argv: readonly string[], io: CliIo, commands: readonly CliCommand[] = CLI_COMMANDS): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(mainHelp(commands));
    return name === undefined ? EXIT_CODES.usage : EXIT_CODES.ok;
  }
  if (name === '--version' || name === '-v') {
    const { createRequire } = await import('node:module');
    const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };
    io.stdout.write(`${pkg.version}\n`);
    return EXIT_CODES.ok;
  }
  const command = commands.find((candidate) => candidate.name === name);
  if (command === undefined) {
    io.stderr.write(`poolscope: unknown command "${name}". Commands: ${commands.map((c) => c.name).join(', ')}.\n`);
    return EXIT_CODES.usage;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(command.help.endsWith('\n') ? command.help : `${command.help}\n`);
    return EXIT_CODES.ok;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof CliUsageError) {
      io.stderr.write(`poolscope ${command.name}: ${error.message}\nRun \`poolscope ${command.name} --help\` for usage.\n`);
      return EXIT_CODES.usage;
    }
    throw error;
  }
}

async function main(): Promise<void> {
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (): void => {
    interrupts += 1;
    if (interrupts > 1) process.exit(EXIT_CODES.interrupted); // a second Ctrl-C: stop now
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const code = await runCli(process.argv.slice(2), {
      stdout: process.stdout,
      stderr: process.stderr,
      env: process.env,
      signal: controller.signal,
    });
    process.exitCode = controller.signal.aborted && code === EXIT_CODES.ok ? EXIT_CODES.interrupted : code;
  } catch (error) {
    process.stderr.write(`poolscope: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

// Run only as a program, not when imported (tests import runCli).
// Through npm's bin symlink argv[1] is the link, so compare real paths.
const invokedAs = process.argv[1];
const { realpathSync } = await import('node:fs');
const { pathToFileURL } = await import('node:url');
if (invokedAs !== undefined && import.meta.url === pathToFileURL(realpathSync(invokedAs)).href) {
  await main();
}
