/**
 * Instances of an app in a cluster, as real child processes (test/support/cluster-app-child.ts), for
 * test/integration/cluster-processes.test.ts and bench/cluster-bench.ts: the child's configuration (environment
 * variables), its stdout protocol (one JSON object per line), its stdin commands, and `ClusterAppProcess`, which
 * spawns one, waits for its lines and stops it.
 *
 * Waiting is on the child's own lines (never a fixed sleep); every wait has a bound, a guard against hangs, and
 * fails early, with the child's stderr, when the child exits instead.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The child's script. */
export const CLUSTER_APP_CHILD = fileURLToPath(new URL('./cluster-app-child.ts', import.meta.url));
/** The children run from the repository root: the locations they report are relative to it. */
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The environment variables the child reads. */
export const CLUSTER_APP_ENV = {
  databaseUrl: 'POOLSCOPE_TEST_DATABASE_URL',
  cluster: 'POOLSCOPE_TEST_CLUSTER',
  node: 'POOLSCOPE_TEST_NODE',
  secret: 'POOLSCOPE_TEST_CLUSTER_SECRET',
  pgLeases: 'POOLSCOPE_TEST_PG_LEASES',
  fakeLeases: 'POOLSCOPE_TEST_FAKE_LEASES',
  leak: 'POOLSCOPE_TEST_LEAK',
  reconnectInitialDelayMillis: 'POOLSCOPE_TEST_RECONNECT_MILLIS',
} as const;

/** The names of the child's pools: `main` is a tracked pg.Pool, `bulk` a fake pool (no connections behind it). */
export const CLUSTER_APP_PG_POOL = 'main';
export const CLUSTER_APP_FAKE_POOL = 'bulk';
/** The label of the owner (a job) that takes every lease of a child named `node`. */
export function clusterAppOwnerLabel(node: string): string {
  return `job hold-leases ${node}`;
}

/** One instance's configuration. */
export interface ClusterAppConfig {
  /** The database the instances share (the pool `main` and the ClusterNode connect to it). */
  readonly databaseUrl: string;
  readonly cluster: string;
  /** The node name; also the Inspector's instanceId. */
  readonly node: string;
  /** The cluster's shared secret, if any. */
  readonly secret?: string;
  /** Connections of the pg pool `main` held for the child's life, each taken at `@held-lease`. Default 1. */
  readonly pgLeases?: number;
  /** Leases of the fake pool `bulk` held (no connection behind them), taken at `@fake-lease`. Default 0 (no pool). */
  readonly fakeLeases?: number;
  /** The pool `main` has a short leak threshold: the child is ready once each held lease is a leak suspect. */
  readonly leak?: boolean;
  /** The ClusterNode's first reconnection delay (default: ClusterNode's own). */
  readonly reconnectInitialDelayMillis?: number;
}

/** What the child prints, one object per line. */
export type ClusterAppLine =
  | { readonly type: 'ready'; readonly node: string; readonly pid: number; readonly pgLeases: number; readonly fakeLeases: number; readonly leaksSuspected: number }
  | { readonly type: 'blocking'; readonly millis: number }
  | { readonly type: 'unblocked'; readonly millis: number }
  | { readonly type: 'leases'; readonly fakeLeases: number }
  | { readonly type: 'rejected'; readonly rejected: Readonly<Record<string, number>> }
  | { readonly type: 'state'; readonly state: string }
  /** Something reached the Inspector's onError (a lost LISTEN connection, a failed reconnection, ...). */
  | { readonly type: 'error'; readonly code: string | null; readonly message: string }
  | { readonly type: 'exiting'; readonly reason: string }
  /** The child could not start (bad configuration, no database); it exits with code 3. */
  | { readonly type: 'failed'; readonly message: string };

export type ClusterAppLineType = ClusterAppLine['type'];
export type ClusterAppLineOf<T extends ClusterAppLineType> = Extract<ClusterAppLine, { readonly type: T }>;
export type ClusterAppReady = ClusterAppLineOf<'ready'>;

/** How a child ended. */
export interface ClusterAppExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** `path:line` (relative to the repository root) of the single line of the child ending with `// <marker>`. */
export function clusterAppSite(marker: string): string {
  const lines = readFileSync(CLUSTER_APP_CHILD, 'utf8').split('\n');
  const found = lines.flatMap((line, index) => (line.trimEnd().endsWith(`// ${marker}`) ? [index + 1] : []));
  if (found.length !== 1) throw new Error(`marker ${marker} found ${found.length} times in ${CLUSTER_APP_CHILD}`);
  return `${path.relative(REPO_ROOT, CLUSTER_APP_CHILD)}:${found[0]}`;
}

const DEFAULT_WAIT_MILLIS = 30_000;

interface LineWaiter {
  readonly accept: (line: ClusterAppLine) => boolean;
  readonly resolve: (line: ClusterAppLine) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/** One running child. Create it with `ClusterAppProcess.start()`. */
export class ClusterAppProcess {
  readonly config: ClusterAppConfig;
  readonly child: ChildProcess;
  /** Every line printed so far, in order. */
  readonly lines: ClusterAppLine[] = [];
  /** Resolves when the child has exited (never rejects). */
  readonly exited: Promise<ClusterAppExit>;
  #exit: ClusterAppExit | undefined;
  #stderr = '';
  #ready: ClusterAppReady | undefined;
  readonly #waiters = new Set<LineWaiter>();

  private constructor(config: ClusterAppConfig) {
    this.config = config;
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.NODE_TEST_CONTEXT; // the child is a program, not a test file
    for (const name of Object.values(CLUSTER_APP_ENV)) delete env[name];
    Object.assign(env, childEnvironment(config));
    this.child = spawn(process.execPath, ['--import', 'tsx', CLUSTER_APP_CHILD], { cwd: REPO_ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    // A child that died makes writes to its stdin fail (EPIPE): that shows as the child's exit, not as an error here.
    this.child.stdin?.on('error', () => undefined);
    this.child.stderr?.setEncoding('utf8');
    this.child.stderr?.on('data', (chunk: string) => {
      this.#stderr += chunk;
    });
    createInterface({ input: this.child.stdout as NodeJS.ReadableStream }).on('line', (text) => this.#onLine(text));
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.#exit = { code, signal };
        for (const waiter of [...this.#waiters]) {
          this.#settle(waiter);
          waiter.reject(new Error(`${this.node} exited (${describeExit(this.#exit)}) before the awaited line\n${this.#diagnostics()}`));
        }
        resolve(this.#exit);
      });
    });
  }

  /** Spawns the child and resolves once it printed `ready` (joined the cluster, leases held). */
  static async start(config: ClusterAppConfig, readyTimeoutMillis = DEFAULT_WAIT_MILLIS): Promise<ClusterAppProcess> {
    const app = new ClusterAppProcess(config);
    try {
      app.#ready = await app.next('ready', () => true, readyTimeoutMillis);
    } catch (error) {
      await app.kill();
      throw error;
    }
    return app;
  }

  get node(): string {
    return this.config.node;
  }
  /** What the child printed on `ready`. */
  get ready(): ClusterAppReady {
    if (this.#ready === undefined) throw new Error(`${this.node} is not ready`);
    return this.#ready;
  }
  get stderr(): string {
    return this.#stderr;
  }
  /** How the child exited; undefined while it runs. */
  get exit(): ClusterAppExit | undefined {
    return this.#exit;
  }

  /** The next line of `type` (that `accept` passes) printed from now on. */
  next<T extends ClusterAppLineType>(
    type: T,
    accept: (line: ClusterAppLineOf<T>) => boolean = () => true,
    timeoutMillis = DEFAULT_WAIT_MILLIS,
  ): Promise<ClusterAppLineOf<T>> {
    return new Promise((resolve, reject) => {
      if (this.#exit !== undefined) {
        reject(new Error(`${this.node} has exited (${describeExit(this.#exit)})\n${this.#diagnostics()}`));
        return;
      }
      const waiter: LineWaiter = {
        accept: (line) => line.type === type && accept(line as ClusterAppLineOf<T>),
        resolve: (line) => resolve(line as ClusterAppLineOf<T>),
        reject,
        timer: setTimeout(() => {
          this.#waiters.delete(waiter);
          reject(new Error(`timed out after ${timeoutMillis} ms waiting for a '${type}' line from ${this.node}\n${this.#diagnostics()}`));
        }, timeoutMillis),
      };
      this.#waiters.add(waiter);
    });
  }

  /** Writes one command line to the child's stdin. */
  send(command: string): void {
    this.child.stdin?.write(`${command}\n`);
  }

  /** `block <millis>`: resolves once the child says its event loop is about to be blocked. */
  async block(millis: number): Promise<void> {
    const blocking = this.next('blocking');
    this.send(`block ${millis}`);
    await blocking;
  }

  /** `rejected`: the child's `node.rejected()` (messages received and not used, by reason). */
  async rejected(): Promise<Readonly<Record<string, number>>> {
    const reply = this.next('rejected');
    this.send('rejected');
    return (await reply).rejected;
  }

  /** `state`: the child's `node.state`. */
  async state(): Promise<string> {
    const reply = this.next('state');
    this.send('state');
    return (await reply).state;
  }

  /** `leases <n>`: the child holds `n` leases of its fake pool `bulk` from now on. */
  async setFakeLeases(count: number): Promise<void> {
    const reply = this.next('leases', (line) => line.fakeLeases === count);
    this.send(`leases ${count}`);
    await reply;
  }

  /** Sends `signal` (default SIGKILL) and resolves when the child has exited. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<ClusterAppExit> {
    if (this.#exit === undefined) this.child.kill(signal);
    return this.exited;
  }

  /** `exit`: resolves when the child has exited (it leaves the cluster and gives its connections back first). */
  async requestExit(): Promise<ClusterAppExit> {
    this.send('exit');
    return this.exited;
  }

  /**
   * Ends the child's stdin (which it takes as `exit`) and waits up to `graceMillis` for it to leave the cluster,
   * give back its connections and exit; a child still running then (its event loop blocked) is killed.
   */
  async stop(graceMillis = 5000): Promise<ClusterAppExit> {
    if (this.#exit !== undefined) return this.#exit;
    this.child.stdin?.end();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), graceMillis);
    });
    const outcome = await Promise.race([this.exited, late]);
    clearTimeout(timer);
    if (outcome === 'late') return this.kill();
    return outcome;
  }

  #onLine(text: string): void {
    let line: ClusterAppLine;
    try {
      line = JSON.parse(text) as ClusterAppLine;
    } catch {
      this.#stderr += `[not a JSON line on stdout] ${text}\n`;
      return;
    }
    this.lines.push(line);
    for (const waiter of [...this.#waiters]) {
      if (!waiter.accept(line)) continue;
      this.#settle(waiter);
      waiter.resolve(line);
    }
  }

  #settle(waiter: LineWaiter): void {
    clearTimeout(waiter.timer);
    this.#waiters.delete(waiter);
  }

  #diagnostics(): string {
    const shown = this.lines.slice(-10).map((line) => JSON.stringify(line));
    return `--- last lines of ${this.node} ---\n${shown.join('\n')}\n--- stderr of ${this.node} ---\n${this.#stderr.slice(-4000)}`;
  }
}

/** Children started together and stopped together (a test's afterEach, the bench's end). */
export class ClusterAppGroup {
  readonly #apps = new Set<ClusterAppProcess>();

  /** Starts every configuration at once; if one fails, the others are stopped and the failure is thrown. */
  async start(configs: readonly ClusterAppConfig[], readyTimeoutMillis?: number): Promise<ClusterAppProcess[]> {
    const settled = await Promise.allSettled(configs.map((config) => ClusterAppProcess.start(config, readyTimeoutMillis)));
    const apps = settled.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    for (const app of apps) this.#apps.add(app);
    const failed = settled.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed !== undefined) {
      await this.stopAll();
      throw failed.reason;
    }
    return apps;
  }

  /** Stops every child still running (see `ClusterAppProcess.stop`); returns how each one ended, by node. */
  async stopAll(graceMillis?: number): Promise<Map<string, ClusterAppExit>> {
    const apps = [...this.#apps];
    this.#apps.clear();
    const exits = await Promise.all(apps.map((app) => app.stop(graceMillis)));
    return new Map(apps.map((app, index) => [app.node, exits[index] as ClusterAppExit]));
  }
}

function childEnvironment(config: ClusterAppConfig): Record<string, string> {
  const env: Record<string, string> = {
    [CLUSTER_APP_ENV.databaseUrl]: config.databaseUrl,
    [CLUSTER_APP_ENV.cluster]: config.cluster,
    [CLUSTER_APP_ENV.node]: config.node,
    [CLUSTER_APP_ENV.pgLeases]: String(config.pgLeases ?? 1),
    [CLUSTER_APP_ENV.fakeLeases]: String(config.fakeLeases ?? 0),
    [CLUSTER_APP_ENV.leak]: config.leak === true ? '1' : '0',
  };
  if (config.secret !== undefined) env[CLUSTER_APP_ENV.secret] = config.secret;
  if (config.reconnectInitialDelayMillis !== undefined) env[CLUSTER_APP_ENV.reconnectInitialDelayMillis] = String(config.reconnectInitialDelayMillis);
  return env;
}

function describeExit(exit: ClusterAppExit): string {
  return exit.signal !== null ? `signal ${exit.signal}` : `code ${String(exit.code)}`;
}
