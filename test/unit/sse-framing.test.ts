import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { SSE_KEEP_ALIVE, STREAM_EVENT_NAMES, sseComment, sseFrame } from '../../src/http/sse-framing.js';

describe('SSE framing', () => {
  test('a frame is "event: <name>", one data line of JSON, and a blank line', () => {
    assert.equal(sseFrame('tick', { takenAt: 'x', pools: [] }), 'event: tick\ndata: {"takenAt":"x","pools":[]}\n\n');
  });

  test('every event name of the contract frames', () => {
    assert.deepEqual([...STREAM_EVENT_NAMES], ['hello', 'state', 'tick', 'event', 'pools']);
    for (const name of STREAM_EVENT_NAMES) assert.ok(sseFrame(name, {}).startsWith(`event: ${name}\ndata: {}\n`));
  });

  test('line breaks inside values stay on the one data line (JSON escapes them; U+2028/9 too)', () => {
    const frame = sseFrame('event', { message: 'line one\nline two\r\nthree\u2028four\u2029five' });
    const lines = frame.split('\n');
    assert.equal(lines.length, 4, frame);
    assert.equal(lines[2], '');
    assert.equal(lines[3], '');
    assert.ok(!frame.includes('\u2028') && !frame.includes('\u2029') && !frame.includes('\r'));
    const data = lines[1]?.slice('data: '.length) ?? '';
    assert.deepEqual(JSON.parse(data), { message: 'line one\nline two\r\nthree\u2028four\u2029five' });
  });

  test('keep-alive is a comment frame; comments never carry a line break', () => {
    assert.equal(SSE_KEEP_ALIVE, ': keep-alive\n\n');
    assert.equal(sseComment('a\nb'), ': a b\n\n');
  });
});
