import { after, afterEach, before } from 'node:test';
import type pg from 'pg';
import type { ClusterNode } from '../../src/cluster/cluster-node.js';
import { createTestDatabase, type TestDatabase } from './test-database.js';
import { TestResources } from './pg-test-kit.js';

/** What a cluster test file shares: its database, pools, the nodes and connections to give back after each test. */
export interface ClusterTestKit {
  /** The file's database (created before the first test). */
  readonly db: TestDatabase;
  readonly res: TestResources;
  /** Nodes the test joined: each leaves after the test. */
  readonly nodes: ClusterNode[];
  /** Connections the test holds on purpose: each is released after the test. */
  readonly held: pg.PoolClient[];
  /** A cluster name of its own per test, so tests never see each other's nodes. */
  freshCluster(): string;
}

/** Registers the file's hooks (database before, nodes/connections/pools after each test, drop after) and returns the kit. */
export function useClusterTestKit(databaseLabel: string, clusterPrefix: string): ClusterTestKit {
  let db: TestDatabase | undefined;
  const res = new TestResources();
  const nodes: ClusterNode[] = [];
  const held: pg.PoolClient[] = [];
  let counter = 0;
  before(async () => {
    db = await createTestDatabase(databaseLabel);
  });
  afterEach(async () => {
    for (const node of nodes.splice(0)) await node.leave();
    for (const client of held.splice(0)) client.release();
    await res.closeAll();
  });
  after(() => db?.drop());
  return {
    get db(): TestDatabase {
      if (db === undefined) throw new Error('the cluster test database is not created yet (use it inside a test)');
      return db;
    },
    res,
    nodes,
    held,
    freshCluster: () => `${clusterPrefix}-${process.pid}-${(counter += 1)}`,
  };
}
