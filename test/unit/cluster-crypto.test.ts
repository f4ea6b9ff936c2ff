import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, hkdfSync } from 'node:crypto';
import { ClusterError, OptionsError } from '../../src/errors.js';
import { ClusterCrypto } from '../../src/cluster/cluster-crypto.js';
import {
  createSnapshotReply,
  createSnapshotRequest,
  type ClusterDecodeResult,
  type ClusterRejectionReason,
  type SnapshotRequest,
} from '../../src/cluster/cluster-messages.js';
import { splitNotifyPayloads } from '../../src/cluster/notify-chunks.js';
import { NotifyReassembler } from '../../src/cluster/notify-reassembler.js';
import { RequestReplayGuard } from '../../src/cluster/request-replay-guard.js';
import { FakeClock } from '../support/fake-clock.js';

const SECRET = 'correct horse battery staple 42';
const clock = (): FakeClock => new FakeClock(); // wall time 2024-01-01T00:00:01Z
const now = (c: FakeClock): number => c.toWallMillis(c.now());

function request(c: FakeClock, extra: Partial<SnapshotRequest> = {}): SnapshotRequest {
  return createSnapshotRequest({ from: 'api-1', nodes: ['api-2'], pools: ['main'], sentAt: now(c), ...extra });
}
const REPLY = createSnapshotReply('r-1', 'api-2', JSON.stringify({ pools: [{ name: 'main', sql: "SELECT '秘密' -- 🔑" }] }));

/** A node of cluster `prod` with the secret; `null` for none. */
function crypto(c: FakeClock, secret: string | Uint8Array | null = SECRET, cluster = 'prod'): ClusterCrypto {
  return new ClusterCrypto({ cluster, ...(secret === null ? {} : { secret }), clock: c });
}

function rejected(result: ClusterDecodeResult, reason: ClusterRejectionReason, detail?: RegExp): void {
  assert.equal(result.ok, false, 'expected a rejection');
  if (result.ok) return;
  assert.equal(result.reason, reason, result.detail);
  if (detail !== undefined) assert.match(result.detail, detail);
  assert.ok(!result.detail.includes(SECRET));
}

/** Changes one base64url character of a field of the envelope to another valid one. */
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Flips the lowest bit of the last base64url character of a field: a non-canonical spelling when that bit is unused. */
function flipUnusedBit(sealed: string, field: string): string {
  const envelope = JSON.parse(sealed) as Record<string, string>;
  const value = envelope[field] as string;
  const last = BASE64URL[BASE64URL.indexOf(value.slice(-1)) ^ 1] as string;
  envelope[field] = `${value.slice(0, -1)}${last}`;
  assert.deepEqual(Buffer.from(envelope[field] as string, 'base64url'), Buffer.from(value, 'base64url'), 'same bytes, other text');
  return JSON.stringify(envelope);
}

function tamperField(sealed: string, field: string, at = 0): string {
  const envelope = JSON.parse(sealed) as Record<string, string>;
  const value = envelope[field] as string;
  const index = at < 0 ? value.length + at : at;
  const swapped = value[index] === 'A' ? 'B' : 'A';
  envelope[field] = `${value.slice(0, index)}${swapped}${value.slice(index + 1)}`;
  return JSON.stringify(envelope);
}

describe('without a secret', () => {
  test('requests and replies travel as plain JSON and round-trip', () => {
    const c = clock();
    const sender = crypto(c, null);
    const receiver = crypto(c, null);
    assert.equal(sender.authenticated, false);
    const req = request(c);
    const sealed = sender.seal(req);
    assert.equal(JSON.parse(sealed).seal, 'none');
    assert.ok(sealed.includes('"from":"api-1"'), 'readable by anyone who LISTENs');
    assert.deepEqual(receiver.open(sealed), { ok: true, message: req });
    const reply = sender.seal(REPLY);
    assert.ok(reply.includes('秘密'), 'a plain reply is readable');
    assert.deepEqual(receiver.open(reply), { ok: true, message: REPLY });
  });

  test('replays and stale requests are still refused', () => {
    const c = clock();
    const node = crypto(c, null);
    const sealed = node.seal(request(c));
    assert.equal(node.open(sealed).ok, true);
    rejected(node.open(sealed), 'replayed');
    rejected(node.open(node.seal(request(c, { sentAt: now(c) - 60_001 }))), 'stale');
  });

  test('sealed messages cannot be read without the secret', () => {
    const c = clock();
    rejected(crypto(c, null).open(crypto(c).seal(request(c))), 'secret-required');
    rejected(crypto(c, null).open(crypto(c).seal(REPLY)), 'secret-required');
  });
});

describe('requests with a secret: HMAC-SHA256', () => {
  test('the right secret is accepted; the request stays readable', () => {
    const c = clock();
    const req = request(c);
    const sealed = crypto(c).seal(req);
    const envelope = JSON.parse(sealed) as Record<string, unknown>;
    assert.equal(envelope['seal'], 'hmac-sha256');
    assert.match(envelope['mac'] as string, /^[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(crypto(c).open(sealed), { ok: true, message: req });
    assert.equal(crypto(c, Buffer.from(SECRET)).open(sealed).ok, true, 'bytes and the same string are one secret');
  });

  test('a wrong secret, or the same secret in another cluster, is rejected', () => {
    const c = clock();
    const sealed = crypto(c).seal(request(c));
    rejected(crypto(c, 'another secret of 16+ bytes').open(sealed), 'bad-mac', /wrong secret/);
    rejected(crypto(c, SECRET, 'staging').open(sealed), 'bad-mac');
  });

  test('a tampered body or mac is rejected, and does not spend the request id', () => {
    const c = clock();
    const receiver = crypto(c);
    const req = request(c);
    const sealed = crypto(c).seal(req);
    const envelope = JSON.parse(sealed) as Record<string, string>;
    const body = JSON.stringify({ ...envelope, message: envelope['message']?.replace('"api-2"', '"api-3"') });
    rejected(receiver.open(body), 'bad-mac');
    rejected(receiver.open(JSON.stringify({ ...envelope, message: `${envelope['message']} ` })), 'bad-mac');
    rejected(receiver.open(tamperField(sealed, 'mac', 5)), 'bad-mac');
    rejected(receiver.open(flipUnusedBit(sealed, 'mac')), 'malformed', /mac/);
    rejected(receiver.open(JSON.stringify({ ...envelope, mac: envelope['mac']?.slice(0, 42) })), 'malformed', /mac/);
    rejected(receiver.open(JSON.stringify({ ...envelope, mac: undefined })), 'malformed', /mac/);
    // The genuine request is still accepted: forgeries carrying its id did not burn it.
    assert.deepEqual(receiver.open(sealed), { ok: true, message: req });
  });

  test('a replayed request id is rejected, even re-signed with a new time', () => {
    const c = clock();
    const sender = crypto(c);
    const receiver = crypto(c);
    const req = request(c);
    assert.equal(receiver.open(sender.seal(req)).ok, true);
    rejected(receiver.open(sender.seal(req)), 'replayed', new RegExp(req.requestId));
    c.advance(5000);
    rejected(receiver.open(sender.seal({ ...req, sentAt: now(c) })), 'replayed');
  });

  test('a stale or future sentAt is rejected', () => {
    const c = clock();
    const sender = crypto(c);
    const receiver = crypto(c);
    const sealed = sender.seal(request(c));
    c.advance(60_001);
    rejected(receiver.open(sealed), 'stale', /ago/);
    rejected(receiver.open(sender.seal(request(c, { sentAt: now(c) + 60_001 }))), 'stale', /future/);
    assert.equal(receiver.open(sender.seal(request(c, { sentAt: now(c) - 60_000 }))).ok, true, 'the window edge is inside');
  });

  test('a plain request, or a request sealed as a reply, is refused', () => {
    const c = clock();
    const plain = crypto(c, null).seal(request(c));
    rejected(crypto(c).open(plain), 'unauthenticated');
  });
});

describe('replies with a secret: AES-256-GCM', () => {
  test('the right secret decrypts; the text is not readable on the wire; a fresh IV each time', () => {
    const c = clock();
    const sender = crypto(c);
    const first = sender.seal(REPLY);
    const second = sender.seal(REPLY);
    const envelope = JSON.parse(first) as Record<string, string>;
    assert.equal(envelope['seal'], 'aes-256-gcm');
    assert.equal(Buffer.from(envelope['iv'] as string, 'base64url').length, 12);
    assert.equal(Buffer.from(envelope['tag'] as string, 'base64url').length, 16);
    assert.ok(!first.includes('api-2') && !first.includes('秘密') && !first.includes('main'));
    assert.notEqual(JSON.parse(second).iv, envelope['iv']);
    assert.notEqual(JSON.parse(second).data, envelope['data']);
    assert.deepEqual(crypto(c).open(first), { ok: true, message: REPLY });
    assert.deepEqual(crypto(c).open(second), { ok: true, message: REPLY });
  });

  test('tampered ciphertext, tag or IV is rejected', () => {
    const c = clock();
    const sealed = crypto(c).seal(REPLY);
    const receiver = crypto(c);
    for (const field of ['data', 'tag', 'iv']) {
      rejected(receiver.open(tamperField(sealed, field, 3)), 'decrypt-failed', /wrong secret, or altered/);
    }
    const envelope = JSON.parse(sealed) as Record<string, string>;
    const data = Buffer.from(envelope['data'] as string, 'base64url');
    rejected(receiver.open(JSON.stringify({ ...envelope, data: data.subarray(0, -3).toString('base64url') })), 'decrypt-failed');
    rejected(receiver.open(JSON.stringify({ ...envelope, data: Buffer.concat([data, Buffer.from('x')]).toString('base64url') })), 'decrypt-failed');
    rejected(receiver.open(JSON.stringify({ ...envelope, iv: envelope['iv']?.slice(0, 12) })), 'malformed', /iv/);
    rejected(receiver.open(JSON.stringify({ ...envelope, tag: 'not base64!' })), 'malformed', /tag/);
    rejected(receiver.open(JSON.stringify({ ...envelope, data: 5 })), 'malformed', /data/);
  });

  test('a wrong key (secret or cluster) is rejected', () => {
    const c = clock();
    const sealed = crypto(c).seal(REPLY);
    rejected(crypto(c, 'a different shared secret').open(sealed), 'decrypt-failed');
    rejected(crypto(c, SECRET, 'staging').open(sealed), 'decrypt-failed');
  });

  test('a reply cannot pass as a request or the other way round, and a plain reply is refused', () => {
    const c = clock();
    const node = crypto(c);
    rejected(node.open(crypto(c, null).seal(REPLY)), 'unauthenticated');
    // A reply's canonical text HMAC-signed (only a secret holder could) is still the wrong seal.
    const asRequest = JSON.parse(node.seal(request(c))) as Record<string, string>;
    const replyText = '{"kind":"snapshot-reply","requestId":"r-1","node":"api-2","body":"{}"}';
    const macKey = Buffer.from(hkdfSync('sha256', Buffer.from(SECRET), 'poolscope-cluster/v1', 'request-mac\u0000prod', 32));
    const mac = createHmac('sha256', macKey).update(replyText).digest('base64url');
    rejected(node.open(JSON.stringify({ ...asRequest, message: replyText, mac })), 'wrong-seal');
  });
});

describe('envelopes and the whole path', () => {
  test('malformed envelopes are rejected with reasons, never thrown', () => {
    const c = clock();
    for (const secret of [SECRET, null]) {
      const node = crypto(c, secret);
      rejected(node.open('not json'), 'not-json');
      rejected(node.open(42), 'not-json');
      rejected(node.open('[]'), 'malformed');
      rejected(node.open('null'), 'malformed');
      rejected(node.open('{"seal":"none"}'), 'unsupported-version');
      rejected(node.open('{"v":2,"seal":"none","message":{}}'), 'unsupported-version');
      rejected(node.open('{"v":1,"seal":"rot13"}'), 'malformed', /rot13/);
    }
    const open = crypto(c, null);
    rejected(open.open('{"v":1,"seal":"none"}'), 'malformed');
    rejected(open.open('{"v":1,"seal":"none","message":{"kind":"snapshot-nuke"}}'), 'unknown-kind');
    rejected(open.open('{"v":1,"seal":"none","message":{"kind":"snapshot-reply","requestId":"r","node":"n"}}'), 'malformed', /body/);
    rejected(crypto(c).open('{"v":1,"seal":"hmac-sha256","message":7,"mac":"x"}'), 'malformed');
  });

  test('seal() refuses an invalid message with a coded error', () => {
    const c = clock();
    assert.throws(
      () => crypto(c).seal({ ...REPLY, node: 'bad node' }),
      (error: unknown) => error instanceof ClusterError && error.code === 'POOLSCOPE_ERR_CLUSTER_INVALID_MESSAGE',
    );
  });

  test('a secret shorter than 16 bytes or of the wrong type is refused without echoing it', () => {
    for (const secret of ['short-secret', '', new Uint8Array(15), 12345 as unknown as string]) {
      assert.throws(
        () => new ClusterCrypto({ cluster: 'prod', secret }),
        (error: unknown) =>
          error instanceof ClusterError && error.code === 'POOLSCOPE_ERR_CLUSTER_INVALID_SECRET' && !error.message.includes('short-secret') && !error.message.includes('12345'),
      );
    }
    assert.equal(new ClusterCrypto({ cluster: 'prod', secret: '数据库密码🔑🔑' }).authenticated, true, '16+ bytes of UTF-8');
    assert.throws(() => new ClusterCrypto({ cluster: '', secret: SECRET }), ClusterError);
    assert.throws(() => new ClusterCrypto({ cluster: 'prod', replayWindowMillis: 0 }), OptionsError);
  });

  test('a 2,000-lease encrypted reply goes through chunks (shuffled) and opens', () => {
    const c = clock();
    const body = JSON.stringify({
      holders: Array.from({ length: 2000 }, (_, i) => ({ i, owner: `GET /orders/${i} 注文`, site: `src/orders.ts:${i}`, sql: 'SELECT 1 -- 🚀' })),
    });
    const reply = createSnapshotReply('r-9', 'api-3', body);
    const sealed = crypto(c).seal(reply);
    const chunks = splitNotifyPayloads(sealed).reverse();
    assert.ok(chunks.length > 20);
    const reassembler = new NotifyReassembler();
    let text: string | undefined;
    for (const chunk of chunks) text = reassembler.push(chunk).message ?? text;
    assert.deepEqual(crypto(c).open(text), { ok: true, message: reply });
  });
});

describe('RequestReplayGuard bounds', () => {
  test('remembers at most maxRemembered ids inside the window, fails closed, and forgets ids past the window', () => {
    const c = clock();
    const guard = new RequestReplayGuard({ windowMillis: 1000, maxRemembered: 3, clock: c });
    for (const id of ['a', 'b', 'c']) assert.equal(guard.check(request(c, { requestId: id })), undefined);
    assert.equal(guard.check(request(c, { requestId: 'd' }))?.reason, 'replay-memory-full');
    c.advance(1001);
    assert.equal(guard.check(request(c, { requestId: 'd' })), undefined);
    assert.equal(guard.remembered, 1);
    assert.equal(guard.check(request(c, { requestId: 'd' }))?.reason, 'replayed');
  });
});
