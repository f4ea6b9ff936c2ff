/**
 * The sqlcommenter format (google.github.io/sqlcommenter/spec, now OpenTelemetry's sqlcommenter): one comment at the
 * end of a statement, `/*key='value',key='value'*\/`, keys sorted, each key and value URL-encoded and the value put
 * between single quotes. Written by the pg adapter's query comments (pg-query-comments.ts), read back by the server
 * view (pg_stat_activity.query). Pure functions, no state.
 *
 * Encoding is RFC 3986 percent-encoding, as OpenTelemetry's sql-common does it: encodeURIComponent, plus `! ' ( ) *`
 * (which encodeURIComponent leaves as they are). An encoded key or value is made of `A-Z a-z 0-9 - _ . ~ %` only:
 * no quote, comma, `*` or `/`, so no value can end the comment (`*\/` becomes `%2A%2F`), open a nested one
 * (PostgreSQL nests `/*` comments), end its quotes or add a pair. The spec's `\'` escape is never needed on write;
 * the reader accepts it.
 */

/** encodeURIComponent leaves these alone; RFC 3986 (and the sqlcommenter spec) reserve them. */
const RFC3986_RESERVED = /[!'()*]/g;
/** A UTF-16 surrogate without its pair: encodeURIComponent throws on it. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function percentOf(char: string): string {
  return `%${char.charCodeAt(0).toString(16).toUpperCase()}`;
}

/**
 * `text` percent-encoded per RFC 3986 (UTF-8). A lone surrogate (which encodeURIComponent refuses) is sent as
 * U+FFFD. Never throws.
 */
export function encodeSqlCommentText(text: string): string {
  let encoded: string;
  try {
    encoded = encodeURIComponent(text);
  } catch {
    encoded = encodeURIComponent(text.replace(LONE_SURROGATE, '\uFFFD'));
  }
  return encoded.replace(RFC3986_RESERVED, percentOf);
}

/** One `key='value'` pair, both encoded. */
export function sqlCommentPair(key: string, value: string): string {
  return `${encodeSqlCommentText(key)}='${encodeSqlCommentText(value)}'`;
}

/**
 * At most `maxLength` UTF-16 code units of `text`, never ending in half a surrogate pair. Values are cut before
 * encoding, so one long owner label cannot push a statement past track_activity_query_size on its own.
 */
export function truncateCommentValue(text: string, maxLength: number): string {
  if (text.length <= maxLength) return text;
  const cut = text.charCodeAt(maxLength - 1);
  return text.slice(0, cut >= 0xd800 && cut <= 0xdbff ? maxLength - 1 : maxLength);
}

// ---- reading ---------------------------------------------------------------------------------------------------

/** PostgreSQL's whitespace (scan.l: space, \t, \n, \r, \f, \v). */
export function isSqlWhitespace(code: number): boolean {
  return code === 0x20 || (code >= 0x09 && code <= 0x0d);
}

/**
 * The inside of the block comment that ends `query` (after it only whitespace and `;` may follow), or undefined when
 * `query` does not end with one. The comment starts at the last `/*` before its end: a sqlcommenter comment never
 * contains one.
 */
export function trailingSqlComment(query: string): string | undefined {
  let end = query.length;
  while (end > 0) {
    const code = query.charCodeAt(end - 1);
    if (!isSqlWhitespace(code) && code !== 0x3b /* ; */) break;
    end -= 1;
  }
  if (end < 4 || query.charCodeAt(end - 1) !== 0x2f /* / */ || query.charCodeAt(end - 2) !== 0x2a /* * */) return undefined;
  const start = query.lastIndexOf('/*', end - 4);
  if (start < 0) return undefined;
  return query.slice(start + 2, end - 2);
}

/** One `key='value'` pair of a comment's inside; the value may hold `\'` (the spec's escape). */
const PAIR_SOURCE = String.raw`\s*([^\s=,']+)\s*=\s*'((?:[^'\\]|\\.)*)'\s*(,|$)`;
/** Pairs read from one comment at most (a comment is at most track_activity_query_size long anyway). */
const MAX_PAIRS = 64;

/**
 * The decoded pairs of a sqlcommenter comment's inside (`trailingSqlComment`), or undefined when it is not one (any
 * text that is not a list of `key='value'` pairs: a free-form comment). A part that does not URL-decode is kept as
 * written. Keys are own properties, `__proto__` included.
 */
export function parseSqlCommentPairs(inside: string): Record<string, string> | undefined {
  if (inside.trim() === '') return undefined;
  const entries: [string, string][] = [];
  const pair = new RegExp(PAIR_SOURCE, 'y');
  while (pair.lastIndex < inside.length) {
    const match = pair.exec(inside);
    if (match === null || entries.length >= MAX_PAIRS) return undefined;
    entries.push([decodePart(match[1] ?? ''), decodePart(match[2] ?? '')]);
    if (match[3] === '') break;
  }
  if (pair.lastIndex < inside.length) return undefined;
  return Object.fromEntries(entries);
}

function decodePart(text: string): string {
  const unescaped = text.includes('\\') ? text.replace(/\\(.)/g, '$1') : text;
  try {
    return decodeURIComponent(unescaped);
  } catch {
    return unescaped;
  }
}

/**
 * `query` without its trailing sqlcommenter comment (and the space before it), for display; `query` itself when it
 * ends with none. A `;` after the comment is kept.
 */
export function withoutTrailingSqlComment(query: string): string {
  const inside = trailingSqlComment(query);
  if (inside === undefined || parseSqlCommentPairs(inside) === undefined) return query;
  const commentEnd = query.lastIndexOf('*/') + 2;
  let start = commentEnd - inside.length - 4;
  while (start > 0 && isSqlWhitespace(query.charCodeAt(start - 1))) start -= 1;
  return query.slice(0, start) + query.slice(commentEnd);
}
