import { EXIT_CODES, type CliCommand, type CliIo } from '../cli-command.js';
import type { CliFlag } from '../flag-parser.js';
import { checkDatabaseUrl, choiceFlag, flagHelp, parseFlags } from '../flag-parser.js';
import { textTable } from '../text-table.js';
import { ActivityInspector, type ServerActivityOptions, type ServerActivityReport } from '../../server/activity-inspector.js';
import type { ServerQueryTags, ServerSessionSnapshot } from '../../server/activity-report.js';
import { withoutTrailingSqlComment } from '../../core/sql-comment-format.js';
import { maskConnectionString } from '../../core/connection-string-mask.js';
import { PoolscopeError, messageOf } from '../../errors.js';
import { formatMillis } from '../../core/format-millis.js';

/**
 * `poolscope db`: the database server's own view of its connections (pg_stat_activity), read over a connection of
 * its own with ActivityInspector. Works on any PostgreSQL 10+, whether the apps using it run poolscope or not.
 */

/** Where `poolscope db` connects when neither --database-url nor DATABASE_URL is given. */
export const DEFAULT_DB_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/** Output formats of `poolscope db`. */
export const DB_FORMATS = ['text', 'json'] as const;
export type DbFormat = (typeof DB_FORMATS)[number];

/** Parsed options of `poolscope db`. */
export interface DbCommandOptions {
  /** Connection string given with --database-url; undefined = DATABASE_URL, then DEFAULT_DB_URL. */
  readonly databaseUrl: string | undefined;
  /** Only sessions with this application_name (exact match). */
  readonly applicationName: string | undefined;
  /** Only sessions connected to this database (exact match). */
  readonly database: string | undefined;
  readonly format: DbFormat;
}

/** Every flag of `poolscope db` (help text and docs/reference/cli.md follow this list). */
export const DB_FLAGS: readonly CliFlag[] = Object.freeze([
  { name: 'database-url', type: 'string', value: 'URL', summary: `server to read (default: env DATABASE_URL, else ${DEFAULT_DB_URL})` },
  { name: 'application-name', type: 'string', value: 'NAME', summary: 'only sessions with this application_name (exact match)' },
  { name: 'database', type: 'string', value: 'NAME', summary: 'only sessions connected to this database (exact match)' },
  { name: 'format', type: 'string', value: 'text|json', summary: 'output format (default text; json is the ServerActivityReport)' },
] as const satisfies readonly CliFlag[]);

const HELP = `poolscope db: the database server's view of its connections (pg_stat_activity)

Usage: poolscope db [--database-url URL] [--application-name NAME] [--database NAME] [--format text|json]

Reads pg_stat_activity over a connection of its own (application_name 'poolscope-activity') and shows:
connections grouped by application_name and state, the statements running now (longest first), sessions
idle in a transaction (with ages), sessions waiting on locks and who blocks them, the oldest open
transaction, and the headroom to max_connections minus the reserved slots. Works on any PostgreSQL 10+,
whether the app runs poolscope or not. A statement that ends with a sqlcommenter comment (a pool tracked
with queryComments, in any process) is shown with the owner, file:line, lease, pool and app it names.

Options:
${flagHelp(DB_FLAGS)}

Give the role pg_monitor (GRANT pg_monitor TO <role>) to see other roles' sessions in full.

Exit codes: 0 ok, 2 bad usage, 3 the server could not be reached or read.
`;

/** Parses the arguments of `poolscope db`; throws CliUsageError. */
export function parseDbArgs(args: readonly string[]): DbCommandOptions {
  const flags = parseFlags(args, DB_FLAGS);
  const databaseUrl = flags.string('database-url');
  return {
    databaseUrl: databaseUrl === undefined ? undefined : checkDatabaseUrl(databaseUrl, '--database-url'),
    applicationName: flags.string('application-name'),
    database: flags.string('database'),
    format: choiceFlag('format', flags.string('format'), DB_FORMATS, 'text'),
  };
}

/** The connection string `poolscope db` uses: the flag, else env DATABASE_URL, else DEFAULT_DB_URL. */
export function dbUrlOf(options: DbCommandOptions, env: CliIo['env']): string {
  if (options.databaseUrl !== undefined) return options.databaseUrl;
  const fromEnv = env.DATABASE_URL;
  if (fromEnv !== undefined && fromEnv !== '') return checkDatabaseUrl(fromEnv, 'DATABASE_URL');
  return DEFAULT_DB_URL;
}

/** Reads one ServerActivityReport from `url` (own connection, closed before returning). Rejects like activity(). */
export async function readServerActivity(
  url: string,
  options: { readonly applicationName?: string | undefined; readonly database?: string | undefined; readonly signal?: AbortSignal } = {},
): Promise<ServerActivityReport> {
  const inspector = new ActivityInspector({ connectionString: url });
  const aborted = new Promise<never>((_, reject) => {
    const signal = options.signal;
    if (signal === undefined) return;
    const onAbort = (): void => reject(new PoolscopeError('POOLSCOPE_ERR_CLI_INTERRUPTED', 'interrupted'));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => undefined);
  try {
    const filters: ServerActivityOptions = {
      ...(options.applicationName === undefined ? {} : { applicationName: options.applicationName }),
      ...(options.database === undefined ? {} : { database: options.database }),
    };
    return await Promise.race([inspector.activity(filters), aborted]);
  } finally {
    await inspector.close().catch(() => undefined);
  }
}

/** `poolscope db`. */
export const dbCommand: CliCommand = {
  name: 'db',
  summary: "the database server's view: connections by application and state, idle transactions, lock waits",
  help: HELP,
  async run(args, io) {
    const options = parseDbArgs(args);
    const url = dbUrlOf(options, io.env);
    let report: ServerActivityReport;
    try {
      report = await readServerActivity(url, { applicationName: options.applicationName, database: options.database, signal: io.signal });
    } catch (error) {
      if (io.signal.aborted) return EXIT_CODES.interrupted;
      io.stderr.write(`poolscope db: cannot read pg_stat_activity at ${maskConnectionString(url)}: ${messageWithCause(error)}\n`);
      io.stderr.write('Check that the server runs and the URL is right (--database-url, or env DATABASE_URL).\n');
      return EXIT_CODES.unreachable;
    }
    io.stdout.write(options.format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : formatServerActivity(report, url));
    return EXIT_CODES.ok;
  },
};

/** The error's message, and its cause's when the message does not already say it (the driver's reason). */
function messageWithCause(error: unknown): string {
  if (!(error instanceof Error)) return messageOf(error);
  const cause = error.cause instanceof Error && !error.message.includes(error.cause.message) ? ` (${error.cause.message})` : '';
  return `${error.message}${cause}`;
}

/** The text view of a report: what `poolscope db` prints. `url` is shown with its password masked. */
export function formatServerActivity(report: ServerActivityReport, url?: string): string {
  const lines: string[] = [];
  const where = url === undefined ? '' : ` at ${maskConnectionString(url)}`;
  lines.push(`PostgreSQL ${report.version}${where}, read ${report.takenAt}`);
  const usable = report.maxConnections - report.reservedConnections;
  lines.push(
    `Connections: ${report.usedConnections} in use of ${usable} usable (max_connections ${report.maxConnections} - ` +
      `${report.reservedConnections} reserved); headroom ${report.headroom}` +
      (report.headroom <= 0 ? ' (FULL: new connections of ordinary roles will be refused)' : ''),
  );
  if (report.hiddenBackends > 0) {
    lines.push(
      `  ${report.hiddenBackends} backend(s) of other roles could not be identified (GRANT pg_monitor to see them); headroom is an upper bound`,
    );
  }
  const filters = Object.entries(report.filters).filter(([, value]) => value !== null);
  if (filters.length > 0) lines.push(`Filter: ${filters.map(([key, value]) => `${key} = ${JSON.stringify(value)}`).join(', ')}`);

  lines.push('', `Sessions by application and state (${report.sessions.length}, this reader's own excluded):`);
  if (report.groups.length === 0) {
    lines.push('  (none)');
  } else {
    const rows = report.groups.map((group) => [
      group.applicationName === '' ? '(none)' : group.applicationName,
      group.state ?? '(hidden)',
      String(group.count),
      group.user ?? '?',
      group.database ?? '?',
    ]);
    lines.push(textTable([['APPLICATION', 'STATE', 'COUNT', 'USER', 'DATABASE'], ...rows], { align: ['left', 'left', 'right'] }));
  }

  lines.push('', 'Running now (longest first):');
  const active = activeSessions(report.sessions);
  if (active.length === 0) lines.push('  (none)');
  for (const session of active) {
    const waiting = session.waitEventType === null ? '' : `, waiting on ${session.waitEventType}${session.waitEvent === null ? '' : `/${session.waitEvent}`}`;
    lines.push(`  pid ${session.pid}  ${appOf(session.applicationName)}  running ${age(session.queryAgeMillis)}${waiting}  (${session.user ?? '?'}@${session.database ?? '?'})`);
    if (session.query !== null) lines.push(`      query: ${queryLine(session.query, session.queryTags)}`);
    pushTags(lines, session.queryTags);
  }

  lines.push('', 'Idle in transaction (holding locks and a snapshot; oldest first):');
  if (report.idleInTransaction.length === 0) lines.push('  (none)');
  for (const session of report.idleInTransaction) {
    lines.push(
      `  pid ${session.pid}  ${appOf(session.applicationName)}  ${session.state} for ${age(session.stateAgeMillis)}` +
        (session.transactionAgeMillis === null ? '' : `, transaction open ${age(session.transactionAgeMillis)}`) +
        `  (${session.user ?? '?'}@${session.database ?? '?'})`,
    );
    if (session.query !== null) lines.push(`      last query: ${queryLine(session.query, session.queryTags)}`);
    pushTags(lines, session.queryTags);
  }

  lines.push('', 'Waiting on locks (longest first):');
  if (report.waitingOnLocks.length === 0) lines.push('  (none)');
  const byPid = new Map(report.sessions.map((session) => [session.pid, session]));
  for (const waiter of report.waitingOnLocks) {
    const blockers = waiter.blockedBy.map((pid) => {
      const blocker = byPid.get(pid);
      return blocker === undefined ? `pid ${pid}` : `pid ${pid} (${appOf(blocker.applicationName)}, ${blocker.state ?? 'state hidden'})`;
    });
    lines.push(
      `  pid ${waiter.pid}  ${appOf(waiter.applicationName)}  waiting ${age(waiter.waitingMillis)} on ${waiter.waitEvent ?? 'a lock'}, ` +
        `blocked by ${blockers.length === 0 ? 'nobody any more' : blockers.join(', ')}`,
    );
    if (waiter.query !== null) lines.push(`      blocked query: ${queryLine(waiter.query, waiter.queryTags)}`);
    pushTags(lines, waiter.queryTags);
  }

  lines.push('', 'Oldest open transaction:');
  const oldest = report.oldestTransaction;
  if (oldest === null) {
    lines.push('  (none)');
  } else {
    lines.push(
      `  pid ${oldest.pid}  ${appOf(oldest.applicationName)}  open ${age(oldest.transactionAgeMillis)}, ${oldest.state ?? 'state hidden'} ` +
        `(${oldest.user ?? '?'}@${oldest.database ?? '?'})`,
    );
    if (oldest.query !== null) lines.push(`      query: ${queryLine(oldest.query, oldest.queryTags)}`);
    pushTags(lines, oldest.queryTags);
  }
  return `${lines.join('\n')}\n`;
}

/** Sessions running a statement now, longest running first. */
function activeSessions(sessions: readonly ServerSessionSnapshot[]): ServerSessionSnapshot[] {
  return sessions
    .filter((session) => session.state === 'active')
    .sort((a, b) => (b.queryAgeMillis ?? 0) - (a.queryAgeMillis ?? 0) || a.pid - b.pid);
}

/** A query on one line; without its sqlcommenter comment when it has one (the tags line says what it said). */
function queryLine(query: string, tags: ServerQueryTags | null): string {
  return oneLine(tags === null ? query : withoutTrailingSqlComment(query));
}

/** `      sent by "GET /orders" at src/orders.ts:42:17 (lease #12 of pool main, app billing)`, when the query says. */
function pushTags(lines: string[], tags: ServerQueryTags | null): void {
  const text = tags === null ? undefined : describeQueryTags(tags);
  if (text !== undefined) lines.push(`      ${text}`);
}

/** What a query's comment names, for a line of text; undefined when it names nothing. */
export function describeQueryTags(tags: ServerQueryTags): string | undefined {
  // Anyone who can send a statement can write its comment: values are shown escaped, on one line.
  const who = tags.owner === null ? '' : ` by ${JSON.stringify(tags.owner)}`;
  const where = tags.location === null ? '' : ` at ${printable(tags.location)}`;
  const pool = tags.poolName === null ? undefined : printable(tags.poolName);
  const lease = tags.leaseId === null ? undefined : `lease #${tags.leaseId}${pool === undefined ? '' : ` of pool ${pool}`}`;
  const about = [
    lease ?? (pool === undefined ? undefined : `pool ${pool}`),
    tags.appName === null ? undefined : `app ${printable(tags.appName)}`,
    tags.traceparent === null ? undefined : `trace ${printable(tags.traceparent)}`,
  ]
    .filter((part) => part !== undefined)
    .join(', ');
  if (who !== '' || where !== '' || about !== '') return `sent${who}${where}${about === '' ? '' : ` (${about})`}`;
  const others = Object.entries(tags.tags).map(([key, value]) => `${printable(key)}=${JSON.stringify(value)}`);
  return others.length === 0 ? undefined : `tags: ${oneLine(others.join(', '))}`;
}

/** `text` with control characters (newlines, escape sequences) written as \\uXXXX. */
function printable(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what this replaces
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function appOf(name: string): string {
  return name === '' ? 'app (none)' : `app ${name}`;
}

function age(millis: number | null): string {
  return millis === null ? '?' : formatMillis(millis);
}

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 160 ? `${flat.slice(0, 157)}...` : flat;
}
