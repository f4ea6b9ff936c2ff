import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EVENT_CHANNELS, EVENT_TYPES, type PoolscopeEventType } from '../../src/core/pool-events.js';

const EVENTS_DOC = fileURLToPath(new URL('../../docs/reference/events.md', import.meta.url));

/** Every member of the PoolscopeEvent union. The compiler checks this list against the union both ways. */
const ALL_TYPES = [
  'lease-acquired',
  'lease-released',
  'leak-suspected',
  'leak-returned',
  'dirty-release',
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

describe('docs/reference/events.md', () => {
  test('lists every channel name', () => {
    assert.ok(existsSync(EVENTS_DOC), `${EVENTS_DOC} must exist and list every diagnostics_channel name`);
    const doc = readFileSync(EVENTS_DOC, 'utf8');
    const missing = Object.values(EVENT_CHANNELS).filter((name) => !doc.includes(name));
    assert.deepEqual(missing, [], `channels missing from events.md: ${missing.join(', ')}`);
  });

  test('lists no poolscope: channel that does not exist', () => {
    assert.ok(existsSync(EVENTS_DOC), `${EVENTS_DOC} must exist`);
    const doc = readFileSync(EVENTS_DOC, 'utf8');
    const known = new Set<string>(Object.values(EVENT_CHANNELS));
    const documented = new Set(doc.match(/\bpoolscope:[a-z-]+(?::[a-z-]+)+/g) ?? []);
    const unknown = [...documented].filter((name) => !known.has(name));
    assert.deepEqual(unknown, [], `channels in events.md that EVENT_CHANNELS does not have: ${unknown.join(', ')}`);
  });
});
