/**
 * Every SQL text of the server view (pg_stat_activity), and nothing else. All input reaches the server as bind
 * parameters ($1, $2, ...); no text here is ever built from a caller's value.
 *
 * Compatibility: PostgreSQL 10+ (backend_type), checked on 15 and 18. The only column that differs across the
 * versions we support is pg_locks.waitstart (14+): the activity query comes in two variants, picked by
 * server_version_num read once per session.
 */

/**
 * Run once per session, right after connecting: caps every later statement of the inspector's own session
 * (`$1`: statement_timeout in milliseconds, as text), names the session when `$2` is not NULL (application_name),
 * and reads what later queries depend on.
 */
export const SESSION_SETUP_SQL = `SELECT set_config('statement_timeout', $1::text, false) AS statement_timeout,
       CASE WHEN $2::text IS NULL THEN current_setting('application_name')
            ELSE set_config('application_name', $2::text, false)
       END AS application_name,
       current_setting('server_version_num')::int AS version_number`;

/**
 * Characters of the end of a query sent apart when the query is longer than the text cap, so its sqlcommenter
 * comment (at the end; see activity-query-tags.ts) is read even when the text shown is cut. A constant, not input.
 */
export const QUERY_END_LENGTH = 1024;

/** First server version with pg_locks.waitstart. */
export const LOCK_WAITSTART_VERSION = 140000;

/** Oldest server version the activity query runs on (pg_stat_activity.backend_type). */
export const MIN_SERVER_VERSION = 100000;

/** Lock wait age, PostgreSQL 14+: since pg_locks.waitstart, or since the statement started while waitstart is unset. */
const LOCK_WAIT_FROM_WAITSTART = `coalesce(
             (SELECT min(l.waitstart) FROM pg_locks l WHERE l.pid = a.pid AND NOT l.granted),
             a.query_start)`;

/** Lock wait age before PostgreSQL 14: since the blocked statement started (an upper bound of the wait). */
const LOCK_WAIT_FROM_QUERY_START = 'a.query_start';

/**
 * `now() - <timestamp>` in milliseconds, rounded to 0.001 and clamped at 0; NULL when the timestamp is NULL
 * (GREATEST alone would turn NULL into 0). `timestamp` is one of the constant expressions above, never input.
 */
function ageMillis(timestamp: string): string {
  return `CASE WHEN (${timestamp}) IS NOT NULL
              THEN round((greatest(extract(epoch FROM now() - (${timestamp})), 0) * 1000)::numeric, 3)
         END`;
}

/**
 * One statement, so every number comes from the same view of pg_stat_activity (a statement reads the backend
 * status once) and every age from the same `now()`. Ages are computed by the server: milliseconds rounded to
 * 0.001, clamped at 0 (a transaction that began while the report was being read counts as age 0).
 *
 * Parameters: `$1` application_name, `$2` database, `$3` user (each NULL for "any"); `$4` maximum characters of
 * query text returned (a longer query also sends its last QUERY_END_LENGTH characters as `query_end`). The
 * server-wide numbers (max, reserved, used, hidden) ignore the filters; `used` counts every
 * client backend including the inspector's own session; `sessions` never includes it. A role without
 * pg_read_all_stats sees other roles' backends with backend_type NULL: they are counted as hidden, not as used.
 */
function activitySql(lockWaitStart: string): string {
  return `WITH all_backends AS (
  SELECT a.* FROM pg_stat_activity a
), client_backends AS (
  SELECT a.* FROM all_backends a WHERE a.backend_type = 'client backend'
), sessions AS (
  SELECT a.pid,
         a.application_name,
         a.usename,
         a.datname,
         host(a.client_addr) AS client_addr,
         a.state,
         left(a.query, $4::int) AS query,
         CASE WHEN length(a.query) > $4::int THEN right(a.query, ${QUERY_END_LENGTH}) END AS query_end,
         a.backend_start,
         a.xact_start,
         a.query_start,
         a.state_change,
         a.wait_event_type,
         a.wait_event,
         ${ageMillis('a.xact_start')} AS transaction_age_ms,
         ${ageMillis('a.state_change')} AS state_age_ms,
         ${ageMillis('a.query_start')} AS query_age_ms,
         CASE WHEN a.wait_event_type = 'Lock' THEN pg_blocking_pids(a.pid) ELSE '{}'::int[] END AS blocked_by,
         CASE WHEN a.wait_event_type = 'Lock' THEN ${ageMillis(lockWaitStart)} END AS lock_wait_ms
    FROM client_backends a
   WHERE a.pid <> pg_backend_pid()
     AND ($1::text IS NULL OR a.application_name = $1::text)
     AND ($2::text IS NULL OR a.datname = $2::text)
     AND ($3::text IS NULL OR a.usename = $3::text)
)
SELECT to_json(now()) AS taken_at,
       current_setting('server_version') AS version,
       current_setting('server_version_num')::int AS version_number,
       current_setting('max_connections')::int AS max_connections,
       current_setting('superuser_reserved_connections')::int AS superuser_reserved_connections,
       coalesce(current_setting('reserved_connections', true)::int, 0) AS reserved_connections,
       (SELECT count(*)::int FROM client_backends) AS used_connections,
       (SELECT count(*)::int FROM all_backends WHERE backend_type IS NULL) AS hidden_backends,
       pg_backend_pid() AS own_pid,
       coalesce((SELECT json_agg(s ORDER BY s.pid) FROM sessions s), '[]'::json) AS sessions`;
}

/** The activity query for PostgreSQL 14 and later (lock waits timed from pg_locks.waitstart). */
export const ACTIVITY_SQL = activitySql(LOCK_WAIT_FROM_WAITSTART);

/** The activity query for PostgreSQL 10 to 13 (lock waits timed from the statement's start). */
export const ACTIVITY_SQL_BEFORE_14 = activitySql(LOCK_WAIT_FROM_QUERY_START);

/** The activity query that runs on a server of `versionNumber` (server_version_num). */
export function activitySqlFor(versionNumber: number): string {
  return versionNumber >= LOCK_WAITSTART_VERSION ? ACTIVITY_SQL : ACTIVITY_SQL_BEFORE_14;
}
