import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { OptionsError } from '../../src/errors.js';
import type { TenantPgPool, TenantPgPoolConfig, TenantPoolsOptions } from '../../src/tenants/tenant-pools-config.js';
import {
  DEFAULT_CONNECTION_BUDGET,
  DEFAULT_DATABASE_PREFIX,
  DEFAULT_MAX_TENANT_POOLS,
  DEFAULT_PER_TENANT_MAX,
  resolveTenantPoolsOptions,
  withDatabase,
} from '../../src/tenants/tenant-pools-config.js';

class FakePool implements TenantPgPool {
  readonly totalCount = 0;
  readonly idleCount = 0;
  readonly waitingCount = 0;
  readonly options: TenantPgPoolConfig;
  constructor(config: TenantPgPoolConfig) {
    this.options = config;
  }
  connect(): unknown {
    return Promise.reject(new Error('fake'));
  }
  query(): unknown {
    return Promise.reject(new Error('fake'));
  }
  end(): unknown {
    return Promise.resolve();
  }
  on(): unknown {
    return this;
  }
  removeListener(): unknown {
    return this;
  }
}

const base: TenantPoolsOptions<FakePool> = { Pool: FakePool, connectionString: 'postgres://app:secret@127.0.0.1:5432/app?sslmode=disable' };

function rejects(overrides: Record<string, unknown>, option: string): OptionsError {
  let caught: unknown;
  try {
    resolveTenantPoolsOptions({ ...base, ...overrides } as TenantPoolsOptions<FakePool>);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof OptionsError, `expected OptionsError for ${option}, got ${String(caught)}`);
  assert.equal(caught.option, option);
  assert.equal(caught.code, 'POOLSCOPE_ERR_OPTIONS_INVALID');
  return caught;
}

describe('resolveTenantPoolsOptions', () => {
  test('applies the documented defaults', () => {
    const resolved = resolveTenantPoolsOptions(base);
    assert.equal(resolved.databasePrefix, DEFAULT_DATABASE_PREFIX);
    assert.equal(resolved.maxTenantPools, DEFAULT_MAX_TENANT_POOLS);
    assert.equal(resolved.perTenantMax, DEFAULT_PER_TENANT_MAX);
    assert.equal(resolved.perTenantMin, 0);
    assert.equal(resolved.connectionBudget, DEFAULT_CONNECTION_BUDGET);
    assert.equal(resolved.systemPoolMax, 2);
    assert.equal(resolved.idleTenantTimeoutMillis, 300_000);
    assert.equal(resolved.sweepIntervalMillis, 30_000);
    assert.equal(resolved.verifyOnOpen, true);
    assert.equal(resolved.poolNamePrefix, 'tenant:');
    assert.equal(resolved.systemPoolName, 'system');
  });

  test('derives tenant connection strings by swapping the database, keeping credentials and parameters', () => {
    const resolved = resolveTenantPoolsOptions(base);
    assert.equal(resolved.tenantConnectionString('tenant_a'), 'postgres://app:secret@127.0.0.1:5432/tenant_a?sslmode=disable');
    assert.equal(withDatabase('postgresql://h/x', 'y'), 'postgresql://h/y');
  });

  test('a short idle timeout gives a proportionally short sweep', () => {
    assert.equal(resolveTenantPoolsOptions({ ...base, idleTenantTimeoutMillis: 200 }).sweepIntervalMillis, 100);
    assert.equal(resolveTenantPoolsOptions({ ...base, idleTenantTimeoutMillis: 5 }).sweepIntervalMillis, 10);
  });

  test('rejects bad options, naming them', () => {
    rejects({ Pool: undefined }, 'Pool');
    rejects({ connectionString: '' }, 'connectionString');
    rejects({ connectionString: 'mysql://x/y' }, 'connectionString');
    rejects({ adminConnectionString: 'not a url' }, 'adminConnectionString');
    rejects({ maxTenantPools: 0 }, 'maxTenantPools');
    rejects({ perTenantMax: 1.5 }, 'perTenantMax');
    rejects({ perTenantMin: 4, perTenantMax: 3 }, 'perTenantMin');
    rejects({ connectionBudget: 2, perTenantMax: 3 }, 'connectionBudget');
    rejects({ idleTenantTimeoutMillis: -1 }, 'idleTenantTimeoutMillis');
    rejects({ connectionTimeoutMillis: Number.NaN }, 'connectionTimeoutMillis');
    rejects({ databasePrefix: 'Bad-' }, 'databasePrefix');
    rejects({ poolNamePrefix: 'has space' }, 'poolNamePrefix');
    rejects({ systemPoolName: '' }, 'systemPoolName');
    rejects({ onError: 'nope' }, 'onError');
    rejects({ tenantConnectionString: 'postgres://x' }, 'tenantConnectionString');
    rejects({ poolConfig: [] }, 'poolConfig');
    rejects({ verifyOnOpen: 'yes' }, 'verifyOnOpen');
    rejects({ inspector: {} }, 'inspector');
  });

  test('never puts a connection string (and its password) in an error message', () => {
    const error = rejects({ connectionString: 'mysql://u:hunter2@h/db' }, 'connectionString');
    assert.doesNotMatch(error.message, /hunter2/);
    const unparsed = rejects({ connectionString: 'postgres//u:hunter2@h' }, 'connectionString');
    assert.doesNotMatch(unparsed.message, /hunter2/);
  });

  test('rejects a non-object', () => {
    assert.throws(() => resolveTenantPoolsOptions(null as unknown as TenantPoolsOptions<FakePool>), OptionsError);
  });
});
