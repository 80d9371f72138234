import assert from 'node:assert/strict';
import { test } from 'node:test';
import { recoveryCodesFile } from './format.ts';

test('the recovery codes file: the account, when, one code a line, nothing else secret', () => {
  const text = recoveryCodesFile(['abcd-efgh', 'ijkl-mnop'], 'ada@example.org', new Date('2026-12-02T01:00:00Z'));
  const lines = text.split('\n');
  assert.equal(lines[0], 'Conclave recovery codes for ada@example.org');
  assert.match(lines[1] ?? '', /^Made 2026-12-02T01:00:00\.000Z\./);
  assert.deepEqual(lines.slice(-3), ['abcd-efgh', 'ijkl-mnop', '']);
});
