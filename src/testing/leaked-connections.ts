import { LeakedConnectionsError } from '../errors.js';
import type { LeaseSnapshot } from '../core/lease.js';
import { ActivityInspector } from '../server/activity-inspector.js';
import type { Plan } from './leak-check-plan.js';
import { LEAK_CHECK_APPLICATION_NAME, planOf } from './leak-check-plan.js';
import type { NoLeakedConnectionsOptions } from './leak-check-plan.js';
import type { Findings } from './leak-check-report.js';
import { leakMessage } from './leak-check-report.js';

/**
 * `assertNoLeakedConnections`: fails a test (rejects with LeakedConnectionsError) when, after a short grace period,
 * connections are still out: leases poolscope still sees held (the app's view, with file:line), and sessions the
 * server still has open for the test's application_name / user / database (pg_stat_activity, read over a
 * connection of its own, which never counts). Its options and their checking are in leak-check-plan.ts, the
 * message in leak-check-report.ts.
 */

/**
 * Resolves when no connection is out; rejects with LeakedConnectionsError (code
 * POOLSCOPE_ERR_TESTING_LEAKED_CONNECTIONS, `leases` and `sessions` attached) listing, one line each, the leases
 * still held and the server sessions still open once `graceMillis` has passed. Rejects with OptionsError for bad
 * or missing options, and with the driver's error when the server cannot be read.
 *
 * ```ts
 * afterEach(() => assertNoLeakedConnections({ pools }));
 * ```
 */
export async function assertNoLeakedConnections(options: NoLeakedConnectionsOptions): Promise<void> {
  const plan = planOf(options);
  let activity: ActivityInspector | undefined;
  let own = false;
  const connection = plan.server?.connection;
  if (connection !== undefined) {
    if ('activity' in connection) {
      activity = connection.activity;
    } else {
      activity = new ActivityInspector(
        'client' in connection
          ? { client: connection.client }
          : { connectionString: connection.connectionString, applicationName: LEAK_CHECK_APPLICATION_NAME },
      );
      own = true;
    }
  }
  try {
    const deadline = performance.now() + plan.graceMillis;
    for (;;) {
      const found = await findLeaks(plan, activity);
      if (found.leases.length === 0 && found.sessions.length === 0) return;
      const left = deadline - performance.now();
      if (left <= 0) throw new LeakedConnectionsError(leakMessage(found, plan.graceMillis), found.leases, found.sessions);
      await new Promise((resolve) => setTimeout(resolve, Math.min(plan.pollIntervalMillis, left)));
    }
  } finally {
    if (own) await activity?.close();
  }
}

async function findLeaks(plan: Plan, activity: ActivityInspector | undefined): Promise<Findings> {
  const leases: LeaseSnapshot[] = [];
  const seen = new Set<string>();
  for (const source of plan.leases) {
    if (source.inspector.closed) continue;
    const names = source.poolNames ?? source.inspector.poolNames();
    for (const name of names) {
      if (source.inspector.pool(name) === undefined) continue;
      for (const lease of source.inspector.snapshot(name).holders) {
        const key = `${lease.poolName}#${lease.id}`;
        if (lease.state !== 'held' || seen.has(key)) continue;
        seen.add(key);
        leases.push(lease);
      }
    }
  }
  const server = plan.server;
  if (server === undefined || activity === undefined) return { leases, sessions: [] };
  const names = server.applicationNames;
  const report = await activity.activity({
    ...(names?.length === 1 && names[0] !== undefined ? { applicationName: names[0] } : {}),
    ...(server.user === undefined ? {} : { user: server.user }),
    ...(server.database === undefined ? {} : { database: server.database }),
  });
  // Not leaks: the checker's own session (never in the report), sessions already listed as leases, and the test
  // pools' own connections idling in their pool.
  const excluded = new Set(plan.poolPids());
  for (const lease of leases) if (lease.backendPid !== null) excluded.add(lease.backendPid);
  const sessions = report.sessions.filter(
    (session) =>
      session.pid !== report.inspectorPid &&
      !excluded.has(session.pid) &&
      (names === undefined || names.includes(session.applicationName)),
  );
  return { leases, sessions };
}
