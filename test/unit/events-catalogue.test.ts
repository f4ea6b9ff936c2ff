import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EVENT_CHANNELS, EVENT_TYPES, type PoolscopeEventType } from '../../src/core/pool-events.js';
import { TENANT_EVENT_CHANNELS, TENANT_EVENT_TYPES, type TenantPoolEventType } from '../../src/tenants/tenant-pool-events.js';

const EVENTS_DOC = fileURLToPath(new URL('../../docs/reference/events.md', import.meta.url));

/** Every member of the PoolscopeEvent union. The compiler checks this list against the union both ways. */
const ALL_TYPES = [
  'lease-acquired',
  'lease-released',
  'leak-suspected',
  'leak-returned',
  'dirty-release',
  'inherited-transaction',
  'double-release',
  'foreign-release',
  'release-in-flight',
  'owner-ended-holding',
  'acquire-timeout',
  'saturated',
  'snapshot-taken',
  'query-executed',
  'connection-error',
  'pool-tracked',
  'pool-untracked',
  'alert-firing',
  'alert-resolved',
  'worker-pool-saturated',
  'worker-capacity-reached',
  'worker-task-executed',
  'worker-exited',
  'worker-pool-tracked',
  'worker-pool-untracked',
  'unknown-release',
] as const satisfies readonly PoolscopeEventType[];
type Missing = Exclude<PoolscopeEventType, (typeof ALL_TYPES)[number]>;
const noneMissing: [Missing] extends [never] ? true : Missing = true;

describe('EVENT_CHANNELS', () => {
  test('covers every event type of the union, and EVENT_TYPES lists exactly those', () => {
    assert.equal(noneMissing, true);
    assert.deepEqual([...EVENT_TYPES].sort(), [...ALL_TYPES].sort());
    for (const type of ALL_TYPES) assert.equal(typeof EVENT_CHANNELS[type], 'string', `no channel for ${type}`);
    assert.equal(Object.keys(EVENT_CHANNELS).length, ALL_TYPES.length);
  });

  test('channel names are unique and start with poolscope:', () => {
    const names = Object.values(EVENT_CHANNELS);
    assert.equal(new Set(names).size, names.length, `duplicate channel names: ${names.join(', ')}`);
    for (const name of names) assert.match(name, /^poolscope:[a-z-]+(:[a-z-]+)*$/);
  });
});

/** Every member of the TenantPoolEvent union, checked against it both ways like ALL_TYPES. */
const ALL_TENANT_TYPES = [
  'tenant-opened',
  'tenant-evicted',
  'tenant-closed',
  'tenant-broken',
  'tenant-database-created',
  'tenant-database-dropped',
] as const satisfies readonly TenantPoolEventType[];
type MissingTenant = Exclude<TenantPoolEventType, (typeof ALL_TENANT_TYPES)[number]>;
const noTenantMissing: [MissingTenant] extends [never] ? true : MissingTenant = true;

/** Every diagnostics_channel name poolscope publishes to: the inspector's and TenantPools'. */
const ALL_CHANNELS: readonly string[] = [...Object.values(EVENT_CHANNELS), ...Object.values(TENANT_EVENT_CHANNELS)];

describe('TENANT_EVENT_CHANNELS', () => {
  test('covers every tenant event type, and TENANT_EVENT_TYPES lists exactly those', () => {
    assert.equal(noTenantMissing, true);
    assert.deepEqual([...TENANT_EVENT_TYPES].sort(), [...ALL_TENANT_TYPES].sort());
    for (const type of ALL_TENANT_TYPES) assert.equal(typeof TENANT_EVENT_CHANNELS[type], 'string', `no channel for ${type}`);
    assert.equal(Object.keys(TENANT_EVENT_CHANNELS).length, ALL_TENANT_TYPES.length);
  });

  test('channel names are poolscope:tenant:<what>, and unique across both catalogues', () => {
    for (const name of Object.values(TENANT_EVENT_CHANNELS)) assert.match(name, /^poolscope:tenant:[a-z-]+$/);
    assert.equal(new Set(ALL_CHANNELS).size, ALL_CHANNELS.length, `duplicate channel names: ${ALL_CHANNELS.join(', ')}`);
  });
});

describe('docs/reference/events.md', () => {
  test('lists every channel name', () => {
    assert.ok(existsSync(EVENTS_DOC), `${EVENTS_DOC} must exist and list every diagnostics_channel name`);
    const doc = readFileSync(EVENTS_DOC, 'utf8');
    const missing = ALL_CHANNELS.filter((name) => !doc.includes(name));
    assert.deepEqual(missing, [], `channels missing from events.md: ${missing.join(', ')}`);
  });

  test('lists no poolscope: channel that does not exist', () => {
    assert.ok(existsSync(EVENTS_DOC), `${EVENTS_DOC} must exist`);
    const doc = readFileSync(EVENTS_DOC, 'utf8');
    const known = new Set<string>(ALL_CHANNELS);
    const documented = new Set(doc.match(/\bpoolscope:[a-z-]+(?::[a-z-]+)+/g) ?? []);
    const unknown = [...documented].filter((name) => !known.has(name));
    assert.deepEqual(unknown, [], `channels in events.md that neither EVENT_CHANNELS nor TENANT_EVENT_CHANNELS has: ${unknown.join(', ')}`);
  });
});
