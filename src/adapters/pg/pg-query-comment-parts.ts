import { MAX_QUERY_COMMENT_VALUE_LENGTH } from '../../core/query-comment-options.js';
import { isSqlWhitespace, sqlCommentPair, truncateCommentValue } from '../../core/sql-comment-format.js';

/**
 * The pieces of pg-query-comments.ts that do not depend on a lease: where a comment goes in a statement (and which
 * statements are left alone), the formatting budget for the `file` of a lease, and the cache of encoded pairs.
 */

/**
 * Where the comment goes in `text`: before a trailing `;` and the whitespace after it, else at the end of its last
 * non-blank character; -1 when the statement is left alone (blank, holds `/*` or `--`, or is a COPY).
 */
export function commentInsertionPoint(text: string): number {
  if (text.includes('/*') || text.includes('--')) return -1;
  let end = text.length;
  while (end > 0 && isSqlWhitespace(text.charCodeAt(end - 1))) end -= 1;
  if (end === 0 || isCopy(text)) return -1;
  // Before a trailing ';' (the comment then belongs to the last statement, also for pg_stat_statements' text).
  return text.charCodeAt(end - 1) === 0x3b ? end - 1 : end;
}

/** True when the first keyword of `text` is COPY. */
function isCopy(text: string): boolean {
  let i = 0;
  while (i < text.length && isSqlWhitespace(text.charCodeAt(i))) i += 1;
  if (text.length < i + 4 || (text.charCodeAt(i) | 0x20) !== 0x63) return false; // c
  if (text.slice(i, i + 4).toLowerCase() !== 'copy') return false;
  const next = text.charCodeAt(i + 4);
  return Number.isNaN(next) || !isIdentifierChar(next);
}

function isIdentifierChar(code: number): boolean {
  return (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a) || code === 0x5f || code === 0x24 || code >= 0x80;
}

/** Length of one formatting budget slice, as the stack capture policy's. */
const SLICE_MILLIS = 100;

/** How many stacks may be formatted for comments per slice (stackCaptureBudgetPerSecond, spread over slices). */
export class FormatBudget {
  readonly #perSlice: number;
  #sliceStart = Number.NEGATIVE_INFINITY;
  #count = 0;

  constructor(perSecond: number) {
    this.#perSlice = Math.max(1, Math.round((perSecond * SLICE_MILLIS) / 1000));
  }

  take(now: number): boolean {
    if (now - this.#sliceStart >= SLICE_MILLIS) {
      this.#sliceStart = now;
      this.#count = 0;
    }
    if (this.#count >= this.#perSlice) return false;
    this.#count += 1;
    return true;
  }
}

/** Most values a PairCache keeps before it starts over. */
const PAIR_CACHE_SIZE = 256;

/** `key='value'` pairs of one key, encoded once per distinct value (bounded: cleared when full). */
export class PairCache {
  readonly #key: string;
  readonly #pairs = new Map<string, string>();

  constructor(key: string) {
    this.#key = key;
  }

  pair(value: string): string {
    let pair = this.#pairs.get(value);
    if (pair === undefined) {
      pair = sqlCommentPair(this.#key, truncateCommentValue(value, MAX_QUERY_COMMENT_VALUE_LENGTH));
      if (this.#pairs.size >= PAIR_CACHE_SIZE) this.#pairs.clear();
      this.#pairs.set(value, pair);
    }
    return pair;
  }
}
