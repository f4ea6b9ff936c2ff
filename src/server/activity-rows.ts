import { ServerViewError } from '../errors.js';
import type { ServerSessionSnapshot } from './activity-report.js';
import { queryTagsOf } from './activity-query-tags.js';

/** Parsing the activity query's answer: one session object, and the checked values of a row. */

export function sessionOf(raw: unknown): ServerSessionSnapshot {
  const s = asRecord(raw);
  if (s === undefined) throw unexpectedAnswer('a session is not an object');
  const blockedBy = Array.isArray(s.blocked_by) ? s.blocked_by.map(Number).filter(Number.isInteger) : [];
  return {
    pid: requiredInteger(s, 'pid'),
    applicationName: typeof s.application_name === 'string' ? s.application_name : '',
    user: stringOrNull(s.usename),
    database: stringOrNull(s.datname),
    clientAddress: stringOrNull(s.client_addr),
    state: stringOrNull(s.state),
    query: stringOrNull(s.query),
    // The end of a query longer than the text cap comes apart (query_end), so its comment is read all the same.
    queryTags: queryTagsOf(stringOrNull(s.query_end) ?? stringOrNull(s.query)),
    backendStart: isoOrNull(s.backend_start),
    transactionStart: isoOrNull(s.xact_start),
    queryStart: isoOrNull(s.query_start),
    stateChange: isoOrNull(s.state_change),
    transactionAgeMillis: numberOrNull(s.transaction_age_ms),
    stateAgeMillis: numberOrNull(s.state_age_ms),
    queryAgeMillis: numberOrNull(s.query_age_ms),
    waitEventType: stringOrNull(s.wait_event_type),
    waitEvent: stringOrNull(s.wait_event),
    blockedBy,
    lockWaitMillis: numberOrNull(s.lock_wait_ms),
  };
}

export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** A part of the activity row that is not what the query returns (wrapped by `#read` with the whole story). */
export function unexpectedAnswer(message: string): ServerViewError {
  return new ServerViewError('POOLSCOPE_ERR_SERVER_UNEXPECTED_ANSWER', 'ActivityInspector', message);
}

export function requiredInteger(record: Record<string, unknown>, key: string): number {
  const value = Number(record[key]);
  if (record[key] === null || record[key] === undefined || !Number.isInteger(value)) {
    throw unexpectedAnswer(`${key} is not a whole number (got ${String(record[key])})`);
  }
  return value;
}

export function requiredIso(record: Record<string, unknown>, key: string): string {
  const iso = isoOrNull(record[key]);
  if (iso === null) throw unexpectedAnswer(`${key} is not a timestamp (got ${String(record[key])})`);
  return iso;
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function numberOrNull(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

/** A server timestamp (JSON text with offset, or a Date from a client's type parser) as ISO-8601 UTC. */
function isoOrNull(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  const date = value instanceof Date ? value : typeof value === 'string' ? new Date(value) : undefined;
  if (date === undefined || Number.isNaN(date.getTime())) return typeof value === 'string' ? value : null;
  return date.toISOString();
}
