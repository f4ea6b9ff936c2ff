import type { CliIo } from './cli-command.js';

/** Colours the CLI uses (ANSI SGR codes). */
export const TERMINAL_COLORS = ['red', 'yellow', 'green', 'dim', 'bold'] as const;
export type TerminalColor = (typeof TERMINAL_COLORS)[number];

const SGR: Record<TerminalColor, string> = { red: '31', yellow: '33', green: '32', dim: '2', bold: '1' };

/** Colour only for people: stdout is a terminal and NO_COLOR (https://no-color.org) is unset or empty. */
export function colorEnabled(io: Pick<CliIo, 'stdout' | 'env'>): boolean {
  const noColor = io.env.NO_COLOR;
  return io.stdout.isTTY === true && (noColor === undefined || noColor === '');
}

/** `text` in `color` when `enabled`, else unchanged. */
export function paint(text: string, color: TerminalColor, enabled: boolean): string {
  return enabled ? `\u001b[${SGR[color]}m${text}\u001b[0m` : text;
}

/** `text` without ANSI SGR sequences (for widths and tests). */
export function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;]*m/g, '');
}
