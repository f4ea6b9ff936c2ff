import { TRANSIENT_NODE_PREFIX } from '../../cluster/cluster-membership.js';
import { ClusterNode, type ClusterSnapshot, type ClusterTotals, type ConnectionCounts } from '../../cluster/cluster-node.js';
import { maskConnectionString } from '../../core/connection-string-mask.js';
import { Inspector } from '../../core/inspector.js';
import type { LeaseSnapshot } from '../../core/lease.js';
import type { PoolSnapshot } from '../../core/pool-snapshot.js';
import { PoolscopeError, messageOf } from '../../errors.js';
import type { CliCommand, CliIo } from '../cli-command.js';
import { CliUsageError, EXIT_CODES } from '../cli-command.js';
import type { CliFlag } from '../flag-parser.js';
import { checkDatabaseUrl, choiceFlag, flagHelp, integerFlag, parseFlags, secretFromEnvFlag } from '../flag-parser.js';
import { formatMillisShort } from '../latency-summary.js';
import { textTable } from '../text-table.js';

/** Output formats of `poolscope cluster`. */
export const CLUSTER_FORMATS = ['text', 'json'] as const;
export type ClusterFormat = (typeof CLUSTER_FORMATS)[number];

/** Default, smallest and largest `--timeout` (how long to wait for the nodes' answers). */
export const DEFAULT_CLUSTER_TIMEOUT_MILLIS = 3000;
export const MIN_CLUSTER_TIMEOUT_MILLIS = 100;
export const MAX_CLUSTER_TIMEOUT_MILLIS = 600_000;

/** The names the cluster messages accept (docs/reference/cluster.md, Messages). */
const NODE_NAME = /^[A-Za-z0-9_.:-]{1,64}$/;
const POOL_NAME = /^[A-Za-z0-9_.:-]{1,100}$/;

/** Every flag of `poolscope cluster` (help text and docs/reference/cli.md follow this list). */
export const CLUSTER_FLAGS: readonly CliFlag[] = Object.freeze([
  { name: 'database-url', type: 'string', value: 'URL', summary: 'the database the instances share (default: env DATABASE_URL)' },
  { name: 'cluster', type: 'string', value: 'NAME', summary: "the cluster's name, as the instances' ClusterNode has it (required)" },
  { name: 'nodes', type: 'string', value: 'a,b', summary: 'only these nodes (default: every member)' },
  { name: 'pools', type: 'string', value: 'x,y', summary: 'only these pools (default: every pool)' },
  { name: 'secret-env', type: 'string', value: 'VAR', summary: "the name of the environment variable holding the cluster's shared secret" },
  { name: 'format', type: 'string', value: 'text|json', summary: 'output format (default text)' },
  { name: 'timeout', type: 'string', value: 'MS', summary: `how long to wait for the answers (default ${DEFAULT_CLUSTER_TIMEOUT_MILLIS})` },
] as const satisfies readonly CliFlag[]);

/** What `poolscope cluster` was asked to do. */
export interface ClusterCommandOptions {
  readonly databaseUrl: string;
  readonly cluster: string;
  readonly nodes: 'all' | readonly string[];
  readonly pools: readonly string[] | undefined;
  /** The secret read from the variable --secret-env names; undefined without --secret-env. */
  readonly secret: string | undefined;
  readonly format: ClusterFormat;
  readonly timeoutMillis: number;
}

const HELP = `poolscope cluster: ask every instance of a cluster for its pools and holders, over PostgreSQL

Usage: poolscope cluster --database-url URL --cluster NAME [options]

Options:
${flagHelp(CLUSTER_FLAGS)}

Joins the cluster as a node named cli-<pid> (one connection to the database, application_name
poolscope-cluster/<cluster>/cli-<pid>), asks the nodes for their snapshots over LISTEN/NOTIFY, prints them and
leaves. The CLI answers its own request with no pools; it is left out of the text output.

The shared secret is never given as a flag value (it would land in the shell history and in ps): put it in an
environment variable and name the variable, e.g. --secret-env POOLSCOPE_CLUSTER_SECRET.

Exit codes: 0 every node answered; 1 a node is missing (did not answer in time, or named and not in the
cluster); 2 bad usage; 3 cannot join or ask (database unreachable, connection lost); 130 interrupted.

Examples:
  poolscope cluster --database-url postgres://app@db:5432/orders --cluster orders-prod
  poolscope cluster --database-url "$DATABASE_URL" --cluster orders-prod --nodes api-1,api-3 --pools main --format json
  POOLSCOPE_CLUSTER_SECRET=... poolscope cluster --cluster orders-prod --secret-env POOLSCOPE_CLUSTER_SECRET
`;

/** Parses the arguments of `poolscope cluster`; throws CliUsageError. */
export function parseClusterArgs(args: readonly string[], env: CliIo['env']): ClusterCommandOptions {
  const flags = parseFlags(args, CLUSTER_FLAGS);
  const urlFlag = flags.string('database-url');
  const envUrl = env.DATABASE_URL;
  let databaseUrl: string;
  if (urlFlag !== undefined) databaseUrl = checkDatabaseUrl(urlFlag, '--database-url');
  else if (envUrl !== undefined && envUrl !== '') databaseUrl = checkDatabaseUrl(envUrl, 'DATABASE_URL');
  else throw new CliUsageError('--database-url is required (or env DATABASE_URL), e.g. --database-url postgres://app@127.0.0.1:5432/orders.');
  const cluster = flags.string('cluster');
  if (cluster === undefined || cluster === '') throw new CliUsageError('--cluster is required: the cluster name the instances joined, e.g. --cluster orders-prod.');
  if (cluster.length > 200 || cluster.includes('\0')) throw new CliUsageError('--cluster must be 1-200 characters without NUL.');
  const nodesText = flags.string('nodes');
  const pools = namesFlag('pools', flags.string('pools'), POOL_NAME, '1-100');
  const secret = secretFromEnvFlag('secret-env', flags.string('secret-env'), env);
  return {
    databaseUrl,
    cluster,
    nodes: namesFlag('nodes', nodesText, NODE_NAME, '1-64') ?? 'all',
    pools,
    secret,
    format: choiceFlag('format', flags.string('format'), CLUSTER_FORMATS, 'text'),
    timeoutMillis: integerFlag('timeout', flags.string('timeout'), DEFAULT_CLUSTER_TIMEOUT_MILLIS, MIN_CLUSTER_TIMEOUT_MILLIS, MAX_CLUSTER_TIMEOUT_MILLIS),
  };
}

function namesFlag(name: string, text: string | undefined, shape: RegExp, length: string): string[] | undefined {
  if (text === undefined) return undefined;
  const names = [...new Set(text.split(','))];
  const bad = names.find((candidate) => !shape.test(candidate));
  if (bad !== undefined) {
    throw new CliUsageError(`--${name} takes comma-separated names (${length} of A-Z a-z 0-9 _ . : -, no spaces), and ${JSON.stringify(bad)} is not one.`);
  }
  if (names.length > 1000) throw new CliUsageError(`--${name} lists ${names.length} names; at most 1000.`);
  return names;
}

/** `poolscope cluster`: joins, asks, prints, leaves. */
export const clusterCommand: CliCommand = {
  name: 'cluster',
  summary: 'ask every instance of a cluster (over the PostgreSQL they share) for its pools and holders',
  help: HELP,
  run: async (args, io) => {
    const options = parseClusterArgs(args, io.env);
    const self = `${TRANSIENT_NODE_PREFIX}${process.pid}`; // a transient requester: not remembered as a departure
    const where = maskConnectionString(options.databaseUrl);
    const inspector = new Inspector({
      historyIntervalMillis: 0,
      alerts: false,
      instanceId: self,
      onError: (error) => io.stderr.write(`poolscope cluster: warning: ${messageOf(error)}\n`),
    });
    const node = new ClusterNode(inspector, {
      cluster: options.cluster,
      connectionString: options.databaseUrl,
      node: self,
      ...(options.secret === undefined ? {} : { secret: options.secret }),
    });
    const onAbort = (): void => void node.leave();
    io.signal.addEventListener('abort', onAbort, { once: true });
    try {
      if (io.signal.aborted) return EXIT_CODES.interrupted;
      try {
        await node.join();
      } catch (error) {
        if (io.signal.aborted) return EXIT_CODES.interrupted;
        io.stderr.write(`poolscope cluster: cannot join cluster ${JSON.stringify(options.cluster)} at ${where}: ${describe(error)}\n`);
        return EXIT_CODES.unreachable;
      }
      let result: ClusterSnapshot;
      try {
        result = await node.snapshot({
          nodes: options.nodes,
          ...(options.pools === undefined ? {} : { pools: options.pools }),
          timeoutMillis: options.timeoutMillis,
        });
      } catch (error) {
        if (io.signal.aborted) return EXIT_CODES.interrupted;
        io.stderr.write(`poolscope cluster: cannot ask cluster ${JSON.stringify(options.cluster)} at ${where}: ${describe(error)}\n`);
        return EXIT_CODES.unreachable;
      }
      if (io.signal.aborted) return EXIT_CODES.interrupted;
      io.stdout.write(
        options.format === 'json' ? `${JSON.stringify(result, null, 2)}\n` : renderClusterText(result, { cluster: options.cluster, self, timeoutMillis: options.timeoutMillis }),
      );
      return result.complete ? EXIT_CODES.ok : EXIT_CODES.problem;
    } finally {
      io.signal.removeEventListener('abort', onAbort);
      await node.leave();
      inspector.close();
    }
  },
};

function describe(error: unknown): string {
  const code = error instanceof PoolscopeError ? `${error.code}: ` : '';
  const cause = error instanceof Error && error.cause instanceof Error && !error.message.includes(error.cause.message) ? ` (${error.cause.message})` : '';
  return `${code}${messageOf(error)}${cause}`;
}

/** What `renderClusterText` needs besides the result. */
export interface ClusterTextOptions {
  readonly cluster: string;
  /** The asking node (the CLI's own), left out of the listing. */
  readonly self: string;
  readonly timeoutMillis: number;
}

const MISSING_REASONS: Readonly<Record<string, string>> = {
  timeout: 'did not answer in time (connected: busy, or its event loop is blocked)',
  left: 'left while asked (its session ended: stopped, killed, or its connection lost)',
  'not-in-cluster': 'not in the cluster (no session of that name on the database)',
};

/** The text view: per node its pools and holders, then the missing nodes with the reason. */
export function renderClusterText(result: ClusterSnapshot, options: ClusterTextOptions): string {
  const nodes = result.nodes.filter((entry) => entry.node !== options.self);
  const missing = result.missing.filter((entry) => entry.node !== options.self);
  const lines: string[] = [
    `Cluster ${options.cluster}: ${nodes.length} node${nodes.length === 1 ? '' : 's'} answered, ${missing.length} missing` +
      ` (${result.complete ? 'complete' : 'partial'}; timeout ${options.timeoutMillis} ms; request ${result.requestId})`,
  ];
  if (nodes.length === 0 && missing.length === 0) {
    lines.push('', 'No node other than this CLI is in the cluster: check --cluster (exact, case-sensitive) and that --database-url is the database the instances share.');
  }
  for (const { node, snapshot } of nodes) {
    lines.push('', `Node ${node} (snapshot ${snapshot.takenAt})`);
    if (snapshot.pools.length === 0) lines.push('  no pools');
    for (const pool of snapshot.pools) lines.push(...poolLines(pool));
  }
  if (nodes.length > 0) lines.push(...totalsLines(result.totals));
  if (missing.length > 0) {
    lines.push('', `Missing (${missing.length})`);
    lines.push(textTable(missing.map((entry) => [entry.node, MISSING_REASONS[entry.reason] ?? entry.reason]), { indent: '  ' }));
  }
  const departed = result.departed;
  if (departed.length > 0) {
    lines.push('', `Left (${departed.length}): seen in the cluster earlier, gone now (stopped, crashed or scaled down)`);
    lines.push(textTable(departed.map((entry) => [entry.node, `gone since ${new Date(entry.leftAt).toISOString()}`]), { indent: '  ' }));
  }
  return `${lines.join('\n')}\n`;
}

/** Per pool name across the nodes, in all, and against the server's headroom. */
function totalsLines(totals: ClusterTotals): string[] {
  const row = (name: string, nodes: string, c: ConnectionCounts): string[] => [name, nodes, String(c.used), String(c.idle), String(c.max), String(c.pending)];
  const lines = ['', 'Totals'];
  lines.push(
    textTable(
      [
        ['pool', 'nodes', 'used', 'idle', 'max', 'waiting'],
        ...totals.pools.map((pool) => row(pool.poolName, String(pool.nodes.length), pool.all)),
        row('all', String(totals.nodes.filter((node) => node.pools > 0).length), totals.all),
      ],
      { indent: '  ', align: ['left', 'right', 'right', 'right', 'right', 'right'] },
    ),
  );
  if (totals.server !== null) lines.push(`  Server: ${totals.server.fits ? '' : 'WARNING '}${totals.server.summary}`);
  return lines;
}

function poolLines(pool: PoolSnapshot): string[] {
  const stats = pool.stats;
  const lines = [
    `  Pool ${pool.poolName}: ${stats.used}/${stats.max} used, ${stats.idle} idle, ${stats.pending} waiting (${stats.level})`,
  ];
  if (pool.holders.length === 0) lines.push('    Holders: none');
  else {
    lines.push(`    Holders (${pool.holders.length})`);
    lines.push(
      textTable(
        [['lease', 'owner', 'held ms', 'location'], ...pool.holders.map((lease) => [`#${lease.id}`, ownerText(lease), formatMillisShort(lease.heldMillis), lease.location ?? '-'])],
        { indent: '      ', align: ['left', 'left', 'right'] },
      ),
    );
  }
  if (pool.waiters.length > 0) {
    lines.push(`    Waiters (${pool.waiters.length})`);
    lines.push(
      textTable(
        [['lease', 'owner', 'waiting ms', 'location'], ...pool.waiters.map((lease) => [`#${lease.id}`, ownerText(lease), formatMillisShort(lease.waitMillis), lease.location ?? '-'])],
        { indent: '      ', align: ['left', 'left', 'right'] },
      ),
    );
  }
  return lines;
}

function ownerText(lease: LeaseSnapshot): string {
  if (lease.owner === null) return '-';
  return lease.owner.ended ? `${lease.owner.label} (ended)` : lease.owner.label;
}

