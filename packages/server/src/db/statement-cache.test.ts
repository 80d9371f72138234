import assert from 'node:assert/strict';
import { test } from 'node:test';
import SQLite from 'better-sqlite3';
import { withStatementCache } from './statement-cache.ts';

test('prepared statements are reused, the least recently used evicted beyond capacity', () => {
  const raw = new SQLite(':memory:');
  let prepared = 0;
  const counting = { close: () => raw.close(), prepare: (sql: string) => ((prepared += 1), raw.prepare(sql)) };
  const db = withStatementCache(counting, 2);
  const a = db.prepare('select 1 as a');
  assert.equal(db.prepare('select 1 as a'), a);
  db.prepare('select 2 as b');
  db.prepare('select 1 as a'); // a is now the most recent
  db.prepare('select 3 as c'); // evicts b
  assert.equal(prepared, 3);
  const c = db.prepare('select 3 as c');
  assert.equal(prepared, 3, 'c is cached');
  db.prepare('select 2 as b');
  assert.equal(prepared, 4, 'b was evicted and is prepared again (evicting a, now the least recent)');
  assert.equal(db.prepare('select 3 as c'), c);
  assert.notEqual(db.prepare('select 1 as a'), a);
  assert.equal(prepared, 5);
  db.close();
});
