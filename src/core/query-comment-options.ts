import { OptionsError } from '../errors.js';

/**
 * `queryComments` (PoolTrackingOptions): a sqlcommenter comment on each statement sent through a lease, naming who
 * sent it. The option's shape and validation; the pg adapter writes the comments (pg-query-comments.ts), the server
 * view reads them back. See docs/reference/query-comments.md.
 */

/**
 * The fields a comment can carry, each under its own key:
 * - `app`: the inspector's appName (InspectorOptions.appName);
 * - `file`: the user's file:line:col that checked the connection out (the lease's location), when a stack was
 *   captured for it (per the pool's stackCapture policy) and names the user's code;
 * - `lease`: the lease id (per pool and process: read it with `pool` and `app`);
 * - `owner`: the owner's label (the request, e.g. `GET /orders`, or the job), when the checkout had one;
 * - `pool`: the pool's name;
 * - `traceparent`: the active OpenTelemetry span's W3C traceparent (and `tracestate` when it has one), when an
 *   `otel` API is given and a span is active at the statement.
 */
export const QUERY_COMMENT_FIELDS = ['app', 'file', 'lease', 'owner', 'pool', 'traceparent'] as const;
export type QueryCommentField = (typeof QUERY_COMMENT_FIELDS)[number];

/** Every field but `traceparent`: what `queryComments: true` sends (plus `traceparent` when `otel` is given). */
const FIELDS_WITHOUT_OTEL: readonly QueryCommentField[] = Object.freeze(QUERY_COMMENT_FIELDS.filter((f) => f !== 'traceparent'));

/** What the `extra` function of `queryComments` is given: the lease whose statement gets the comment. */
export interface QueryCommentLease {
  readonly leaseId: number;
  readonly poolName: string;
  /** The owner's label and kind, when the checkout had an owner. */
  readonly owner: { readonly label: string; readonly kind: string } | null;
  /** The user's file:line:col of the checkout (formatted when first read), or null when no stack names it. */
  readonly location: string | null;
  /** The connection's backend PID. */
  readonly backendPid: number | null;
}

/**
 * The parts of `@opentelemetry/api` the `traceparent` field needs: pass the module itself
 * (`import * as otel from '@opentelemetry/api'`; `queryComments: { otel }`). poolscope never loads it.
 */
export interface QueryCommentOtelApi {
  readonly trace: {
    getSpanContext(context: never): { traceId: string; spanId: string; traceFlags: number; traceState?: { serialize(): string } } | undefined;
  };
  readonly context: { active(): unknown };
}

/** `queryComments` as an object (`true` is `{}`). */
export interface QueryCommentOptions {
  /**
   * Fields to send, in any order (keys are sorted in the comment). Default: every field, `traceparent` only when
   * `otel` is given.
   */
  readonly fields?: readonly QueryCommentField[];
  /**
   * More key/value pairs of your own, called once per lease at its first commented statement (its result is kept for
   * the lease's other statements). Keys that are one of the fields are ignored; `undefined` values are left out.
   * Never put statement parameters or secrets here: comments are visible to anyone who can read pg_stat_activity or
   * the server log. Errors it throws go to the inspector's onError and the comment is sent without them.
   */
  readonly extra?: (lease: QueryCommentLease) => Readonly<Record<string, string | undefined>> | undefined;
  /** `@opentelemetry/api` (or an object with its `trace` and `context`), for the `traceparent` field. */
  readonly otel?: QueryCommentOtelApi;
}

/** `queryComments` after validation. */
export interface ResolvedQueryComments {
  readonly fields: readonly QueryCommentField[];
  readonly extra: QueryCommentOptions['extra'];
  readonly otel: QueryCommentOtelApi | undefined;
}

/** Longest value (in UTF-16 code units, before encoding) a field or `extra` value is cut to. */
export const MAX_QUERY_COMMENT_VALUE_LENGTH = 200;

/** Validates `queryComments`: undefined when off (`false` or unset); throws OptionsError naming the bad part. */
export function resolveQueryComments(value: unknown): ResolvedQueryComments | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return { fields: FIELDS_WITHOUT_OTEL, extra: undefined, otel: undefined };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new OptionsError('queryComments', value, "true, false, or { fields?, extra?, otel? }, e.g. { fields: ['owner', 'file'] }");
  }
  const options = value as QueryCommentOptions;
  for (const key of Object.keys(options)) {
    if (key !== 'fields' && key !== 'extra' && key !== 'otel') {
      throw new OptionsError(`queryComments.${key}`, (options as Record<string, unknown>)[key], 'nothing: queryComments takes fields, extra and otel');
    }
  }
  const otel = options.otel;
  if (otel !== undefined && !isOtelApi(otel)) {
    throw new OptionsError(
      'queryComments.otel',
      otel,
      "the @opentelemetry/api module (import * as otel from '@opentelemetry/api'), or an object with its trace and context",
    );
  }
  const extra = options.extra;
  if (extra !== undefined && typeof extra !== 'function') {
    throw new OptionsError('queryComments.extra', extra, 'a function (lease) => ({ key: value, ... })');
  }
  let fields: readonly QueryCommentField[];
  if (options.fields === undefined) {
    fields = otel === undefined ? FIELDS_WITHOUT_OTEL : QUERY_COMMENT_FIELDS;
  } else {
    const given: unknown = options.fields;
    const allowed = QUERY_COMMENT_FIELDS as readonly unknown[];
    if (!Array.isArray(given) || !given.every((f) => allowed.includes(f)) || new Set(given).size !== given.length) {
      throw new OptionsError('queryComments.fields', given, `a list without repeats of ${QUERY_COMMENT_FIELDS.map((f) => `'${f}'`).join(', ')}`);
    }
    if (given.includes('traceparent') && otel === undefined) {
      throw new OptionsError(
        'queryComments.fields',
        given,
        "no 'traceparent' without queryComments.otel: pass the API, e.g. { otel: await import('@opentelemetry/api') }",
      );
    }
    // Sorted once here: the comment's keys are the fields' names, which sort in this order.
    fields = Object.freeze(QUERY_COMMENT_FIELDS.filter((f) => (given as unknown[]).includes(f)));
  }
  return { fields, extra, otel };
}

function isOtelApi(value: unknown): value is QueryCommentOtelApi {
  const api = value as Partial<Record<'trace' | 'context', Record<string, unknown> | null>> | null;
  return (
    api !== null &&
    (typeof api === 'object' || typeof api === 'function') &&
    typeof api.trace?.getSpanContext === 'function' &&
    typeof api.context?.active === 'function'
  );
}
