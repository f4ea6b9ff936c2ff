import { formatRecommendation, poolRecommendationInputs, recommend } from '../../core/recommendations.js';
import { messageOf } from '../../errors.js';
import type { ServerActivityReport } from '../../server/activity-inspector.js';
import type { CliIo } from '../cli-command.js';
import { EXIT_CODES } from '../cli-command.js';
import { formatServerActivity, readServerActivity } from '../commands/db-command.js';
import { inspectCommand } from '../commands/inspect-command.js';
import type { DemoApp } from './demo-app.js';
import type { DemoDatabase } from './demo-database.js';
import { DEMO_POOLS } from './demo-endpoints.js';
import { plantedSites } from './demo-leak-sites.js';
import type { DemoReportLog } from './demo-report.js';
import { checkPlantedSites, formatPlantedChecks, formatReportGroups, formatSnapshot } from './demo-report.js';

/**
 * What `poolscope demo` prints once the traffic is done: the fullest saturation snapshot, the misuse reports
 * checked against the planted sites, the database's view, the recommendations and the inspect view.
 */

/** Prints the findings; resolves to whether every planted misuse was reported at its line. */
export async function printFindings(app: DemoApp, db: DemoDatabase, log: DemoReportLog, io: CliIo, heading: (title: string) => void): Promise<boolean> {
  const out = (text: string): void => {
    io.stdout.write(text);
  };
  const { inspector } = app;

  const snapshots = inspector.recentSnapshots(DEMO_POOLS.main);
  // The fullest one (most connections held, then most callers waiting; the latest of equals).
  const last = snapshots.reduce<(typeof snapshots)[number] | undefined>(
    (best, snapshot) =>
      best === undefined ||
      snapshot.stats.used > best.stats.used ||
      (snapshot.stats.used === best.stats.used && snapshot.stats.pending >= best.stats.pending)
        ? snapshot
        : best,
    undefined,
  );
  heading(`Saturation snapshot of '${DEMO_POOLS.main}' (taken automatically at 80% in use or when callers queue)`);
  if (last === undefined) {
    out(`  (none: '${DEMO_POOLS.main}' never saturated; run with more --requests)\n`);
  } else {
    out(formatSnapshot(last));
    out(`  the fullest of ${snapshots.length} automatic snapshot(s) kept; all at GET ${app.url}/api/snapshots\n`);
  }

  const groups = log.groups();
  heading('Leak and misuse reports (poolscope events, grouped by kind and line)');
  out(formatReportGroups(groups));
  const checks = formatPlantedChecks(checkPlantedSites(plantedSites(), groups));
  out('\n  The planted misuse, checked against the demo source:\n');
  out(checks.text);

  heading(`The database's view: poolscope db --database ${db.name}`);
  let server: ServerActivityReport | undefined;
  try {
    server = await readServerActivity(db.adminUrl, { database: db.name, signal: io.signal });
    out(formatServerActivity(server, db.adminUrl));
  } catch (error) {
    if (io.signal.aborted) return checks.allFound;
    out(`  (could not read pg_stat_activity: ${messageOf(error)})\n`);
  }

  heading('Recommendations');
  const inputs = poolRecommendationInputs(inspector);
  const recommendations = recommend(server === undefined ? { pools: inputs } : { pools: inputs, server });
  if (recommendations.length === 0) out('  (none)\n');
  for (const recommendation of recommendations) out(`${indent(formatRecommendation(recommendation), '  ')}\n\n`);

  heading(`poolscope inspect --url ${app.url}`);
  const inspectCode = await inspectCommand.run(['--url', app.url], io);
  if (inspectCode === EXIT_CODES.problem) {
    out(`  (inspect alone would exit ${inspectCode} here, as a deploy gate should: '${DEMO_POOLS.main}' is saturated on purpose)\n`);
  }

  out(
    checks.allFound
      ? `\nResult: poolscope reported each of the ${checkPlantedSites(plantedSites(), groups).length} planted misuses at its line of the demo source.\n`
      : '\nResult: a planted misuse was NOT reported at its line (see MISSED above).\n',
  );
  return checks.allFound;
}

function indent(text: string, prefix: string): string {
  return text
    .split('\n')
    .map((line) => prefix + line)
    .join('\n');
}
