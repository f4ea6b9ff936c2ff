/**
 * TenantPools against seed 003's targets (a multi-tenant connection manager):
 *   1. warm get() latency, against a plain Map lookup of a bare pg.Pool (ratio);
 *   2. 100 tenants created (ensureDatabase + get + first query): total time;
 *   3. memory (heapUsed / RSS delta) of 100 and 1,000 tenant pools, created without opening connections;
 *   4. throughput under sustained load across tenants (queries/s), against bare pg pools (ratio, interleaved).
 *
 * Informational: exits 0 on a missed target. Localhost only; each section is bounded (<= 30 s); every database it
 * creates (`pst_bench_<hex>_*`) is dropped at the end, also on failure.
 *
 *   node --expose-gc --import tsx bench/tenant-pools-bench.ts
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Inspector } from '../src/core/inspector.js';
import { trackPgPool } from '../src/adapters/pg/pg-adapter.js';
import { TenantPools } from '../src/tenants/tenant-pools.js';

const ADMIN_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const PREFIX = `pst_bench_${randomBytes(3).toString('hex')}_`;
const SECTION_BUDGET_MILLIS = 30_000;

function assertLoopback(url: string): void {
  const host = new URL(url).hostname;
  if (!['127.0.0.1', 'localhost', '::1', '[::1]'].includes(host)) {
    console.error(`tenant-pools-bench only runs against a loopback server (got ${host}).`);
    process.exit(2);
  }
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect !== undefined) {
    collect();
    collect();
  }
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

function verdict(ok: boolean): string {
  return ok ? 'PASS' : 'MISS';
}

async function dropBenchDatabases(admin: pg.Client): Promise<number> {
  const result = await admin.query<{ datname: string }>('SELECT datname FROM pg_database WHERE left(datname, length($1)) = $1', [PREFIX]);
  for (const { datname } of result.rows) await admin.query(`DROP DATABASE IF EXISTS "${datname.replace(/"/g, '""')}" WITH (FORCE)`);
  return result.rowCount ?? 0;
}

// ---- 1. warm get() ----------------------------------------------------------------------------------------------

async function warmGet(tenants: TenantPools<pg.Pool>, id: string): Promise<void> {
  const bare = new Map<string, pg.Pool>([[id, await tenants.get(id)]]);
  const iterations = 200_000;
  const rounds = 5;
  const viaTenants: number[] = [];
  const viaMap: number[] = [];
  let sink = 0;
  const deadline = performance.now() + SECTION_BUDGET_MILLIS;
  for (let round = 0; round < rounds && performance.now() < deadline; round += 1) {
    let start = performance.now();
    for (let i = 0; i < iterations; i += 1) sink += (await bare.get(id))?.totalCount ?? 0;
    viaMap.push(((performance.now() - start) * 1e6) / iterations);
    start = performance.now();
    for (let i = 0; i < iterations; i += 1) sink += (await tenants.get(id)).totalCount;
    viaTenants.push(((performance.now() - start) * 1e6) / iterations);
  }
  const t = median(viaTenants);
  const m = median(viaMap);
  console.log('\n## 1. warm get() (open tenant, awaited)');
  console.log(`  TenantPools.get: ${t.toFixed(0)} ns/op   Map.get + await: ${m.toFixed(0)} ns/op   ratio ${(t / m).toFixed(2)}x (median of ${viaTenants.length} rounds x ${iterations})`);
  console.log('  (get() is async: an awaited lookup, validation of the id, an LRU timestamp)');
  console.log(`  seed target "connection reuse < 10 ms per operation": ${(t / 1e6).toFixed(4)} ms -> ${verdict(t / 1e6 < 10)}`);
  if (sink < 0) console.log(sink);
}

// ---- 2. 100 tenants created ------------------------------------------------------------------------------------

async function createHundred(tenants: TenantPools<pg.Pool>): Promise<string[]> {
  const ids = Array.from({ length: 100 }, (_, i) => `t${String(i).padStart(3, '0')}`);
  const concurrency = 4;
  const perTenant: number[] = [];
  let next = 0;
  const start = performance.now();
  const deadline = start + SECTION_BUDGET_MILLIS;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < ids.length && performance.now() < deadline) {
        const id = ids[next++] as string;
        const began = performance.now();
        await tenants.ensureDatabase(id);
        await tenants.query(id, 'SELECT 1');
        perTenant.push(performance.now() - began);
      }
    }),
  );
  const total = performance.now() - start;
  const created = perTenant.length;
  console.log(`\n## 2. ${created} tenants created (ensureDatabase + get + first query, ${concurrency} at a time)`);
  console.log(`  total ${(total / 1000).toFixed(1)} s; per tenant median ${median(perTenant).toFixed(0)} ms, max ${Math.max(...perTenant).toFixed(0)} ms`);
  console.log(`  seed targets "100 workspaces < 60 s": ${verdict(created === 100 && total < 60_000)}; "workspace creation < 500 ms": ${verdict(median(perTenant) < 500)}`);
  const stats = tenants.stats();
  console.log(`  open pools ${stats.openPools}, evictions ${stats.counters.evictions}, budget ${stats.budgetUsed}/${stats.connectionBudget}`);
  return ids.slice(0, created);
}

// ---- 3. memory -----------------------------------------------------------------------------------------------------

async function memory(count: number): Promise<void> {
  gc();
  const before = process.memoryUsage();
  // verifyOnOpen false and no query: pg.Pool objects only, no server connection (the databases need not exist).
  const tenants = new TenantPools<pg.Pool>({
    Pool: pg.Pool,
    connectionString: ADMIN_URL,
    databasePrefix: `${PREFIX}mem_`,
    maxTenantPools: count,
    perTenantMax: 1,
    connectionBudget: count,
    verifyOnOpen: false,
    idleTenantTimeoutMillis: 0,
  });
  const start = performance.now();
  for (let i = 0; i < count; i += 1) await tenants.get(`m${i}`);
  const took = performance.now() - start;
  gc();
  const after = process.memoryUsage();
  const heap = after.heapUsed - before.heapUsed;
  const rss = after.rss - before.rss;
  console.log(`  ${String(count).padStart(5)} pools: heapUsed +${mb(heap)} (${((heap / count) / 1024).toFixed(1)} KB/pool), RSS +${mb(rss)}, created in ${took.toFixed(0)} ms, server connections opened: ${tenants.stats().totalConnections}`);
  if (count === 100) console.log(`  seed target "< 100 MB for 100 workspaces": ${verdict(heap < 100 * 1024 * 1024)}`);
  await tenants.close();
}

// ---- 4. throughput -------------------------------------------------------------------------------------------------

async function runLoad(query: (id: string) => Promise<unknown>, ids: string[], workers: number, millis: number): Promise<number> {
  let done = 0;
  const end = performance.now() + millis;
  await Promise.all(
    Array.from({ length: workers }, async (_, worker) => {
      let i = worker;
      while (performance.now() < end) {
        await query(ids[i % ids.length] as string);
        i += 7;
        done += 1;
      }
    }),
  );
  return (done * 1000) / millis;
}

async function throughput(tenants: TenantPools<pg.Pool>, ids: string[]): Promise<void> {
  const bare = new Map<string, pg.Pool>();
  // The same pools tracked by poolscope with default options: separates the tracking cost from TenantPools' own.
  const tracked = new Map<string, pg.Pool>();
  const inspector = new Inspector({ historyIntervalMillis: 0 });
  for (const id of ids) {
    for (const map of [bare, tracked]) {
      const pool = new pg.Pool({ connectionString: withDatabase(ADMIN_URL, `${PREFIX}${id}`), max: 2, idleTimeoutMillis: 0 });
      pool.on('error', () => undefined);
      if (map === tracked) trackPgPool(inspector, pool, { name: `tracked:${id}` });
      map.set(id, pool);
    }
  }
  try {
    const workers = 32;
    const sliceMillis = 2500;
    const rounds = 3; // 3 x (bare + tracked + tenants) x 2.5 s = 22.5 s
    const ratios: number[] = [];
    const trackedRatios: number[] = [];
    const tenantRates: number[] = [];
    const bareRates: number[] = [];
    const trackedRates: number[] = [];
    const viaTenants = (id: string): Promise<unknown> => tenants.query(id, 'SELECT 1');
    const viaBare = (id: string): Promise<unknown> => (bare.get(id) as pg.Pool).query('SELECT 1');
    const viaTracked = (id: string): Promise<unknown> => (tracked.get(id) as pg.Pool).query('SELECT 1');
    await runLoad(viaTenants, ids, workers, 500); // warm-up
    await runLoad(viaBare, ids, workers, 500);
    for (let round = 0; round < rounds; round += 1) {
      const b = await runLoad(viaBare, ids, workers, sliceMillis);
      const k = await runLoad(viaTracked, ids, workers, sliceMillis);
      const t = await runLoad(viaTenants, ids, workers, sliceMillis);
      bareRates.push(b);
      trackedRates.push(k);
      tenantRates.push(t);
      ratios.push(t / b);
      trackedRatios.push(k / b);
    }
    console.log(`\n## 4. sustained load: ${ids.length} tenants, perTenantMax 2, ${workers} workers, SELECT 1, ${rounds} rounds of ${sliceMillis} ms, A B interleaved`);
    console.log(`  bare pg pools (Map): ${median(bareRates).toFixed(0)} q/s`);
    console.log(`  tracked pg pools (Map + trackPgPool): ${median(trackedRates).toFixed(0)} q/s   median ratio ${median(trackedRatios).toFixed(2)}x`);
    console.log(`  TenantPools.query: ${median(tenantRates).toFixed(0)} q/s   median ratio ${median(ratios).toFixed(2)}x`);
    console.log(`  seed targets "> 100 QPS", "> 500 ops/s sustained": ${verdict(median(tenantRates) > 500)}`);
  } finally {
    inspector.close();
    await Promise.all([...bare.values(), ...tracked.values()].map((pool) => pool.end().catch(() => undefined)));
  }
}

// ---- main ----------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  assertLoopback(ADMIN_URL);
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  admin.on('error', () => undefined);
  await admin.connect();
  const version = (await admin.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]?.v;
  console.log(`# tenant-pools-bench: node ${process.version}, PostgreSQL ${version}, src through tsx, gc ${typeof (globalThis as { gc?: unknown }).gc === 'function' ? 'exposed' : 'NOT exposed (run with --expose-gc)'}`);
  const tenants = new TenantPools<pg.Pool>({
    Pool: pg.Pool,
    connectionString: ADMIN_URL,
    databasePrefix: PREFIX,
    maxTenantPools: 100,
    perTenantMax: 2,
    connectionBudget: 30,
    systemPoolMax: 4,
    idleTenantTimeoutMillis: 0,
  });
  try {
    const ids = await createHundred(tenants);
    await warmGet(tenants, ids[ids.length - 1] as string);
    console.log('\n## 3. memory of tenant pools (no connections opened)');
    await memory(100);
    await memory(1000);
    await throughput(tenants, ids.slice(-10));
  } finally {
    await tenants.close().catch(() => undefined);
    const dropped = await dropBenchDatabases(admin).catch((error: unknown) => {
      console.error('cleanup failed:', error);
      return -1;
    });
    console.log(`\ncleanup: dropped ${dropped} bench databases`);
    await admin.end();
  }
}

await main();
