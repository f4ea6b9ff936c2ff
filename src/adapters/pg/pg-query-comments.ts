import type { Lease } from '../../core/lease.js';
import type { PoolTracker } from '../../core/pool-tracker.js';
import type { QueryCommentField, QueryCommentLease, QueryCommentOtelApi, ResolvedQueryComments } from '../../core/query-comment-options.js';
import { MAX_QUERY_COMMENT_VALUE_LENGTH, QUERY_COMMENT_FIELDS } from '../../core/query-comment-options.js';
import { encodeSqlCommentText, sqlCommentPair, truncateCommentValue } from '../../core/sql-comment-format.js';
import { commentInsertionPoint, FormatBudget, PairCache } from './pg-query-comment-parts.js';

export { commentInsertionPoint } from './pg-query-comment-parts.js';

/**
 * `queryComments` in the pg adapter: the client's query wrapper (pg-client-wrappers.ts) hands each statement sent
 * through a lease to `annotate`, which returns what pg gets instead: the same text with a sqlcommenter comment
 * (`/*app='..',file='..',lease='..',owner='..',pool='..'*\/`) before its end, or the statement as it came when it
 * must not change. See docs/reference/query-comments.md.
 *
 * Left alone, so they run exactly as without the option:
 * - named prepared statements (`{ name, text }`): pg parses one once per connection and refuses the name with another
 *   text ("Prepared statements must be unique"), and a comment naming one lease would be kept for every later one;
 * - statements holding `/*` or `--` anywhere (a comment already, or a string that looks like one): the sqlcommenter
 *   spec says never to change a statement that has a comment, and no scan of quotes is paid per statement;
 * - COPY (its first keyword): the statement of the copy sub-protocol is sent byte for byte as written;
 * - blank statements, and non-plain config objects pg would treat specially (submittables: pg-cursor,
 *   pg-query-stream, pg.Query objects, whose text is theirs and read by pg when it runs them; the wrapper never
 *   gives them here).
 *
 * Cost: the comment of a lease is built at its first commented statement and kept for the others; each statement
 * then costs a few comparisons and one string concatenation, plus reading the active span when `otel` is given. A
 * config object is copied (pg itself copies it too), never changed: ORMs reuse theirs. The `file` of a lease is its
 * stack's site: only a lease the capture policy took a stack for has one, and formatting a stack is the costly part
 * (reading V8's stack text and finding the site: about 5-25 us, see bench/README.md), so a stack not formatted yet is
 * formatted for a comment within the pool's stackCaptureBudgetPerSecond (per 100 ms slice, as captures are); a lease
 * beyond it goes without `file` (a snapshot still formats its location when read). Under the default adaptive capture
 * the budget is the captures' own, so no lease with a stack goes without; under `stackCapture: 'always'` it bounds
 * the formatting at high checkout rates.
 */

/** A lease's comment, built at its first commented statement and kept for its other ones. */
export interface LeaseComment {
  readonly lease: Lease;
  /** The comment, `/*...*\/`, or '' when no field has a value (the statement is then sent as written). */
  readonly whole: string;
  /**
   * Its pairs that sort before `traceparent`, between `traceparent` and `tracestate`, and after `tracestate`, each
   * joined (to insert a statement's trace context in key order).
   */
  readonly before: string;
  readonly between: string;
  readonly after: string;
}

/** Where a client's wrapper keeps the comment of the lease holding it. */
export interface LeaseCommentHolder {
  queryComment: LeaseComment | undefined;
}

/** Keys an `extra` function may not use: the fields', and `tracestate` (sent with `traceparent`). */
const RESERVED_KEYS: ReadonlySet<string> = new Set<string>([...QUERY_COMMENT_FIELDS, 'tracestate']);
/** Pairs of `extra` kept per lease at most, and the longest key. */
const MAX_EXTRA_PAIRS = 16;
const MAX_EXTRA_KEY_LENGTH = 64;
const HEX_TRACE_ID = /^[0-9a-f]{32}$/;
const HEX_SPAN_ID = /^[0-9a-f]{16}$/;
const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_SPAN_ID = '0'.repeat(16);

/** Writes the comments of one pool. */
export class PgQueryCommenter {
  readonly #options: ResolvedQueryComments;
  readonly #tracker: PoolTracker;
  readonly #report: (error: unknown) => void;
  /** The OpenTelemetry API when the `traceparent` field is on. */
  readonly #otel: QueryCommentOtelApi | undefined;
  /** `app='...'` and `pool='...'`, encoded once. */
  readonly #appPair: string;
  readonly #poolPair: string;
  readonly #formatBudget: FormatBudget;
  /** Encoded `owner='...'` and `file='...'` pairs of recent labels and sites (they repeat: routes, call sites). */
  readonly #ownerPairs = new PairCache('owner');
  readonly #filePairs = new PairCache('file');

  constructor(options: ResolvedQueryComments, tracker: PoolTracker, appName: string, report: (error: unknown) => void) {
    this.#options = options;
    this.#tracker = tracker;
    this.#report = report;
    this.#otel = options.fields.includes('traceparent') ? options.otel : undefined;
    this.#appPair = sqlCommentPair('app', truncateCommentValue(appName, MAX_QUERY_COMMENT_VALUE_LENGTH));
    this.#poolPair = sqlCommentPair('pool', tracker.name);
    this.#formatBudget = new FormatBudget(tracker.options.stackCaptureBudgetPerSecond);
  }

  /**
   * What pg gets instead of `config` (whose text is `text`) for a statement of `lease`: a string or a copy of the
   * config object with the comment in its text, or `config` itself when the statement is left alone. Never throws.
   */
  annotate(config: unknown, text: string, lease: Lease, holder: LeaseCommentHolder): unknown {
    try {
      // pg prepares any query with a truthy name.
      if (typeof config !== 'string' && (config as { name?: unknown }).name) return config;
      const at = commentInsertionPoint(text);
      if (at < 0) return config;
      let cached = holder.queryComment;
      if (cached === undefined || cached.lease !== lease) {
        cached = this.#build(lease);
        holder.queryComment = cached;
      }
      const comment = this.#otel === undefined ? cached.whole : this.#withTrace(cached, this.#otel);
      if (comment === '') return config;
      const sent = at === text.length ? `${text} ${comment}` : `${text.slice(0, at)} ${comment}${text.slice(at)}`;
      return typeof config === 'string' ? sent : withText(config as object, sent);
    } catch (error) {
      this.#report(error);
      return config;
    }
  }

  /** The comment with the active span's trace context, when there is one. */
  #withTrace(cached: LeaseComment, otel: QueryCommentOtelApi): string {
    const span = otel.trace.getSpanContext(otel.context.active() as never);
    if (span === undefined || !isValidSpan(span.traceId, span.spanId)) return cached.whole;
    const flags = (span.traceFlags & 0xff).toString(16).padStart(2, '0');
    const parts = [cached.before, `traceparent='00-${span.traceId}-${span.spanId}-${flags}'`, cached.between];
    const state = span.traceState?.serialize();
    if (typeof state === 'string' && state !== '') parts.push(`tracestate='${encodeSqlCommentText(state)}'`);
    parts.push(cached.after);
    return `/*${parts.filter((part) => part !== '').join(',')}*/`;
  }

  #build(lease: Lease): LeaseComment {
    const extra = this.#options.extra;
    if (extra !== undefined) return this.#buildWithExtra(lease, extra);
    // Every field's key sorts before 'traceparent', in the fields' order: one string, no sorting.
    let pairs = '';
    for (const field of this.#options.fields) {
      const pair = this.#pairOf(field, lease);
      if (pair !== undefined) pairs = pairs === '' ? pair : `${pairs},${pair}`;
    }
    return { lease, whole: pairs === '' ? '' : `/*${pairs}*/`, before: pairs, between: '', after: '' };
  }

  /** The pair of one field for `lease`, or undefined when it has no value (`traceparent` is per statement). */
  #pairOf(field: QueryCommentField, lease: Lease): string | undefined {
    switch (field) {
      case 'app':
        return this.#appPair;
      case 'file': {
        const location = this.#location(lease);
        return location === undefined ? undefined : this.#filePairs.pair(location);
      }
      case 'lease':
        return `lease='${lease.id}'`;
      case 'owner': {
        const owner = lease.owner;
        return owner === undefined ? undefined : this.#ownerPairs.pair(owner.label);
      }
      case 'pool':
        return this.#poolPair;
      case 'traceparent':
        return undefined;
    }
  }

  #buildWithExtra(lease: Lease, extra: NonNullable<ResolvedQueryComments['extra']>): LeaseComment {
    const pairs: [key: string, pair: string][] = [];
    for (const field of this.#options.fields) {
      const pair = this.#pairOf(field, lease);
      if (pair !== undefined) pairs.push([field, pair]);
    }
    this.#addExtra(extra, lease, pairs);
    pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    if (pairs.length === 0) return { lease, whole: '', before: '', between: '', after: '' };
    const before: string[] = [];
    const between: string[] = [];
    const after: string[] = [];
    for (const [key, pair] of pairs) (key < 'traceparent' ? before : key < 'tracestate' ? between : after).push(pair);
    return {
      lease,
      whole: `/*${pairs.map((p) => p[1]).join(',')}*/`,
      before: before.join(','),
      between: between.join(','),
      after: after.join(','),
    };
  }

  /** The lease's site: formatted already, or formatted now within the budget; undefined without a stack. */
  #location(lease: Lease): string | undefined {
    if (lease.stack === undefined) return undefined;
    if (lease.formatted !== undefined) return lease.formatted.location;
    if (!this.#formatBudget.take(this.#tracker.now())) return undefined;
    return this.#tracker.leaseLocation(lease);
  }

  /** The pairs of the user's `extra` function; an error it throws goes to onError (the comment goes without them). */
  #addExtra(extra: NonNullable<ResolvedQueryComments['extra']>, lease: Lease, pairs: [string, string][]): void {
    let values: unknown;
    try {
      values = extra(new CommentedLease(lease, this.#tracker));
    } catch (error) {
      this.#report(error);
      return;
    }
    if (values === null || typeof values !== 'object') return;
    let added = 0;
    for (const [key, value] of Object.entries(values)) {
      if (added >= MAX_EXTRA_PAIRS) break;
      if (key === '' || key.length > MAX_EXTRA_KEY_LENGTH || RESERVED_KEYS.has(key)) continue;
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') continue;
      pairs.push([encodeSqlCommentText(key), sqlCommentPair(key, truncateCommentValue(String(value), MAX_QUERY_COMMENT_VALUE_LENGTH))]);
      added += 1;
    }
  }
}

/** `config` with `text` as its text: a copy (with its prototype and property descriptors, as pg copies it). */
function withText(config: object, text: string): object {
  if (Object.getPrototypeOf(config) === Object.prototype) return { ...config, text };
  const copy = Object.defineProperties(Object.create(Object.getPrototypeOf(config) as object | null) as object, Object.getOwnPropertyDescriptors(config));
  Object.defineProperty(copy, 'text', { value: text, writable: true, enumerable: true, configurable: true });
  return copy;
}

function isValidSpan(traceId: unknown, spanId: unknown): boolean {
  return (
    typeof traceId === 'string' &&
    typeof spanId === 'string' &&
    HEX_TRACE_ID.test(traceId) &&
    HEX_SPAN_ID.test(spanId) &&
    traceId !== ZERO_TRACE_ID &&
    spanId !== ZERO_SPAN_ID
  );
}

/** What `extra` is given: the lease's public facts; the location is formatted only if read. */
class CommentedLease implements QueryCommentLease {
  readonly #lease: Lease;
  readonly #tracker: PoolTracker;

  constructor(lease: Lease, tracker: PoolTracker) {
    this.#lease = lease;
    this.#tracker = tracker;
  }

  get leaseId(): number {
    return this.#lease.id;
  }

  get poolName(): string {
    return this.#lease.poolName;
  }

  get owner(): { readonly label: string; readonly kind: string } | null {
    const owner = this.#lease.owner;
    return owner === undefined ? null : { label: owner.label, kind: owner.kind };
  }

  get location(): string | null {
    return this.#tracker.leaseLocation(this.#lease) ?? null;
  }

  get backendPid(): number | null {
    return this.#lease.backendPid;
  }
}
