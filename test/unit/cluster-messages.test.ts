import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterError } from '../../src/errors.js';
import {
  CLUSTER_CHANNEL_PREFIX,
  clusterChannelName,
  createSnapshotReply,
  createSnapshotRequest,
  decodeClusterMessage,
  encodeClusterMessage,
  validateClusterMessage,
  type ClusterDecodeResult,
  type ClusterRejectionReason,
} from '../../src/cluster/cluster-messages.js';

function rejected(result: ClusterDecodeResult, reason: ClusterRejectionReason, detail?: RegExp): void {
  assert.equal(result.ok, false, 'expected a rejection');
  if (result.ok) return;
  assert.equal(result.reason, reason, result.detail);
  assert.ok(result.detail.length > 0);
  if (detail !== undefined) assert.match(result.detail, detail);
}

function throwsCode(fn: () => unknown, code: string, message?: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ClusterError, `expected a ClusterError, got ${String(error)}`);
    assert.equal(error.code, code);
    if (message !== undefined) assert.match(error.message, message);
    return true;
  });
}

const REQUEST = { kind: 'snapshot-request', requestId: 'r-1', from: 'api-1', nodes: 'all', sentAt: 1_700_000_000_000 } as const;
const REPLY = { kind: 'snapshot-reply', requestId: 'r-1', node: 'api-2', body: '{"pools":[]}' } as const;

describe('clusterChannelName', () => {
  test('is poolscope_cluster_ + 32 hex digits of SHA-256: 50 bytes, under the 63-byte identifier limit', () => {
    const channel = clusterChannelName('orders-prod');
    assert.match(channel, /^poolscope_cluster_[0-9a-f]{32}$/);
    assert.equal(Buffer.byteLength(channel), 50);
    assert.ok(channel.startsWith(CLUSTER_CHANNEL_PREFIX));
  });

  test('is stable, and differs per cluster (case and Unicode included)', () => {
    assert.equal(clusterChannelName('orders-prod'), clusterChannelName('orders-prod'));
    assert.notEqual(clusterChannelName('orders-prod'), clusterChannelName('orders-staging'));
    assert.notEqual(clusterChannelName('Prod'), clusterChannelName('prod'));
    // Known value: sha256("a") cut to 32 hex digits.
    assert.equal(clusterChannelName('a'), 'poolscope_cluster_ca978112ca1bbdcafac231b39a23dc4d');
  });

  test('any name up to 200 characters fits, even multi-byte ones', () => {
    const long = '集群🚀'.repeat(50);
    assert.equal(Buffer.byteLength(clusterChannelName(long)), 50);
  });

  test('refuses empty, too long, NUL and non-string names with a coded error', () => {
    for (const bad of ['', 'x'.repeat(201), 'a\u0000b', 42, undefined]) {
      throwsCode(() => clusterChannelName(bad as string), 'POOLSCOPE_ERR_CLUSTER_INVALID_NAME', /cluster name/);
    }
  });
});

describe('building messages (sending side)', () => {
  test('createSnapshotRequest fills a UUID and the time, and copies lists', () => {
    const nodes = ['api-1', 'api-3'];
    const before = Date.now();
    const request = createSnapshotRequest({ from: 'cli', nodes, pools: ['main'] });
    assert.equal(request.kind, 'snapshot-request');
    assert.match(request.requestId, /^[0-9a-f-]{36}$/);
    assert.ok(request.sentAt >= before && request.sentAt <= Date.now());
    assert.deepEqual(request.nodes, ['api-1', 'api-3']);
    assert.notEqual(request.nodes, nodes);
    assert.deepEqual(request.pools, ['main']);
    assert.equal(createSnapshotRequest({ from: 'cli' }).nodes, 'all');
    assert.notEqual(createSnapshotRequest({ from: 'cli' }).requestId, createSnapshotRequest({ from: 'cli' }).requestId);
  });

  test('bad names throw coded errors naming the value', () => {
    throwsCode(() => createSnapshotRequest({ from: 'has space' }), 'POOLSCOPE_ERR_CLUSTER_INVALID_NAME', /"has space"/);
    throwsCode(() => createSnapshotRequest({ from: 'a', nodes: ['ok', 'x'.repeat(65)] }), 'POOLSCOPE_ERR_CLUSTER_INVALID_NAME');
    throwsCode(() => createSnapshotRequest({ from: 'a', nodes: [] }), 'POOLSCOPE_ERR_CLUSTER_INVALID_MESSAGE', /nodes/);
    throwsCode(() => createSnapshotRequest({ from: 'a', pools: ['bad pool'] }), 'POOLSCOPE_ERR_CLUSTER_INVALID_MESSAGE', /pools\[0\]/);
    throwsCode(() => createSnapshotRequest({ from: 'a', requestId: 'no spaces' }), 'POOLSCOPE_ERR_CLUSTER_INVALID_MESSAGE', /requestId/);
    throwsCode(() => createSnapshotRequest({ from: 'a', sentAt: 1.5 }), 'POOLSCOPE_ERR_CLUSTER_INVALID_MESSAGE', /sentAt/);
    throwsCode(() => createSnapshotReply('r-1', 'api/1', '{}'), 'POOLSCOPE_ERR_CLUSTER_INVALID_NAME');
    throwsCode(() => createSnapshotReply('', 'api-1', '{}'), 'POOLSCOPE_ERR_CLUSTER_INVALID_MESSAGE');
  });
});

describe('encode / decode', () => {
  test('a request round-trips, with and without pools', () => {
    const request = createSnapshotRequest({ from: 'api-1', nodes: ['api-2'], pools: ['main', 'tenant:42'], requestId: 'abc', sentAt: 5 });
    assert.deepEqual(decodeClusterMessage(encodeClusterMessage(request)), { ok: true, message: request });
    const all = createSnapshotRequest({ from: 'api-1', requestId: 'abc', sentAt: 5 });
    const text = encodeClusterMessage(all);
    assert.ok(!text.includes('pools'));
    assert.deepEqual(decodeClusterMessage(text), { ok: true, message: all });
  });

  test('a reply round-trips, its body kept as text (multi-byte included)', () => {
    const reply = createSnapshotReply('r-1', 'api-2', JSON.stringify({ sql: 'SELECT \'数据库\' -- 🚀', at: 'src/app.ts:12' }));
    assert.deepEqual(decodeClusterMessage(encodeClusterMessage(reply)), { ok: true, message: reply });
  });

  test('the canonical text has a fixed key order whatever order the object had', () => {
    const shuffled = { sentAt: 9, nodes: 'all', from: 'n', requestId: 'q', kind: 'snapshot-request' } as const;
    assert.equal(encodeClusterMessage(shuffled), '{"kind":"snapshot-request","requestId":"q","from":"n","nodes":"all","sentAt":9}');
    assert.equal(encodeClusterMessage(REPLY), '{"kind":"snapshot-reply","requestId":"r-1","node":"api-2","body":"{\\"pools\\":[]}"}');
  });

  test('unknown fields are ignored and left out of the result', () => {
    const result = validateClusterMessage({ ...REQUEST, extra: 'x' });
    assert.deepEqual(result, { ok: true, message: REQUEST });
  });
});

describe('malformed input is rejected with a reason, never thrown', () => {
  test('not JSON, or not text', () => {
    rejected(decodeClusterMessage('{"kind":'), 'not-json', /not JSON/);
    rejected(decodeClusterMessage(''), 'not-json');
    rejected(decodeClusterMessage(42), 'not-json', /expected text/);
    rejected(decodeClusterMessage(undefined), 'not-json');
  });

  test('not an object', () => {
    for (const value of ['null', '[]', '"text"', '7', 'true']) rejected(decodeClusterMessage(value), 'malformed', /JSON object/);
  });

  test('missing or unknown kind', () => {
    rejected(validateClusterMessage({ requestId: 'r' }), 'malformed', /no kind/);
    rejected(validateClusterMessage({ ...REQUEST, kind: 'snapshot-burn' }), 'unknown-kind', /"snapshot-burn"/);
    rejected(validateClusterMessage({ ...REQUEST, kind: 7 }), 'unknown-kind');
  });

  test('each request field is checked', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ requestId: undefined }, /requestId/],
      [{ requestId: '' }, /requestId/],
      [{ requestId: 'x'.repeat(65) }, /requestId/],
      [{ requestId: 'a b' }, /requestId/],
      [{ from: undefined }, /from/],
      [{ from: 'a/b' }, /from/],
      [{ nodes: undefined }, /nodes/],
      [{ nodes: 'some' }, /nodes/],
      [{ nodes: [] }, /nodes/],
      [{ nodes: ['ok', 3] }, /nodes\[1\]/],
      [{ nodes: Array.from({ length: 1001 }, (_, i) => `n${i}`) }, /nodes/],
      [{ pools: 'main' }, /pools/],
      [{ pools: [''] }, /pools\[0\]/],
      [{ sentAt: undefined }, /sentAt/],
      [{ sentAt: '1700000000000' }, /sentAt/],
      [{ sentAt: -1 }, /sentAt/],
      [{ sentAt: 1.5 }, /sentAt/],
      [{ sentAt: Number.NaN }, /sentAt/],
      [{ sentAt: 9e15 }, /sentAt/],
    ];
    for (const [change, detail] of cases) rejected(validateClusterMessage({ ...REQUEST, ...change }), 'malformed', detail);
  });

  test('each reply field is checked', () => {
    rejected(validateClusterMessage({ ...REPLY, requestId: 5 }), 'malformed', /requestId/);
    rejected(validateClusterMessage({ ...REPLY, node: '' }), 'malformed', /node/);
    rejected(validateClusterMessage({ ...REPLY, body: { pools: [] } }), 'malformed', /body/);
    rejected(validateClusterMessage({ ...REPLY, body: undefined }), 'malformed', /body/);
    rejected(validateClusterMessage({ ...REPLY, departed: [] }), 'malformed', /departed must be a list of 1-1000/);
    rejected(validateClusterMessage({ ...REPLY, departed: [{ node: 'a b', leftAt: 1 }] }), 'malformed', /departed\[0\]/);
    rejected(validateClusterMessage({ ...REPLY, departed: [{ node: 'api-4', leftAt: 1.5 }] }), 'malformed', /departed\[0\]/);
  });

  test('a reply with departures round-trips; without any, the field is left out', () => {
    const reply = createSnapshotReply('r-1', 'api-2', '{}', [{ node: 'api-4', leftAt: 1_700_000_000_000 }]);
    assert.deepEqual(decodeClusterMessage(encodeClusterMessage(reply)), { ok: true, message: reply });
    assert.equal('departed' in createSnapshotReply('r-1', 'api-2', '{}', []), false);
    assert.doesNotMatch(encodeClusterMessage(createSnapshotReply('r-1', 'api-2', '{}')), /departed/);
  });

  test('hostile JSON (a __proto__ key, deep nesting) is only rejected', () => {
    rejected(decodeClusterMessage('{"__proto__":{"kind":"snapshot-request"}}'), 'malformed', /no kind/);
    rejected(decodeClusterMessage(`${'['.repeat(5000)}${']'.repeat(5000)}`), 'malformed');
  });
});
