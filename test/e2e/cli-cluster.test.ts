// `poolscope cluster` as a real child process against two ClusterNodes started in this process, each with its own
// Inspector and a tracked pg pool holding a lease, on a real PostgreSQL. Usage errors and an unreachable database
// run in-process (runCli with captured streams).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { trackPgPool } from '../../src/adapters/pg/pg-adapter.js';
import { ClusterNode, type ClusterNodeOptions, type ClusterSnapshot } from '../../src/cluster/cluster-node.js';
import { useClusterTestKit } from '../support/cluster-test-kit.js';
import { isAt, siteOf } from '../support/pg-test-kit.js';
import { runCliCaptured, spawnCli } from '../support/cli-capture.js';
import { CLUSTER_FLAGS } from '../../src/cli/commands/cluster-command.js';

const here = import.meta.url;
const HELD_SITE = siteOf(here, '@cluster-held-lease');
const SECRET = 'a-shared-secret-of-32-characters';

const kit = useClusterTestKit('cli_cluster', 'cli-cluster');
const { res, nodes, held, freshCluster } = kit;

/** An instance: its own Inspector, a tracked pool `main` with one connection held, and a joined ClusterNode. */
async function startNode(cluster: string, name: string, extra: Partial<ClusterNodeOptions> = {}): Promise<ClusterNode> {
  const inspector = res.inspector({ instanceId: name, alerts: false });
  const pool = res.pool(kit.db.url, { max: 2 });
  pool.on('error', () => undefined);
  trackPgPool(inspector, pool, { name: 'main', stackCapture: 'always' });
  held.push(await pool.connect()); // @cluster-held-lease
  const node = new ClusterNode(inspector, { cluster, connectionString: kit.db.url, pg, ...extra });
  nodes.push(node);
  await node.join();
  return node;
}

describe('poolscope cluster (child process, real PostgreSQL)', () => {
  test('text: both nodes with their pool and the holder at its file:line; exit 0', async () => {
    const cluster = freshCluster();
    await startNode(cluster, 'api-1');
    await startNode(cluster, 'api-2');
    const run = await spawnCli(['cluster', '--database-url', kit.db.url, '--cluster', cluster, '--timeout', '10000']);
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    assert.equal(run.stderr, '');
    assert.match(run.stdout, new RegExp(`^Cluster ${cluster}: 2 nodes answered, 0 missing \\(complete;`, 'm'));
    for (const name of ['api-1', 'api-2']) assert.match(run.stdout, new RegExp(`^Node ${name} \\(snapshot \\S+Z\\)$`, 'm'));
    assert.doesNotMatch(run.stdout, /^Node cli-/m, "the CLI's own empty node is left out of the text");
    assert.equal(run.stdout.match(/^ {2}Pool main: 1\/2 used, 0 idle, 0 waiting/gm)?.length, 2, run.stdout);
    const holderLines = run.stdout.split('\n').filter((line) => line.includes(`${HELD_SITE}:`));
    assert.equal(holderLines.length, 2, `one holder line per node at ${HELD_SITE}:\n${run.stdout}`);
    for (const line of holderLines) assert.match(line, /^ {6}#\d+ +\S+ +[\d.,]+ +\S+$/);
    assert.match(run.stdout, /^Totals$/m);
    assert.match(run.stdout, /^ {2}main +2 +2 +0 +4 +0$/m, 'pool main on 2 nodes: 2 used, 0 idle, max 4, 0 waiting');
    assert.match(run.stdout, /^ {2}Server: The cluster's pools may open 2 connections more and the server has \d+ connections of headroom/m);
  });

  test('--format json parses: the ClusterNode result, each node with its holder at its file:line', async () => {
    const cluster = freshCluster();
    await startNode(cluster, 'api-1');
    await startNode(cluster, 'api-2');
    const run = await spawnCli(['cluster', '--database-url', kit.db.url, '--cluster', cluster, '--format', 'json', '--timeout', '10000']);
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    const result = JSON.parse(run.stdout) as ClusterSnapshot;
    assert.deepEqual(Object.keys(result), ['requestId', 'complete', 'nodes', 'missing', 'totals', 'departed']);
    assert.equal(result.complete, true);
    assert.deepEqual(result.missing, []);
    const answered = result.nodes.map((entry) => entry.node);
    assert.ok(answered.includes('api-1') && answered.includes('api-2'), answered.join(', '));
    assert.ok(answered.some((name) => /^cli-\d+$/.test(name)), 'the CLI answers its own request (with no pools)');
    for (const entry of result.nodes.filter((candidate) => candidate.node.startsWith('api-'))) {
      const holder = entry.snapshot.pools.find((pool) => pool.poolName === 'main')?.holders[0];
      assert.ok(isAt(holder?.location, HELD_SITE), `${entry.node}: holder at ${String(holder?.location)}`);
    }
  });

  test('a node stopped since the last run is named under Left; exit 0 (it is not expected any more)', async () => {
    const cluster = freshCluster();
    await startNode(cluster, 'api-1');
    const stopped = await startNode(cluster, 'api-2');
    const before = await spawnCli(['cluster', '--database-url', kit.db.url, '--cluster', cluster, '--timeout', '10000']);
    assert.equal(before.code, 0, before.stdout);
    assert.doesNotMatch(before.stdout, /^Left/m);
    await stopped.leave();
    const after = await spawnCli(['cluster', '--database-url', kit.db.url, '--cluster', cluster, '--timeout', '10000']);
    assert.equal(after.code, 0, `${after.stdout}\n${after.stderr}`);
    assert.match(after.stdout, new RegExp(`^Cluster ${cluster}: 1 node answered, 0 missing \\(complete;`, 'm'));
    assert.match(after.stdout, /^Left \(1\): seen in the cluster earlier, gone now/m);
    assert.match(after.stdout, /^ {2}api-2 +gone since \d{4}-\d\d-\d\dT/m);
    assert.doesNotMatch(after.stdout, /cli-\d+ +gone since/, "the first run's own CLI node is not a departure");
  });

  test('--nodes naming an unknown node: exit 1, the known node printed, the unknown one named as missing', async () => {
    const cluster = freshCluster();
    await startNode(cluster, 'api-1');
    await startNode(cluster, 'api-2');
    const run = await spawnCli(['cluster', '--database-url', kit.db.url, '--cluster', cluster, '--nodes', 'api-1,ghost-9', '--timeout', '10000']);
    assert.equal(run.code, 1, `${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, /^Node api-1 /m);
    assert.doesNotMatch(run.stdout, /^Node api-2 /m);
    assert.match(run.stdout, /^Missing \(1\)$/m);
    assert.match(run.stdout, /^ {2}ghost-9 +not in the cluster/m);
  });

  test('--secret-env: the secret is read from the named variable and the sealed nodes answer', async () => {
    const cluster = freshCluster();
    await startNode(cluster, 'api-1', { secret: SECRET });
    const run = await spawnCli(
      ['cluster', '--database-url', kit.db.url, '--cluster', cluster, '--secret-env', 'TEST_CLUSTER_SECRET', '--format', 'json', '--timeout', '10000'],
      { TEST_CLUSTER_SECRET: SECRET },
    );
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    const result = JSON.parse(run.stdout) as ClusterSnapshot;
    assert.ok(result.nodes.some((entry) => entry.node === 'api-1'));
  });
});

describe('poolscope cluster (in-process)', () => {
  test('bad usage exits 2 naming the problem', async () => {
    const url = 'postgres://postgres@127.0.0.1:1/postgres';
    const cases: [string[], RegExp][] = [
      [['--cluster', 'c', '--database-url', 'http://x'], /--database-url must start with postgres:\/\//],
      [['--database-url', url], /--cluster is required/],
      [['--database-url', url, '--cluster', 'c', '--nodes', 'a b'], /--nodes takes comma-separated names/],
      [['--database-url', url, '--cluster', 'c', '--timeout', '5'], /--timeout must be a whole number from 100/],
      [['--database-url', url, '--cluster', 'c', '--format', 'xml'], /--format must be one of text, json/],
      [['--database-url', url, '--cluster', 'c', '--secret-env', 'NOT_SET_ANYWHERE_42'], /NOT_SET_ANYWHERE_42 is not set/],
      [['--database-url', url, '--cluster', 'c', '--secret-env', 'the secret itself!'], /takes the NAME of an environment variable/],
      [['--database-url', url, '--cluster', 'c', '--secret', 'x'], /unknown option --secret/],
    ];
    for (const [args, message] of cases) {
      const run = await runCliCaptured(['cluster', ...args], { env: {} });
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, message, args.join(' '));
      assert.equal(run.stdout, '');
    }
  });

  test('a database that cannot be reached: exit 3, one message naming the cluster and the masked URL', async () => {
    const run = await runCliCaptured(['cluster', '--database-url', 'postgres://u:hunter2@127.0.0.1:1/db', '--cluster', 'c'], { env: {} });
    assert.equal(run.code, 3, run.stderr);
    assert.match(run.stderr, /^poolscope cluster: cannot join cluster "c" at postgres:\/\/u:\S+@127\.0\.0\.1:1\/db: POOLSCOPE_ERR_CLUSTER_JOIN_FAILED/);
    assert.doesNotMatch(run.stderr, /hunter2/);
    assert.equal(run.stdout, '');
  });

  test('docs/reference/cli.md documents every flag of cluster', () => {
    const doc = readFileSync(fileURLToPath(new URL('../../docs/reference/cli.md', import.meta.url)), 'utf8');
    const start = doc.indexOf('## poolscope cluster');
    assert.ok(start >= 0, 'cli.md has a "## poolscope cluster" section');
    const end = doc.indexOf('\n## ', start + 1);
    const section = doc.slice(start, end === -1 ? undefined : end);
    for (const flag of CLUSTER_FLAGS) assert.ok(section.includes(`\`--${flag.name}`), `cli.md documents cluster --${flag.name}`);
  });

  test('--help says the secret is never a flag value', async () => {
    const run = await runCliCaptured(['cluster', '--help'], { env: {} });
    assert.equal(run.code, 0);
    assert.match(run.stdout, /never given as a flag value/);
  });
});
