import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterError, OptionsError } from '../../src/errors.js';
import { DEFAULT_MAX_PAYLOAD_BYTES, splitNotifyPayloads } from '../../src/cluster/notify-chunks.js';
import { NotifyReassembler, type ChunkDrop } from '../../src/cluster/notify-reassembler.js';
import { FakeClock } from '../support/fake-clock.js';

const HEADER = /^ps1:([A-Za-z0-9_-]+):(\d+):(\d+):/;

/** A snapshot-like body of `leases` leases: owners, file:line, stacks, SQL with CJK and emoji. */
function leaseSnapshot(leases: number): string {
  return JSON.stringify({
    node: 'api-1',
    pools: [
      {
        name: 'main',
        holders: Array.from({ length: leases }, (_, i) => ({
          id: i,
          owner: { kind: 'request', label: `GET /orders/${i} 注文 📦` },
          site: `/srv/app/src/routes/orders-${i % 17}.ts:${(i % 300) + 1}`,
          stack: [`at handler (/srv/app/src/routes/orders-${i % 17}.ts:${(i % 300) + 1}:7)`, 'at process (node:internal/x:1:1)'],
          sql: `SELECT * FROM "注文" WHERE id = $1 -- ✅ lease ${i} 🚀`,
          heldMillis: i * 3,
        })),
      },
    ],
  });
}

function bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** Feeds payloads; returns the completed messages and every drop. */
function feed(reassembler: NotifyReassembler, payloads: readonly string[]): { messages: string[]; dropped: ChunkDrop[] } {
  const messages: string[] = [];
  const dropped: ChunkDrop[] = [];
  for (const payload of payloads) {
    const step = reassembler.push(payload);
    if (step.message !== undefined) messages.push(step.message);
    dropped.push(...step.dropped);
  }
  return { messages, dropped };
}

/** A deterministic shuffle (no Math.random in tests). */
function shuffled<T>(items: readonly T[], seed = 7): T[] {
  const out = [...items];
  let state = seed;
  for (let i = out.length - 1; i > 0; i -= 1) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

describe('splitNotifyPayloads', () => {
  test('a 2,000-lease reply (hundreds of KB) becomes chunks of at most 7,900 bytes with ordered headers', () => {
    const text = leaseSnapshot(2000);
    assert.ok(bytes(text) > 300_000, `the fixture is ${bytes(text)} bytes`);
    const chunks = splitNotifyPayloads(text, { messageId: 'm1' });
    assert.ok(chunks.length > 40);
    chunks.forEach((chunk, index) => {
      assert.ok(bytes(chunk) <= DEFAULT_MAX_PAYLOAD_BYTES, `chunk ${index} is ${bytes(chunk)} bytes`);
      const match = HEADER.exec(chunk);
      assert.ok(match !== null);
      assert.deepEqual(match.slice(1), ['m1', String(index), String(chunks.length)]);
    });
    // Chunks are filled: all but the last are within a few bytes (one character, header width) of the limit.
    for (const chunk of chunks.slice(0, -1)) assert.ok(bytes(chunk) > DEFAULT_MAX_PAYLOAD_BYTES - 16, `${bytes(chunk)}`);
    assert.equal(chunks.map((chunk) => chunk.replace(HEADER, '')).join(''), text);
  });

  test('multi-byte characters are never cut: every chunk is valid UTF-8 and the limit holds in bytes', () => {
    // Emoji (4 bytes, surrogate pairs), CJK (3 bytes), accents (2 bytes), ASCII: every alignment against the cut.
    const samples = ['🚀', '数', 'é', 'a'];
    for (let offset = 0; offset < 8; offset += 1) {
      for (const sample of samples) {
        const text = `${'x'.repeat(offset)}${sample.repeat(3000)}${'语'.repeat(offset)}👩‍💻`;
        for (const maxPayloadBytes of [64, 65, 66, 67, 100, 7999]) {
          const chunks = splitNotifyPayloads(text, { maxPayloadBytes, messageId: 'id' });
          let joined = '';
          for (const chunk of chunks) {
            assert.ok(bytes(chunk) <= maxPayloadBytes, `${bytes(chunk)} > ${maxPayloadBytes}`);
            // A cut inside a character would leave a lone surrogate, which does not survive a UTF-8 round trip.
            assert.equal(Buffer.from(chunk, 'utf8').toString('utf8'), chunk);
            assert.doesNotMatch(chunk, /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/);
            joined += chunk.replace(HEADER, '');
          }
          assert.equal(joined, text);
        }
      }
    }
  });

  test('a 4-byte character right at the boundary goes whole into the next chunk', () => {
    // Header "ps1:id:0:2:" bounds 3+2+6+6+4 = 21 bytes; 64 - 21 = 43 data bytes: 42 ASCII then an emoji (4) does not fit.
    const text = `${'a'.repeat(42)}🚀tail`;
    const chunks = splitNotifyPayloads(text, { maxPayloadBytes: 64, messageId: 'id' });
    assert.deepEqual(chunks, [`ps1:id:0:2:${'a'.repeat(42)}`, 'ps1:id:1:2:🚀tail']);
  });

  test('empty and small texts are one chunk; ids are random by default', () => {
    assert.deepEqual(splitNotifyPayloads('', { messageId: 'e' }), ['ps1:e:0:1:']);
    const [chunk] = splitNotifyPayloads('{"a":1}');
    assert.match(chunk as string, /^ps1:[A-Za-z0-9_-]{11}:0:1:\{"a":1\}$/);
    assert.notEqual(splitNotifyPayloads('x')[0], splitNotifyPayloads('x')[0]);
  });

  test('a text over maxMessageBytes is refused with a coded error; bad options too', () => {
    assert.throws(
      () => splitNotifyPayloads('数'.repeat(400), { maxMessageBytes: 1000 }),
      (error: unknown) => error instanceof ClusterError && error.code === 'POOLSCOPE_ERR_CLUSTER_MESSAGE_TOO_LARGE' && /1200 bytes/.test(error.message),
    );
    for (const maxPayloadBytes of [63, 8000, 7900.5, Number.NaN]) {
      assert.throws(() => splitNotifyPayloads('x', { maxPayloadBytes }), OptionsError);
    }
    assert.throws(() => splitNotifyPayloads('x', { messageId: 'bad:id' }), OptionsError);
    assert.throws(() => splitNotifyPayloads('x', { messageId: 'x'.repeat(33) }), OptionsError);
  });
});

describe('NotifyReassembler', () => {
  test('reassembles the 2,000-lease reply in order, out of order, and interleaved with another message', () => {
    const text = leaseSnapshot(2000);
    const chunks = splitNotifyPayloads(text);
    const inOrder = feed(new NotifyReassembler({ maxMessageBytes: 1_000_000 }), chunks);
    assert.deepEqual(inOrder.messages, [text]);
    assert.deepEqual(inOrder.dropped, []);

    const reversed = feed(new NotifyReassembler(), [...chunks].reverse());
    assert.deepEqual(reversed.messages, [text]);

    const other = leaseSnapshot(300);
    const otherChunks = splitNotifyPayloads(other);
    const mixed = shuffled([...chunks, ...otherChunks]);
    const reassembler = new NotifyReassembler();
    const both = feed(reassembler, mixed);
    assert.deepEqual(both.messages.sort(), [text, other].sort());
    assert.deepEqual(both.dropped, []);
    assert.equal(reassembler.inProgress, 0);
  });

  test('each push says which message completed; a single chunk completes at once', () => {
    const reassembler = new NotifyReassembler();
    const step = reassembler.push('ps1:abc:0:1:{"hello":"世界"}');
    assert.deepEqual(step, { message: '{"hello":"世界"}', messageId: 'abc', dropped: [] });
    assert.deepEqual(reassembler.push('ps1:e:0:1:'), { message: '', messageId: 'e', dropped: [] });
  });

  test('a chunk delivered twice with the same data is ignored; with other data the message is dropped', () => {
    const chunks = splitNotifyPayloads('a'.repeat(200), { maxPayloadBytes: 64, messageId: 'm' });
    const reassembler = new NotifyReassembler();
    const result = feed(reassembler, [chunks[0] as string, chunks[0] as string, ...chunks.slice(1)]);
    assert.deepEqual(result.messages, ['a'.repeat(200)]);
    assert.deepEqual(result.dropped, []);

    const conflict = new NotifyReassembler();
    const out = feed(conflict, [chunks[0] as string, (chunks[0] as string).replace(/a$/, 'b'), ...chunks.slice(1)]);
    assert.deepEqual(out.messages, []);
    assert.deepEqual(out.dropped.map((drop) => [drop.reason, drop.messageId]), [['inconsistent-chunk', 'm']]);
    assert.match(out.dropped[0]?.detail ?? '', /twice/);
    assert.equal(conflict.inProgress, 0, 'the rest of a dropped message is ignored, not started over');
  });

  test('a chunk announcing another count than the first drops the message', () => {
    const reassembler = new NotifyReassembler();
    const out = feed(reassembler, ['ps1:m:0:3:aa', 'ps1:m:1:4:bb']);
    assert.deepEqual(out.dropped.map((drop) => [drop.reason, drop.receivedChunks, drop.expectedChunks]), [['inconsistent-chunk', 1, 3]]);
    assert.deepEqual(feed(reassembler, ['ps1:m:2:3:cc']).dropped, []);
    assert.equal(reassembler.inProgress, 0);
  });

  test('malformed chunks are reported, never thrown', () => {
    const reassembler = new NotifyReassembler();
    for (const payload of ['', 'hello', 'ps1:m:0:0:x', 'ps1:m:3:3:x', 'ps1:m:01:3:x', 'ps1:m:-1:3:x', 'ps2:m:0:1:x', 'ps1::0:1:x', `ps1:${'i'.repeat(33)}:0:1:x`, 'ps1:m:0:1234567:x', 'ps1:m:0:2:', 42, null, undefined]) {
      const step = reassembler.push(payload);
      assert.equal(step.message, undefined, String(payload));
      assert.equal(step.dropped.length, 1, String(payload));
      const [drop] = step.dropped;
      if (payload === 'ps1:m:0:2:') {
        assert.equal(drop?.reason, 'inconsistent-chunk');
      } else {
        assert.equal(drop?.reason, 'malformed-chunk', String(payload));
        assert.equal(drop?.messageId, undefined);
      }
      assert.ok((drop?.detail ?? '').length > 0);
    }
  });

  test('too many messages in progress: the oldest is dropped and reported', () => {
    const reassembler = new NotifyReassembler({ maxMessages: 2 });
    const out = feed(reassembler, ['ps1:a:0:2:a0', 'ps1:b:0:2:b0', 'ps1:c:0:2:c0']);
    assert.deepEqual(out.dropped.map((drop) => [drop.reason, drop.messageId, drop.receivedChunks, drop.expectedChunks]), [['too-many-messages', 'a', 1, 2]]);
    assert.equal(reassembler.inProgress, 2);
    // The rest of the dropped message is ignored; the others complete.
    const rest = feed(reassembler, ['ps1:a:1:2:a1', 'ps1:b:1:2:b1', 'ps1:c:1:2:c1']);
    assert.deepEqual(rest.messages, ['b0b1', 'c0c1']);
    assert.deepEqual(rest.dropped, []);
  });

  test('too large: dropped when its bytes pass the bound, or at once when it announces more chunks than bytes', () => {
    const reassembler = new NotifyReassembler({ maxMessageBytes: 10 });
    const out = feed(reassembler, ['ps1:m:0:3:数数', 'ps1:m:1:3:数数', 'ps1:m:2:3:x']);
    assert.deepEqual(out.dropped.map((drop) => [drop.reason, drop.messageId, drop.bytes]), [['message-too-large', 'm', 12]]);
    assert.equal(reassembler.inProgress, 0);
    assert.deepEqual(out.messages, []);

    const announced = reassembler.push('ps1:n:0:11:x');
    assert.deepEqual(announced.dropped.map((drop) => [drop.reason, drop.expectedChunks]), [['message-too-large', 11]]);
    assert.equal(reassembler.inProgress, 0);

    const single = reassembler.push('ps1:s:0:1:12345678901');
    assert.deepEqual(single.dropped.map((drop) => [drop.reason, drop.bytes]), [['message-too-large', 11]]);
    assert.equal(reassembler.push('ps1:t:0:1:1234567890').message, '1234567890');
  });

  test('too old: a partial message is dropped on the next call after the timeout (no timers)', () => {
    const clock = new FakeClock();
    const reassembler = new NotifyReassembler({ timeoutMillis: 1000, clock });
    reassembler.push('ps1:old:0:2:o0');
    clock.advance(600);
    reassembler.push('ps1:new:0:2:n0');
    clock.advance(399);
    assert.deepEqual(reassembler.expire(), []);
    clock.advance(1);
    const step = reassembler.push('ps1:new:1:2:n1');
    assert.deepEqual(step.dropped.map((drop) => [drop.reason, drop.messageId, drop.receivedChunks]), [['expired', 'old', 1]]);
    assert.equal(step.message, 'n0n1');
    // Its late chunk is ignored while the id is remembered, and starts a new entry once forgotten.
    assert.deepEqual(reassembler.push('ps1:old:1:2:o1'), { message: undefined, messageId: undefined, dropped: [] });
    assert.equal(reassembler.inProgress, 0);
    clock.advance(1000);
    reassembler.push('ps1:old:1:2:o1');
    assert.equal(reassembler.inProgress, 1);
    clock.advance(1000);
    assert.deepEqual(reassembler.expire().map((drop) => drop.reason), ['expired']);
  });

  test('clear() drops everything held and says so', () => {
    const reassembler = new NotifyReassembler();
    feed(reassembler, ['ps1:a:0:2:x', 'ps1:b:0:3:y']);
    assert.deepEqual(reassembler.clear().map((drop) => drop.messageId), ['a', 'b']);
    assert.equal(reassembler.inProgress, 0);
  });

  test('bad options throw a coded error when it is created', () => {
    assert.throws(() => new NotifyReassembler({ maxMessages: 0 }), OptionsError);
    assert.throws(() => new NotifyReassembler({ maxMessageBytes: -1 }), OptionsError);
    assert.throws(() => new NotifyReassembler({ timeoutMillis: 1.5 }), OptionsError);
  });
});
