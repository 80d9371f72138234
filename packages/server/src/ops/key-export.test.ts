import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { closeTestPools } from '../testing/test-app.ts';
import { looksLikeBackup } from './backup.archive.ts';
import { looksLikeKeyExport, openKeyExport, parseKeyExport, readKeyFiles, sealKeyExport, writeKeyFiles, type KeyFile } from './key-export.ts';

after(closeTestPools);

/** The floor parameters keep the test quick; exports use DEFAULT_KDF. */
const FAST = { memoryKib: 19_456, iterations: 1, parallelism: 1 };
const fingerprints = { pepper: 'p'.repeat(32), master: 'm'.repeat(32), audit: 'conclave-audit/0123456789abcdef' };
const files: KeyFile[] = [
  { path: 'pepper.key', content: Buffer.from('cGVwcGVy\n') },
  { path: 'retired/master-0123.key', content: Buffer.from('b2xk\n') },
];

const unreadable = (error: unknown): boolean => (error as { code?: string }).code === 'KEY_EXPORT_UNREADABLE';

describe('key export', () => {
  test('opens with its passphrase only, and not once its header or ciphertext is altered', async () => {
    const doc = await sealKeyExport(files, fingerprints, 'a long enough passphrase', new Date(), FAST);
    const text = JSON.stringify(doc, null, 2);
    assert.ok(looksLikeKeyExport(Buffer.from(text)));
    assert.ok(!text.includes('cGVwcGVy'), 'no key file content in clear');
    const opened = await openKeyExport(parseKeyExport(text), 'a long enough passphrase');
    assert.deepEqual(opened.map((f) => [f.path, f.content.toString()]), files.map((f) => [f.path, f.content.toString()]));

    await assert.rejects(openKeyExport(parseKeyExport(text), 'a long enough passphrasE'), unreadable);
    const forged = { ...doc, fingerprints: { ...fingerprints, master: 'x'.repeat(32) } };
    await assert.rejects(openKeyExport(forged, 'a long enough passphrase'), unreadable, 'the fingerprints are bound to the ciphertext');
    const flipped = Buffer.from(doc.ciphertext, 'base64');
    flipped[0] = (flipped[0] as number) ^ 1;
    await assert.rejects(openKeyExport({ ...doc, ciphertext: flipped.toString('base64') }, 'a long enough passphrase'), unreadable);
    assert.throws(() => parseKeyExport('{"format":"something-else"}'), unreadable);
    assert.throws(() => parseKeyExport(JSON.stringify({ ...doc, kdf: { ...doc.kdf, memoryKib: 8 } })), unreadable, 'a weakened KDF is refused');
  });

  test('refuses an export that names a path outside the keys directory', async () => {
    const doc = await sealKeyExport([{ path: '../outside.key', content: Buffer.from('x') }], fingerprints, 'passphrase', new Date(), FAST);
    await assert.rejects(openKeyExport(doc, 'passphrase'), (error: unknown) => unreadable(error) && /outside the keys directory/.test((error as Error).message));
  });

  test('import writes 0600 files, keeps identical ones, and never overwrites a different key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'conclave-keyimport-'));
    try {
      const keys = join(dir, 'keys');
      const first = await writeKeyFiles(keys, files);
      assert.deepEqual(first.written, ['pepper.key', 'retired/master-0123.key']);
      assert.equal((await stat(join(keys, 'pepper.key'))).mode & 0o777, 0o600);
      assert.equal((await stat(keys)).mode & 0o777, 0o700);
      assert.deepEqual((await readKeyFiles(keys)).map((f) => f.path), ['pepper.key', 'retired/master-0123.key']);
      const again = await writeKeyFiles(keys, files);
      assert.deepEqual(again, { written: [], alreadyPresent: ['pepper.key', 'retired/master-0123.key'] });

      const other = join(dir, 'other');
      await writeKeyFiles(other, [{ path: 'master.key', content: Buffer.from('different\n') }]);
      await assert.rejects(
        writeKeyFiles(other, [{ path: 'audit.key', content: Buffer.from('a\n') }, { path: 'master.key', content: Buffer.from('mine\n') }]),
        (error: unknown) => (error as { code?: string }).code === 'KEY_IMPORT_CONFLICT',
      );
      assert.deepEqual(await readdir(other), ['master.key'], 'nothing was written when one key conflicted');
      assert.equal(await readFile(join(other, 'master.key'), 'utf8'), 'different\n');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a key export and a backup are told apart by their first bytes', async () => {
    const doc = await sealKeyExport(files, fingerprints, 'passphrase', new Date(), FAST);
    assert.ok(!looksLikeBackup(Buffer.from(JSON.stringify(doc))));
    assert.ok(!looksLikeKeyExport(Buffer.from('{"format":"conclave-backup"}')));
    const dir = await mkdtemp(join(tmpdir(), 'conclave-keyimport-'));
    try {
      await writeFile(join(dir, 'plain.txt'), 'hello');
      assert.ok(!looksLikeBackup(await readFile(join(dir, 'plain.txt'))));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
