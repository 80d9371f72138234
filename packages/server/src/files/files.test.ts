import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Message, Room } from '@conclave/protocol';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { shredInstanceKeys } from '../crypto/index.ts';
import { closeTestPools, createTestApp, describeEachEngine, type Client, type TestApp } from '../testing/test-app.ts';
import { FILE_MAGIC } from './index.ts';

after(closeTestPools);

interface Part {
  name: string;
  value: Buffer | string;
  filename?: string;
  type?: string;
}

/** A multipart/form-data body, built by hand: what a browser's FormData sends. */
const multipart = (parts: Part[]): { payload: Buffer; headers: Record<string, string> } => {
  const boundary = `----conclave${randomBytes(8).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const disposition = `form-data; name="${part.name}"${part.filename !== undefined ? `; filename="${part.filename}"` : ''}`;
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n${part.type ? `Content-Type: ${part.type}\r\n` : ''}\r\n`));
    chunks.push(Buffer.isBuffer(part.value) ? part.value : Buffer.from(part.value));
    chunks.push(Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(chunks), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
};

const makePng = (width: number, height: number): Buffer => {
  const png = new PNG({ width, height });
  for (let i = 0; i < width * height; i += 1) png.data.set([(i * 7) % 256, (i * 13) % 256, 200, 255], i * 4);
  return PNG.sync.write(png);
};

const makeJpeg = (width: number, height: number): Buffer => {
  const data = Buffer.alloc(width * height * 4);
  for (let i = 0; i < width * height; i += 1) data.set([i % 256, 100, (i * 3) % 256, 255], i * 4);
  return Buffer.from(jpeg.encode({ width, height, data }, 90).data);
};

describeEachEngine('files', (engine) => {
  let t: TestApp;
  let owner: Client;
  let member: Client;
  let outsider: Client;
  let room: Room;
  let instanceId: string;

  const upload = (as: Client, roomId: string, parts: Part[]) => {
    const { payload, headers } = multipart(parts);
    return t.as(as, { method: 'POST', url: `/api/v1/rooms/${roomId}/files`, payload, headers });
  };
  const download = (as: Client, roomId: string, fileId: string, suffix = '') => t.as(as, { method: 'GET', url: `/api/v1/rooms/${roomId}/files/${fileId}${suffix}` });

  before(async () => {
    t = await createTestApp(engine, { MESSAGE_RATE_LIMIT: '1000/1m', FILE_MAX_BYTES: String(300 * 1024) });
    const setup = await t.setUpWithMember({ displayName: 'Member' });
    owner = setup.owner;
    member = setup.member;
    instanceId = setup.instanceId;
    const r = await t.as(owner, { method: 'POST', url: `/api/v1/instances/${instanceId}/rooms`, payload: { name: 'Private files', privacy: 'private' } });
    assert.equal(r.statusCode, 201, r.body);
    room = r.json<Room>();
    await t.as(owner, { method: 'POST', url: `/api/v1/rooms/${room.id}/members`, payload: { accountId: member.accountId } });
    const invite = await t.as(owner, { method: 'POST', url: `/api/v1/instances/${instanceId}/invites`, payload: {} });
    outsider = await t.signUpAndLogIn(setup.instanceSlug, { inviteToken: invite.json<{ token: string }>().token, displayName: 'Outsider' });
  });
  after(() => t.close());

  test('upload and download: the same bytes back, ciphertext on disk, the read audited, outsiders told "no such file"', async () => {
    // Larger than a chunk and not a multiple of it: several chunks and a short last one.
    const bytes = randomBytes(200 * 1024 + 123);
    const r = await upload(member, room.id, [
      { name: 'body', value: 'the report' },
      { name: 'file', value: bytes, filename: 'Q3 résumé (final).bin', type: 'application/pdf' },
    ]);
    assert.equal(r.statusCode, 201, r.body);
    const message = r.json<Message>();
    assert.equal(message.body, 'the report');
    const [attachment] = message.attachments;
    assert.ok(attachment);
    assert.equal(attachment.name, 'Q3 résumé (final).bin');
    assert.equal(attachment.sizeBytes, bytes.length);
    // Random bytes are no PDF, whatever the uploader said.
    assert.equal(attachment.contentType, 'application/octet-stream');
    assert.equal(attachment.hasPreview, false);

    const got = await download(owner, room.id, attachment.id);
    assert.equal(got.statusCode, 200);
    assert.ok(got.rawPayload.equals(bytes), 'the bytes come back identical');
    assert.equal(got.headers['content-type'], 'application/octet-stream');
    assert.equal(got.headers['x-content-type-options'], 'nosniff');
    assert.equal(got.headers['content-disposition'], `attachment; filename="Q3 r_sum_ (final).bin"; filename*=UTF-8''Q3%20r%C3%A9sum%C3%A9%20%28final%29.bin`);

    // On disk: a random id for a name, and no plaintext anywhere in it.
    const names = await readdir(t.ctx.config.filesDir);
    assert.ok(names.includes(attachment.id));
    assert.ok(!names.some((n) => n.includes('sum')), 'the original name is not on disk');
    const stored = await readFile(join(t.ctx.config.filesDir, attachment.id));
    assert.ok(stored.subarray(0, 8).equals(FILE_MAGIC));
    assert.equal(stored.indexOf(bytes.subarray(1000, 1032)), -1, 'the plaintext is not on disk');

    const reads = await t.ctx.database.db.selectFrom('audit_entries').selectAll().where('action', '=', 'room.read').where('actor_id', '=', owner.accountId).execute();
    assert.ok(
      reads.some((e) => {
        const detail = JSON.parse(e.detail) as { kind?: string; file?: string };
        return detail.kind === 'file' && detail.file === attachment.id && e.room_id === room.id;
      }),
      'the download is in the audit log',
    );

    // The history and the snapshot carry the attachment.
    const history = (await t.as(owner, { method: 'GET', url: `/api/v1/rooms/${room.id}/messages` })).json<{ messages: Message[] }>().messages;
    assert.deepEqual(history.find((m) => m.id === message.id)?.attachments, message.attachments);
    const snapshot = (await t.as(member, { method: 'GET', url: '/api/v1/snapshot' })).json<{ messages: Record<string, { messages: Message[] }> }>();
    assert.deepEqual(snapshot.messages[room.id]?.messages.find((m) => m.id === message.id)?.attachments, message.attachments);

    // Not in the room: exactly the answer for a file that does not exist.
    const outsiders = await download(outsider, room.id, attachment.id);
    const missing = await download(owner, room.id, '01900000-0000-7000-8000-000000000000');
    assert.equal(outsiders.statusCode, 404);
    assert.equal(outsiders.json().error.code, 'FILE_NOT_FOUND');
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().error.code, 'FILE_NOT_FOUND');
    assert.equal(outsiders.json().error.message, missing.json().error.message);
    const outsiderUpload = await upload(outsider, room.id, [{ name: 'file', value: 'x', filename: 'x.txt', type: 'text/plain' }]);
    assert.equal(outsiderUpload.json().error.code, 'FILE_NOT_FOUND');

    // Deleting the message deletes the file: its row, its bytes, its download.
    const del = await t.as(member, { method: 'DELETE', url: `/api/v1/rooms/${room.id}/messages/${message.id}` });
    assert.equal(del.statusCode, 200, del.body);
    assert.deepEqual(del.json<Message>().attachments, []);
    assert.ok(!(await readdir(t.ctx.config.filesDir)).includes(attachment.id));
    assert.equal((await download(owner, room.id, attachment.id)).json().error.code, 'FILE_NOT_FOUND');
  });

  test('a file that claims to be an image and is not is stored and served as application/octet-stream', async () => {
    const html = Buffer.from('<html><script>alert(1)</script></html>');
    const r = await upload(member, room.id, [{ name: 'file', value: html, filename: 'cat.png', type: 'image/png' }]);
    assert.equal(r.statusCode, 201, r.body);
    const [attachment] = r.json<Message>().attachments;
    assert.equal(attachment?.contentType, 'application/octet-stream');
    assert.equal(attachment?.hasPreview, false);
    const got = await download(member, room.id, attachment?.id as string);
    assert.equal(got.headers['content-type'], 'application/octet-stream');
    assert.match(String(got.headers['content-disposition']), /^attachment;/);
    assert.equal((await download(member, room.id, attachment?.id as string, '/preview')).json().error.code, 'FILE_NOT_FOUND');

    // Plain text claimed as text stays text, still as an attachment.
    const text = await upload(member, room.id, [{ name: 'file', value: 'hello, world\n', filename: 'notes.txt', type: 'text/plain' }]);
    assert.equal(text.json<Message>().attachments[0]?.contentType, 'text/plain; charset=utf-8');
  });

  test('image previews: a real PNG and JPEG get a smaller image of the same kind; the original is served inline', async () => {
    for (const [name, bytes, type] of [
      ['wide.png', makePng(640, 200), 'image/png'],
      ['photo.jpg', makeJpeg(400, 500), 'image/jpeg'],
    ] as const) {
      const r = await upload(member, room.id, [{ name: 'file', value: bytes, filename: name, type: 'application/octet-stream' }]);
      assert.equal(r.statusCode, 201, r.body);
      const [attachment] = r.json<Message>().attachments;
      assert.equal(attachment?.contentType, type, 'the type comes from the bytes');
      assert.equal(attachment?.hasPreview, true);
      const original = await download(owner, room.id, attachment?.id as string);
      assert.match(String(original.headers['content-disposition']), /^inline;/);
      const preview = await download(owner, room.id, attachment?.id as string, '/preview');
      assert.equal(preview.statusCode, 200);
      assert.equal(preview.headers['content-type'], type);
      if (type === 'image/png') {
        const image = PNG.sync.read(preview.rawPayload);
        assert.deepEqual([image.width, image.height], [320, 100]);
      } else {
        const image = jpeg.decode(preview.rawPayload);
        assert.deepEqual([image.width, image.height], [256, 320]);
      }
    }
  });

  test('size limit: 413 FILE_TOO_LARGE and nothing left behind; an instance may set its own', async () => {
    const before = (await readdir(t.ctx.config.filesDir)).length;
    const tooBig = await upload(member, room.id, [{ name: 'file', value: randomBytes(300 * 1024 + 1), filename: 'big.bin' }]);
    assert.equal(tooBig.statusCode, 413);
    assert.equal(tooBig.json().error.code, 'FILE_TOO_LARGE');
    assert.equal((await readdir(t.ctx.config.filesDir)).length, before, 'no file and no temporary file stays');
    await t.ctx.database.db.updateTable('instances').set({ file_max_bytes: 1000 }).where('id', '=', instanceId).execute();
    try {
      const r = await upload(member, room.id, [{ name: 'file', value: randomBytes(1001), filename: 'small.bin' }]);
      assert.equal(r.json().error.code, 'FILE_TOO_LARGE');
      assert.equal((await upload(member, room.id, [{ name: 'file', value: randomBytes(1000), filename: 'ok.bin' }])).statusCode, 201);
    } finally {
      await t.ctx.database.db.updateTable('instances').set({ file_max_bytes: null }).where('id', '=', instanceId).execute();
    }
  });

  test('bad inputs: no file part, a second file, an unknown field, not multipart, a cut-short form; nothing half-written', async () => {
    const count = async () => Number((await t.ctx.database.db.selectFrom('messages').select((eb) => eb.fn.countAll().as('n')).where('room_id', '=', room.id).executeTakeFirstOrThrow()).n);
    const messagesBefore = await count();
    const noFile = await upload(member, room.id, [{ name: 'body', value: 'no file here' }]);
    assert.equal(noFile.statusCode, 400);
    assert.equal(noFile.json().error.code, 'FILE_PART_MISSING');
    const wrongName = await upload(member, room.id, [{ name: 'attachment', value: 'x', filename: 'x.txt' }]);
    assert.equal(wrongName.json().error.code, 'FILE_UPLOAD_INVALID');
    const two = await upload(member, room.id, [
      { name: 'file', value: 'a', filename: 'a.txt' },
      { name: 'file', value: 'b', filename: 'b.txt' },
    ]);
    assert.equal(two.statusCode, 400);
    assert.equal(two.json().error.code, 'FILE_UPLOAD_INVALID');
    const extra = await upload(member, room.id, [{ name: 'evil', value: 'x' }, { name: 'file', value: 'a', filename: 'a.txt' }]);
    assert.equal(extra.json().error.code, 'FILE_UPLOAD_INVALID');
    const badBody = await upload(member, room.id, [{ name: 'body', value: 'bell\u0007' }, { name: 'file', value: 'a', filename: 'a.txt' }]);
    assert.equal(badBody.json().error.code, 'VALIDATION_FAILED');
    const json = await t.as(member, { method: 'POST', url: `/api/v1/rooms/${room.id}/files`, payload: { file: 'x' } });
    assert.equal(json.statusCode, 400);
    assert.equal(json.json().error.code, 'FILE_UPLOAD_INVALID');
    const { payload, headers } = multipart([{ name: 'file', value: randomBytes(5000), filename: 'cut.bin' }]);
    const cut = await t.as(member, { method: 'POST', url: `/api/v1/rooms/${room.id}/files`, payload: payload.subarray(0, 3000), headers });
    assert.equal(cut.statusCode, 400, cut.body);
    const badId = await t.as(member, { method: 'GET', url: `/api/v1/rooms/${room.id}/files/not-an-id` });
    assert.equal(badId.json().error.code, 'VALIDATION_FAILED');
    assert.equal(await count(), messagesBefore, 'no message was posted');
    assert.deepEqual((await readdir(t.ctx.config.filesDir)).filter((n) => n.startsWith('.tmp-')), [], 'no temporary file stays');
  });

  test('shredding the instance\'s keys makes its files unreadable', async () => {
    const bytes = randomBytes(5000);
    const r = await upload(member, room.id, [{ name: 'file', value: bytes, filename: 'secret.bin' }]);
    const id = r.json<Message>().attachments[0]?.id as string;
    assert.ok((await download(member, room.id, id)).rawPayload.equals(bytes));
    await shredInstanceKeys(t.ctx.keyring, t.ctx.database.db, instanceId);
    const after = await download(member, room.id, id);
    assert.notEqual(after.statusCode, 200);
    assert.equal(after.rawPayload.indexOf(bytes.subarray(0, 32)), -1);
    // The bytes are still on disk, and nothing that remains opens them: the room's data keys are gone.
    assert.ok((await readdir(t.ctx.config.filesDir)).includes(id));
    assert.equal((await t.ctx.database.db.selectFrom('data_keys').select('owner_id').where('owner_id', '=', room.id).execute()).length, 0);
  });
});
