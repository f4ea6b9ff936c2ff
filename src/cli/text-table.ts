import { stripAnsi } from './terminal-style.js';

/** How a column is aligned. */
export const COLUMN_ALIGNS = ['left', 'right'] as const;
export type ColumnAlign = (typeof COLUMN_ALIGNS)[number];

export interface TextTableOptions {
  /** Per column; default left. */
  readonly align?: readonly ColumnAlign[];
  /** Put before every line. Default two spaces. */
  readonly indent?: string;
}

/**
 * A plain-text table: the first row is the header, columns separated by two spaces and padded to the widest cell
 * (colour codes do not count towards the width). No trailing spaces. Returns the lines without a final newline.
 */
export function textTable(rows: readonly (readonly string[])[], options: TextTableOptions = {}): string {
  const indent = options.indent ?? '  ';
  const columns = Math.max(0, ...rows.map((row) => row.length));
  const widths = Array.from({ length: columns }, (_, column) =>
    Math.max(0, ...rows.map((row) => stripAnsi(row[column] ?? '').length)),
  );
  return rows
    .map((row) => {
      const cells = widths.map((width, column) => {
        const cell = row[column] ?? '';
        const pad = ' '.repeat(width - stripAnsi(cell).length);
        return options.align?.[column] === 'right' ? pad + cell : cell + pad;
      });
      return (indent + cells.join('  ')).trimEnd();
    })
    .join('\n');
}
