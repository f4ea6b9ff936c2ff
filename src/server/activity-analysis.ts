import type {
  IdleInTransactionSession,
  IdleInTransactionState,
  LockWaitSession,
  OldestTransaction,
  ServerActivityFilters,
  ServerActivityGroup,
  ServerActivityReport,
  ServerSessionSnapshot,
} from './activity-report.js';
import { IDLE_IN_TRANSACTION_STATES } from './activity-report.js';
import { asRecord, requiredInteger, requiredIso, sessionOf, unexpectedAnswer } from './activity-rows.js';

// ---- building the report from the row ---------------------------------------------------------------------------

/** Builds the report from the activity query's single row. Exported for tests. */
export function buildReport(row: unknown, filters: ServerActivityFilters): ServerActivityReport {
  const r = asRecord(row);
  if (r === undefined) throw unexpectedAnswer('no row');
  const maxConnections = requiredInteger(r, 'max_connections');
  const reservedConnections = requiredInteger(r, 'superuser_reserved_connections') + requiredInteger(r, 'reserved_connections');
  const usedConnections = requiredInteger(r, 'used_connections');
  const rawSessions = typeof r.sessions === 'string' ? (JSON.parse(r.sessions) as unknown) : r.sessions;
  if (!Array.isArray(rawSessions)) throw unexpectedAnswer('sessions is not a list');
  const sessions = rawSessions.map(sessionOf);
  return {
    takenAt: requiredIso(r, 'taken_at'),
    version: String(r.version),
    versionNumber: requiredInteger(r, 'version_number'),
    maxConnections,
    reservedConnections,
    usedConnections,
    headroom: maxConnections - reservedConnections - usedConnections,
    hiddenBackends: requiredInteger(r, 'hidden_backends'),
    inspectorPid: requiredInteger(r, 'own_pid'),
    filters,
    groups: groupsOf(sessions),
    idleInTransaction: idleInTransactionOf(sessions),
    waitingOnLocks: waitingOnLocksOf(sessions),
    oldestTransaction: oldestTransactionOf(sessions),
    sessions,
  };
}

function groupsOf(sessions: readonly ServerSessionSnapshot[]): ServerActivityGroup[] {
  const groups = new Map<string, { applicationName: string; user: string | null; database: string | null; state: string | null; count: number }>();
  for (const s of sessions) {
    const key = JSON.stringify([s.applicationName, s.user, s.database, s.state]);
    const group = groups.get(key);
    if (group === undefined) {
      groups.set(key, { applicationName: s.applicationName, user: s.user, database: s.database, state: s.state, count: 1 });
    } else {
      group.count += 1;
    }
  }
  return [...groups.values()].sort(
    (a, b) =>
      b.count - a.count ||
      compareText(a.applicationName, b.applicationName) ||
      compareText(a.database, b.database) ||
      compareText(a.user, b.user) ||
      compareText(a.state, b.state),
  );
}

function idleInTransactionOf(sessions: readonly ServerSessionSnapshot[]): IdleInTransactionSession[] {
  return sessions
    .filter((s): s is ServerSessionSnapshot & { state: IdleInTransactionState } =>
      (IDLE_IN_TRANSACTION_STATES as readonly (string | null)[]).includes(s.state),
    )
    .map((s) => ({
      pid: s.pid,
      applicationName: s.applicationName,
      user: s.user,
      database: s.database,
      state: s.state,
      transactionAgeMillis: s.transactionAgeMillis,
      stateAgeMillis: s.stateAgeMillis,
      query: s.query,
      queryTags: s.queryTags,
    }))
    .sort((a, b) => (b.transactionAgeMillis ?? 0) - (a.transactionAgeMillis ?? 0) || a.pid - b.pid);
}

function waitingOnLocksOf(sessions: readonly ServerSessionSnapshot[]): LockWaitSession[] {
  return sessions
    .filter((s) => s.waitEventType === 'Lock')
    .map((s) => ({
      pid: s.pid,
      applicationName: s.applicationName,
      user: s.user,
      database: s.database,
      state: s.state,
      waitEvent: s.waitEvent,
      blockedBy: s.blockedBy,
      query: s.query,
      queryTags: s.queryTags,
      waitingMillis: s.lockWaitMillis,
      transactionAgeMillis: s.transactionAgeMillis,
    }))
    .sort((a, b) => (b.waitingMillis ?? 0) - (a.waitingMillis ?? 0) || a.pid - b.pid);
}

function oldestTransactionOf(sessions: readonly ServerSessionSnapshot[]): OldestTransaction | null {
  let oldest: (ServerSessionSnapshot & { transactionAgeMillis: number }) | undefined;
  for (const s of sessions) {
    if (s.transactionAgeMillis === null) continue;
    if (oldest === undefined || s.transactionAgeMillis > oldest.transactionAgeMillis) {
      oldest = s as ServerSessionSnapshot & { transactionAgeMillis: number };
    }
  }
  if (oldest === undefined) return null;
  return {
    pid: oldest.pid,
    transactionAgeMillis: oldest.transactionAgeMillis,
    state: oldest.state,
    applicationName: oldest.applicationName,
    user: oldest.user,
    database: oldest.database,
    query: oldest.query,
    queryTags: oldest.queryTags,
  };
}

function compareText(a: string | null, b: string | null): number {
  return (a ?? '').localeCompare(b ?? '');
}
