import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import type { Message, Room } from '@conclave/protocol';
import { loadConfig } from '../config/config.ts';
import { closeTestPools, createTestApp, describeEachEngine } from '../testing/test-app.ts';
import { createBackup, readManifest, restoreBackup } from './index.ts';

after(closeTestPools);

const upload = (bytes: Buffer, name: string) => {
  const boundary = `----b${randomBytes(6).toString('hex')}`;
  const payload = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: application/octet-stream\r\n\r\n`),
    bytes,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { payload, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
};

describeEachEngine('backup with files', (engine) => {
  test('a backup holds the files directory (as ciphertext, checksummed); restored, the file downloads byte for byte', async () => {
    const t = await createTestApp(engine);
    const work = await mkdtemp(join(tmpdir(), 'conclave-bkfiles-'));
    try {
      const { owner, instanceId } = await t.setUp();
      const room = (await t.as(owner, { method: 'POST', url: `/api/v1/instances/${instanceId}/rooms`, payload: { name: 'archive' } })).json<Room>();
      const bytes = randomBytes(70_000);
      const posted = await t.as(owner, { method: 'POST', url: `/api/v1/rooms/${room.id}/files`, ...upload(bytes, 'ledger.bin') });
      assert.equal(posted.statusCode, 201, posted.body);
      const fileId = posted.json<Message>().attachments[0]?.id as string;

      const out = join(work, 'backup.tar.gz');
      const { manifest } = await createBackup(t.ctx, { out, conclaveVersion: 'test' });
      const member = manifest.files.find((f) => f.name === `files/${fileId}`);
      assert.ok(member, 'the file is a member of the backup');
      const stored = await readFile(join(t.ctx.config.filesDir, fileId));
      assert.equal(member.sizeBytes, stored.length, 'the member is the encrypted object as stored');
      assert.deepEqual((await readManifest(out)).files.map((f) => f.name).filter((n) => n.startsWith('files/')), [`files/${fileId}`]);

      if (engine === 'sqlite') {
        // Restore onto an empty directory with the same keys, start on it, read the file.
        const target = join(work, 'restored');
        await cp(join(dirname(t.ctx.config.dataDir), 'keys'), join(target, 'keys'), { recursive: true });
        const targetConfig = loadConfig({ CONCLAVE_DATA_DIR: join(target, 'data'), CONCLAVE_KEYS_DIR: join(target, 'keys'), CONCLAVE_AUDIT_WITNESS: join(target, 'witness.log') });
        await restoreBackup(targetConfig, out);
        assert.deepEqual(await readdir(targetConfig.filesDir), [fileId]);
        const restored = await createTestApp('sqlite', {}, { dir: target });
        try {
          const owner2 = await restored.login(owner.email, owner.password);
          const got = await restored.as(owner2, { method: 'GET', url: `/api/v1/rooms/${room.id}/files/${fileId}` });
          assert.equal(got.statusCode, 200, got.body);
          assert.ok(got.rawPayload.equals(bytes));
        } finally {
          await restored.close();
        }
      }
    } finally {
      await t.close();
    }
  });
});
