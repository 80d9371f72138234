import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findLeaks } from './log-scan.ts';

test('the log scan finds planted secrets, raw or JSON-escaped, and only those', () => {
  const logs = [
    { name: 'a.log', text: '{"msg":"ok"}\n{"msg":"token cnv_s_abcdefghijkl"}\n' },
    { name: 'b.log', text: `${JSON.stringify({ msg: 'pass say"hi-secret' })}\n{"msg":"fine"}\n` },
  ];
  const leaks = findLeaks(['cnv_s_abcdefghijkl', 'say"hi-secret', 'not-present-anywhere'], logs);
  assert.deepEqual(
    leaks.map((l) => `${l.file}:${l.line}`),
    ['a.log:2', 'b.log:1'],
  );
  assert.equal(findLeaks(['short'], [{ name: 'c.log', text: 'short' }]).length, 0, 'secrets under 8 characters are not matched');
});
