import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalEntry, entryLeaf, entryLeafHex, type AuditRow } from './entry.ts';
import { leafHash } from './merkle.ts';

type Entry = Omit<AuditRow, 'leaf_hash'>;

const entry: Entry = { seq: 7, at: 1_764_547_200_000, action: 'room.read', instance_id: null, actor_id: 'a', session_id: '', room_id: 'é', detail: '{"count":2}', ip_hash: null, ua_hash: null };

test('the canonical encoding, byte for byte (the vector of docs/decisions/0010-audit-log.md)', () => {
  const expected = [
    '636f6e636c6176652d61756469742d7632', // "conclave-audit-v2"
    '401c000000000000', // seq 7, a big-endian double
    '4279ad7358400000', // at 1764547200000
    '01' + '00000009', // action: present, 9 bytes
    '00' + '00000000', // instance_id: null
    '01' + '00000001', // actor_id
    '01' + '00000000', // session_id: present and empty, not null
    '01' + '00000002', // room_id: "é" is 2 bytes of UTF-8
    '01' + '0000000b', // detail
    '00' + '00000000', // ip_hash: null
    '00' + '00000000', // ua_hash: null
    '726f6f6d2e72656164' + '61' + 'c3a9' + '7b22636f756e74223a327d', // "room.read", "a", "é", {"count":2}
  ].join('');
  assert.equal(canonicalEntry(entry).toString('hex'), expected);
  assert.equal(entryLeafHex(entry), 'b5016c6e37770ba3b0a1266bff6c0382e581ef0e0276f4408bb002ece93fa575');
  assert.ok(entryLeaf(entry).equals(leafHash(canonicalEntry(entry))), 'the RFC 6962 leaf hash of the encoding');
  // All ASCII, the texts are written at once; the bytes are the same as written one by one.
  assert.equal(canonicalEntry({ ...entry, room_id: 'e' }).toString('hex'), expected.replace('0100000002', '0100000001').replace('61c3a9', '6165'));
});

test('the encoding is unambiguous: null is not empty, and bytes cannot move between fields', () => {
  const leaves = [
    entry,
    { ...entry, session_id: null },
    { ...entry, actor_id: 'ab', session_id: 'c' },
    { ...entry, actor_id: 'a', session_id: 'bc' },
    { ...entry, actor_id: null, session_id: 'a' },
    { ...entry, seq: 8 },
    { ...entry, at: entry.at + 1 },
    { ...entry, ua_hash: '' },
  ].map(entryLeafHex);
  assert.equal(new Set(leaves).size, leaves.length);
});

test('a long entry grows the buffer; the entries after it encode as before', () => {
  const before = entryLeafHex(entry);
  const detail = JSON.stringify({ note: '€'.repeat(5_000) });
  const long = canonicalEntry({ ...entry, detail });
  assert.equal(long.length, canonicalEntry(entry).length - 11 + Buffer.byteLength(detail));
  assert.equal(long.readUInt32BE(17 + 16 + 5 * 5 + 1), Buffer.byteLength(detail), 'the length in the header of detail, the sixth text');
  assert.ok(long.subarray(-Buffer.byteLength(detail)).equals(Buffer.from(detail)), 'its bytes, the last ones');
  assert.ok(entryLeaf({ ...entry, detail }).equals(leafHash(long)), 'the leaf of the long entry hashes all of it');
  assert.equal(entryLeafHex(entry), before);
});
