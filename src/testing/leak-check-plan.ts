import { OptionsError } from '../errors.js';
import type { Inspector } from '../core/inspector.js';
import { ActivityInspector } from '../server/activity-inspector.js';
import type { ActivityClientLike } from '../server/activity-inspector.js';
import type { TestPoolLike } from './test-pool-options.js';
import type { TestPool, TestPools } from './test-pools.js';

/**
 * The options of `assertNoLeakedConnections`, checked and turned into a plan: which inspectors' leases count, which
 * server sessions count and how the server is read, and how long leaks may take to go away.
 */

/** Default grace period: leaks must last this long to count (a release or end already under way may finish). */
export const DEFAULT_LEAK_CHECK_GRACE_MILLIS = 500;
/** Default time between two checks within the grace period. */
export const DEFAULT_LEAK_CHECK_POLL_MILLIS = 25;
/** application_name of the checker's own session (with `connectionString`). */
export const LEAK_CHECK_APPLICATION_NAME = 'poolscope-leak-check';

type AnyTestPools = TestPools<TestPoolLike> | TestPool<TestPoolLike>;

/** What to check. At least one check must be configured: leases (`inspector` or `pools`), or the server. */
export interface NoLeakedConnectionsOptions {
  /**
   * Test pools (a TestPools, a TestPool, or a list): the leases of their pools count; and, unless a scope is given,
   * the server sessions with their application_names (their own idle connections excepted), read with their
   * connection string unless `connectionString`, `client` or `activity` is given.
   */
  readonly pools?: AnyTestPools | readonly AnyTestPools[];
  /** Leases held in this inspector's pools count (every pool, or those in `poolNames`). */
  readonly inspector?: Inspector;
  /** Only these pools of `inspector`. */
  readonly poolNames?: readonly string[];
  /**
   * Server check scope: sessions with this application_name (or one of these). `applicationName`, `user` and
   * `database` combine (all must match); any of them replaces the scope taken from `pools`.
   */
  readonly applicationName?: string | readonly string[];
  /** Server check scope: sessions of this role. */
  readonly user?: string;
  /** Server check scope: sessions on this database. */
  readonly database?: string;
  /** How to read the server: a connection string (a session of its own, ended after the check) ... */
  readonly connectionString?: string;
  /** ... or a client of its own, not connected yet (e.g. `new pg.Client(config)`), ended after the check ... */
  readonly client?: ActivityClientLike;
  /** ... or an ActivityInspector you keep open across tests (not closed by the check). */
  readonly activity?: ActivityInspector;
  /** How long leaks may take to go away before they count. Default 500; 0 checks once. */
  readonly graceMillis?: number;
  /** Time between checks within the grace period. Default 25. */
  readonly pollIntervalMillis?: number;
}

export interface LeaseSource {
  readonly inspector: Inspector;
  /** undefined: every pool of the inspector. */
  readonly poolNames: readonly string[] | undefined;
}

export interface ServerCheck {
  readonly connection: { readonly activity: ActivityInspector } | { readonly connectionString: string } | { readonly client: ActivityClientLike };
  readonly applicationNames: readonly string[] | undefined;
  readonly user: string | undefined;
  readonly database: string | undefined;
}

export interface Plan {
  readonly leases: readonly LeaseSource[];
  readonly server: ServerCheck | undefined;
  /** Backend PIDs of the test pools' own connections (idle in their pool: not leaks). */
  readonly poolPids: () => ReadonlySet<number>;
  readonly graceMillis: number;
  readonly pollIntervalMillis: number;
}

/** Checks the options (OptionsError naming the first bad one) and returns the plan. */
export function planOf(options: NoLeakedConnectionsOptions): Plan {
  if (options === null || typeof options !== 'object') {
    throw new OptionsError('options', options, 'an object such as { pools } or { inspector, connectionString, applicationName }');
  }
  const testPools = listOf(options.pools).map((entry, index) => {
    const pools = entry !== null && typeof entry === 'object' && 'testPools' in entry ? entry.testPools : entry;
    if (pools === null || typeof pools !== 'object' || typeof (pools as Partial<TestPools<TestPoolLike>>).connectionPids !== 'function') {
      throw new OptionsError(options.pools === entry ? 'pools' : `pools[${index}]`, entry, 'a TestPools or a TestPool (from createTestPool)');
    }
    return pools as TestPools<TestPoolLike>;
  });

  const leases: LeaseSource[] = [];
  if (options.inspector !== undefined) {
    const inspector = options.inspector as Partial<Inspector> | null;
    if (inspector === null || typeof inspector !== 'object' || typeof inspector.snapshotAll !== 'function') {
      throw new OptionsError('inspector', options.inspector, 'an Inspector');
    }
    const poolNames = options.poolNames;
    if (poolNames !== undefined && (!Array.isArray(poolNames) || !poolNames.every((n) => typeof n === 'string'))) {
      throw new OptionsError('poolNames', poolNames, 'an array of pool names');
    }
    leases.push({ inspector: options.inspector, poolNames });
  } else if (options.poolNames !== undefined) {
    throw new OptionsError('poolNames', options.poolNames, 'nothing without { inspector } (it names pools of that inspector)');
  }
  for (const pools of testPools) leases.push({ inspector: pools.inspector, poolNames: pools.poolNames });

  const applicationNames =
    options.applicationName === undefined
      ? undefined
      : listOf(options.applicationName).map((name, index) => {
          if (typeof name !== 'string') throw new OptionsError(`applicationName[${index}]`, name, 'a string');
          return name;
        });
  if (applicationNames !== undefined && applicationNames.length === 0) {
    throw new OptionsError('applicationName', options.applicationName, 'a string or a non-empty array of strings');
  }
  const user = optionalString('user', options.user);
  const database = optionalString('database', options.database);
  const scopeGiven = applicationNames !== undefined || user !== undefined || database !== undefined;
  const scope = scopeGiven
    ? { applicationNames, user, database }
    : testPools.length > 0
      ? { applicationNames: testPools.flatMap((p) => p.applicationNames), user: undefined, database: undefined }
      : undefined;

  const given = (['activity', 'client', 'connectionString'] as const).filter((key) => options[key] !== undefined);
  if (given.length > 1) {
    throw new OptionsError(given[1] ?? 'client', `both ${given.join(' and ')}`, 'one of connectionString, client or activity');
  }
  let connection: ServerCheck['connection'] | undefined;
  if (options.activity !== undefined) {
    if (!(options.activity instanceof ActivityInspector)) throw new OptionsError('activity', options.activity, 'an ActivityInspector');
    connection = { activity: options.activity };
  } else if (options.client !== undefined) {
    connection = { client: options.client };
  } else if (options.connectionString !== undefined) {
    if (typeof options.connectionString !== 'string' || options.connectionString === '') {
      throw new OptionsError('connectionString', options.connectionString, "a non-empty string such as 'postgres://user@host:5432/db'");
    }
    connection = { connectionString: options.connectionString };
  } else {
    const fromPools = testPools.find((p) => p.connectionString !== undefined)?.connectionString;
    if (fromPools !== undefined) connection = { connectionString: fromPools };
  }

  if (connection !== undefined && scope === undefined) {
    throw new OptionsError(
      'applicationName',
      undefined,
      'a scope for the server check with a connection (applicationName, user or database): without one every session ' +
        'on the server would count',
    );
  }
  if (scopeGiven && connection === undefined) {
    throw new OptionsError(
      'connectionString',
      undefined,
      'connectionString, client or activity to read the server with, for the applicationName / user / database scope',
    );
  }
  const server = connection !== undefined && scope !== undefined ? { connection, ...scope } : undefined;
  if (leases.length === 0 && server === undefined) {
    throw new OptionsError(
      'options',
      options,
      'at least one check: { inspector } or { pools } for leases, and/or a server connection (connectionString, client ' +
        'or activity) with a scope (applicationName, user or database) for sessions',
    );
  }
  const graceMillis = options.graceMillis ?? DEFAULT_LEAK_CHECK_GRACE_MILLIS;
  if (typeof graceMillis !== 'number' || !Number.isFinite(graceMillis) || graceMillis < 0) {
    throw new OptionsError('graceMillis', graceMillis, 'a finite number of milliseconds >= 0');
  }
  const pollIntervalMillis = options.pollIntervalMillis ?? DEFAULT_LEAK_CHECK_POLL_MILLIS;
  if (typeof pollIntervalMillis !== 'number' || !Number.isFinite(pollIntervalMillis) || pollIntervalMillis <= 0) {
    throw new OptionsError('pollIntervalMillis', pollIntervalMillis, 'a finite number of milliseconds > 0');
  }
  return {
    leases,
    server,
    poolPids: () => {
      const pids = new Set<number>();
      for (const pools of testPools) for (const pid of pools.connectionPids()) pids.add(pid);
      return pids;
    },
    graceMillis,
    pollIntervalMillis,
  };
}

function listOf<T>(value: T | readonly T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? [...(value as readonly T[])] : [value as T];
}

function optionalString(option: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw new OptionsError(option, value, 'a non-empty string');
  return value;
}
