import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { test } from 'node:test';
import { verifyCheckpointNote } from './checkpoint-verify.ts';

/** A checkpoint signed the way the server signs it (C2SP signed note, Ed25519). */
const signedCheckpoint = (size: number) => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const keyName = `conclave-audit/${createHash('sha256').update(raw).digest('hex').slice(0, 16)}`;
  const hash = createHash('sha256').update(`${keyName}\n`).update(Buffer.from([1])).update(raw).digest().subarray(0, 4);
  const text = `${keyName}\n${size}\n${Buffer.alloc(32, 7).toString('base64')}\n`;
  const signature = Buffer.concat([hash, sign(null, Buffer.from(text), privateKey)]).toString('base64');
  return { keyName, publicKey: raw.toString('base64'), note: `${text}\n\u2014 ${keyName} ${signature}\n` };
};

test('a checkpoint signed by the named key verifies in Web Crypto', async () => {
  const { keyName, publicKey, note } = signedCheckpoint(42);
  const check = await verifyCheckpointNote(note, keyName, publicKey);
  assert.equal(check.ok, true, check.message);
  assert.equal(check.size, 42);
});

test('a changed size, another key, or a key that is not the log\u2019s does not verify', async () => {
  const { keyName, publicKey, note } = signedCheckpoint(42);
  const tampered = note.replace('\n42\n', '\n43\n');
  assert.deepEqual(await verifyCheckpointNote(tampered, keyName, publicKey), { ok: false, message: 'The checkpoint\u2019s signature does not verify.' });
  const other = signedCheckpoint(42);
  assert.equal((await verifyCheckpointNote(note, keyName, other.publicKey)).ok, false, 'the key must match the log name');
  assert.equal((await verifyCheckpointNote(other.note, keyName, publicKey)).ok, false, 'a note signed by another key');
  assert.equal((await verifyCheckpointNote('no blank line', keyName, publicKey)).ok, false);
});
