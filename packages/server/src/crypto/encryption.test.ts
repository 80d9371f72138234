import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { sql } from 'kysely';
import { deleteTerms } from '../chat/index.ts';
import { loadConfig } from '../config/config.ts';
import { createLogger } from '../http/logger.ts';
import { createServices, StartupError } from '../services.ts';
import { dumpDatabase } from '../testing/dump.ts';
import { closeTestPools, createTestApp, describeEachEngine, newEmail, type Client, type TestApp } from '../testing/test-app.ts';
import { CiphertextError, keyPath, readKey, rotateInstanceKeys, rotateMasterKey, scanStorage } from './index.ts';
import { readMasterKey } from './master-key.ts';

/** The SQLite files' raw bytes (the database, its WAL), as a backup or a stolen disk would hold them. */
const sqliteBytes = async (t: TestApp): Promise<Buffer> => {
  const dir = t.ctx.config.dataDir;
  return Buffer.concat(await Promise.all((await readdir(dir)).map((file) => readFile(join(dir, file)))));
};

const post = (t: TestApp, client: Client, roomId: string, body: string): Promise<{ id: string }> => t.post(client, roomId, body);

const history = async (t: TestApp, client: Client, roomId: string): Promise<string[]> => {
  const response = await t.as(client, { method: 'GET', url: `/api/v1/rooms/${roomId}/messages?limit=100` });
  assert.equal(response.statusCode, 200, response.body);
  return response.json<{ messages: Array<{ body: string }> }>().messages.map((m) => m.body);
};

const storedBody = async (t: TestApp, messageId: string): Promise<string> =>
  (await t.ctx.database.db.selectFrom('messages').select('body').where('id', '=', messageId).executeTakeFirstOrThrow()).body;

after(closeTestPools);

describeEachEngine('encryption at rest', (engine) => {
  let t: TestApp;
  let owner: Client;
  let member: Client;
  let instanceId: string;
  let publicRoom: string;
  let privateRoom: string;
  /** A random word every seeded secret carries: none may appear in a dump. */
  const marker = `zq${randomBytes(5).toString('hex')}`;
  const plaintexts: string[] = [];

  before(async () => {
    t = await createTestApp(engine);
    ({ owner, member, instanceId } = await t.setUpWithMember({ displayName: `Ada ${marker}` }));
    const invited = await t.as(owner, { method: 'POST', url: `/api/v1/instances/${instanceId}/invites`, payload: { email: `${marker}@example.org` } });
    assert.equal(invited.statusCode, 201, invited.body);
    const room = await t.as(owner, { method: 'POST', url: `/api/v1/instances/${instanceId}/rooms`, payload: { name: `Plans ${marker}`, topic: `All about ${marker}` } });
    assert.equal(room.statusCode, 201, room.body);
    publicRoom = room.json<{ id: string }>().id;
    const secret = await t.as(owner, { method: 'POST', url: `/api/v1/instances/${instanceId}/rooms`, payload: { name: `Hidden ${marker}`, privacy: 'private' } });
    privateRoom = secret.json<{ id: string }>().id;
    await t.as(member, { method: 'POST', url: `/api/v1/rooms/${publicRoom}/join` });
    await post(t, member, publicRoom, `the ${marker} launch is on tuesday`);
    const draft = await post(t, owner, publicRoom, `draft ${marker} wording`);
    const edited = await t.as(owner, { method: 'PATCH', url: `/api/v1/rooms/${publicRoom}/messages/${draft.id}`, payload: { body: 'final wording' } });
    assert.equal(edited.statusCode, 200, edited.body);
    await post(t, owner, privateRoom, `private ${marker} numbers`);
    const direct = await t.as(owner, { method: 'POST', url: `/api/v1/instances/${instanceId}/direct`, payload: { accountId: member.accountId } });
    await post(t, owner, direct.json<{ id: string }>().id, `direct ${marker} message`);
    plaintexts.push(marker, owner.email, member.email, `${marker}@example.org`);
  });
  after(() => t.close());

  test('a dump of every table (and the SQLite file bytes) holds no name, topic, message, edit, email or invitee', async () => {
    assert.ok((await history(t, member, publicRoom)).some((body) => body.includes(marker)), 'the seeded content is there and opens');
    const dump = await dumpDatabase(t);
    assert.ok(dump.includes(publicRoom) && dump.includes(member.accountId), 'the dump is real');
    for (const text of plaintexts) assert.ok(!dump.includes(text), `"${text.slice(0, 12)}…" is in the dump`);
    assert.ok(!dump.toLowerCase().includes('plans') && !dump.includes('tuesday') && !dump.includes('wording'), 'no word of a name or message');
    if (engine === 'sqlite') {
      const bytes = await sqliteBytes(t);
      for (const text of plaintexts) assert.equal(bytes.indexOf(Buffer.from(text)), -1, `"${text.slice(0, 12)}…" is in the SQLite files`);
    }
  });

  test('a ciphertext altered, or moved to another row or field, does not open: a clear error, never the content', async () => {
    const db = t.ctx.database.db;
    const [first, second] = await db.selectFrom('messages').select(['id', 'body']).where('room_id', '=', publicRoom).orderBy('id').execute();
    assert.ok(first && second);
    const flip = (value: string, at: number): string => value.slice(0, at) + (value[at] === 'A' ? 'B' : 'A') + value.slice(at + 1);
    try {
      await db.updateTable('messages').set({ body: flip(first.body, first.body.length - 10) }).where('id', '=', first.id).execute();
      const altered = await t.as(member, { method: 'GET', url: `/api/v1/rooms/${publicRoom}/messages` });
      assert.equal(altered.statusCode, 500);
      assert.equal(altered.json().error.code, 'CONTENT_INTEGRITY_FAILED');
      assert.ok(!altered.body.includes('at ') && !altered.body.includes(marker), 'no stack, no content');

      await db.updateTable('messages').set({ body: first.body }).where('id', '=', second.id).execute();
      const moved = await t.as(member, { method: 'GET', url: `/api/v1/rooms/${publicRoom}/messages` });
      assert.equal(moved.json().error.code, 'CONTENT_INTEGRITY_FAILED', 'a body copied onto another message does not open');
    } finally {
      await db.updateTable('messages').set({ body: first.body }).where('id', '=', first.id).execute();
      await db.updateTable('messages').set({ body: second.body }).where('id', '=', second.id).execute();
    }
    const keys = await t.ctx.keyring.owner(publicRoom);
    assert.throws(
      () => keys.open('messages.body', second.id, first.body),
      (error: unknown) => error instanceof CiphertextError && error.message.includes('messages.body') && error.message.includes(second.id) && /moved from another record/.test(error.message),
    );
    assert.throws(() => keys.open('message_edits.body', first.id, first.body), CiphertextError, 'the same record but another field');
    const otherRoom = await t.ctx.keyring.owner(privateRoom);
    assert.throws(() => otherRoom.open('messages.body', first.id, first.body), CiphertextError, 'another room\'s key');
    assert.throws(() => keys.open('messages.body', first.id, 'plain text'), /is not ciphertext/);

    const rooms = await db.selectFrom('rooms').select(['id', 'name']).where('id', 'in', [publicRoom, privateRoom]).execute();
    const publicName = rooms.find((r) => r.id === publicRoom)?.name as string;
    const privateName = rooms.find((r) => r.id === privateRoom)?.name as string;
    try {
      await db.updateTable('rooms').set({ name: publicName }).where('id', '=', privateRoom).execute();
      const swapped = await t.as(owner, { method: 'GET', url: `/api/v1/rooms/${privateRoom}` });
      assert.equal(swapped.json().error.code, 'CONTENT_INTEGRITY_FAILED', 'a room name moved to another room does not open');
    } finally {
      await db.updateTable('rooms').set({ name: privateName }).where('id', '=', privateRoom).execute();
    }
    assert.equal((await t.as(owner, { method: 'GET', url: `/api/v1/rooms/${privateRoom}` })).json().name, `Hidden ${marker}`);
  });

  test('keys rotate: data keys re-wrapped under a new KEK, no message rewritten, old and new content read, before and after a restart', async () => {
    const db = t.ctx.database.db;
    const before = await db.selectFrom('messages').select(['id', 'body']).orderBy('id').execute();
    const result = await rotateInstanceKeys(t.ctx.keyring, db, instanceId, Date.now());
    assert.equal(result.kekVersion, 2);
    assert.deepEqual(result.retiredKekVersions, [1]);
    assert.ok(result.rewrapped >= 4, `re-wrapped ${result.rewrapped}`);
    assert.deepEqual(await db.selectFrom('messages').select(['id', 'body']).orderBy('id').execute(), before, 'no message was rewritten');
    const keks = await db.selectFrom('root_keys').select('version').where('instance_id', '=', instanceId).where('purpose', '=', 'kek').execute();
    assert.deepEqual(keks.map((k) => k.version), [2], 'the old KEK is destroyed');
    const dataKeys = await db.selectFrom('data_keys').select(['owner_id', 'version', 'kek_version']).where('instance_id', '=', instanceId).execute();
    assert.ok(dataKeys.every((k) => k.kek_version === 2));
    assert.ok(dataKeys.some((k) => k.owner_id === publicRoom && k.version === 2), 'new content gets a new data key');

    const fresh = await post(t, member, publicRoom, `after rotation ${marker}`);
    assert.match(await storedBody(t, fresh.id), /^cv1\.2\./, 'sealed under data key version 2');
    const bodies = await history(t, member, publicRoom);
    assert.ok(bodies.includes(`the ${marker} launch is on tuesday`) && bodies.includes(`after rotation ${marker}`));

    const restarted = await createTestApp(engine, {}, { dir: dirname(t.ctx.config.dataDir), pgSchema: t.pgSchema });
    try {
      // A key not cached yet, needed inside a transaction (an event's payload), is read through it.
      const inside = await restarted.ctx.database.db.transaction().execute((trx) => restarted.ctx.keyring.owner(privateRoom, [], trx));
      assert.equal(inside.ownerId, privateRoom);
      const again = await restarted.login(member.email, member.password);
      const reread = await history(restarted, again, publicRoom);
      assert.ok(reread.includes(`the ${marker} launch is on tuesday`) && reread.includes(`after rotation ${marker}`));
    } finally {
      await restarted.app.close();
      await restarted.ctx.close();
    }
  });

  test('keys rotate-master: every root key re-wrapped; the old key kept in retired/ no longer starts the server', async () => {
    const { keysDir } = t.ctx.config;
    const oldMaster = (await readKey(keysDir, 'master')) as Buffer;
    const result = await rotateMasterKey(t.ctx.keyring, t.ctx.database.db, { keepOld: true });
    assert.notEqual(result.newId, result.oldId);
    const retired = await readFile(result.retiredTo as string, 'utf8');
    assert.equal(Buffer.from(retired.trim(), 'base64').compare(oldMaster), 0, 'the old key is kept for older backups');
    assert.notEqual(((await readKey(keysDir, 'master')) as Buffer).compare(oldMaster), 0);
    const roots = await t.ctx.database.db.selectFrom('root_keys').select('master_id').execute();
    assert.ok(roots.length > 0 && roots.every((r) => r.master_id === result.newId));
    assert.ok((await history(t, member, publicRoom)).length > 0, 'the running server reads on');

    const wrongKeys = await mkdtemp(join(tmpdir(), 'conclave-oldkeys-'));
    try {
      await copyFile(keyPath(keysDir, 'pepper'), keyPath(wrongKeys, 'pepper'));
      await writeFile(keyPath(wrongKeys, 'master'), retired, { mode: 0o600 });
      const config = loadConfig({ ...t.env, CONCLAVE_KEYS_DIR: wrongKeys });
      await assert.rejects(
        createServices(config, { logger: createLogger('silent'), ...(t.pgSchema ? { pgSchema: t.pgSchema } : {}) }),
        (error: unknown) => error instanceof StartupError && /is not the master key this database's keys are wrapped with/.test(error.message),
      );
      await rm(keyPath(wrongKeys, 'master'));
      await assert.rejects(
        createServices(config, { logger: createLogger('silent'), ...(t.pgSchema ? { pgSchema: t.pgSchema } : {}) }),
        (error: unknown) => error instanceof StartupError && /is missing/.test(error.message) && /Restore the keys directory/.test(error.message),
      );
      await assert.rejects(readFile(keyPath(wrongKeys, 'master')), 'no new master key was made for a database that has one');
    } finally {
      await rm(wrongKeys, { recursive: true, force: true });
    }
  });

  test('doctor --scan: clean here; finds a value in clear, a leftover table and column, and legacy hashes', async () => {
    const db = t.ctx.database.db;
    const clean = await scanStorage(db, engine);
    assert.deepEqual(clean.map((f) => f.level), ['ok'], JSON.stringify(clean));
    const [message] = await db.selectFrom('messages').select(['id', 'body']).where('room_id', '=', publicRoom).limit(1).execute();
    assert.ok(message);
    const accountHash = (await db.selectFrom('accounts').select('password_hash').where('id', '=', member.accountId).executeTakeFirstOrThrow()).password_hash;
    try {
      await sql`create table legacy_passwords (email text, password text)`.execute(db);
      await sql`insert into legacy_passwords values ('old@example.org', 'hunter2')`.execute(db);
      await sql`alter table rooms add column old_name text`.execute(db);
      await db.updateTable('messages').set({ body: 'plaintext body qv' }).where('id', '=', message.id).execute();
      await db.updateTable('accounts').set({ password_hash: '$2b$12$abcdefghijklmnopqrstuu5Y0Q8w1Y8mN3H8v0aUq1w1m3jY4K7u' }).where('id', '=', member.accountId).execute();
      await db.updateTable('accounts').set({ password_hash: '$conclave-legacy$bcrypt$argon2id-of-a-bcrypt-hash' }).where('id', '=', owner.accountId).execute();
      const findings = await scanStorage(db, engine);
      const text = findings.map((f) => `${f.level} ${f.message}`).join('\n');
      assert.match(text, /fail Table legacy_passwords \(1 rows\) is not part of Conclave's schema/);
      assert.match(text, /fail Column rooms\.old_name is not part of Conclave's schema/);
      assert.match(text, new RegExp(`fail messages\\.body: 1 of \\d+ value\\(s\\) are not ciphertext \\(rows ${message.id}\\)`));
      assert.match(text, /warn 1 account\(s\) are still on a wrapped legacy hash/);
      assert.match(text, /fail 1 account\(s\) have a password hash that is not argon2id/);
      assert.ok(!text.includes('plaintext body qv') && !text.includes('hunter2'), 'the scan never prints a value');
    } finally {
      await sql`drop table if exists legacy_passwords`.execute(db);
      await sql`alter table rooms drop column old_name`.execute(db);
      await db.updateTable('messages').set({ body: message.body }).where('id', '=', message.id).execute();
      const ownerHash = (await db.selectFrom('accounts').select('password_hash').where('id', '=', member.accountId).executeTakeFirstOrThrow()).password_hash;
      await db.updateTable('accounts').set({ password_hash: accountHash }).where('id', '=', member.accountId).execute();
      if (ownerHash.startsWith('$2b$')) await db.updateTable('accounts').set({ password_hash: accountHash }).where('id', '=', owner.accountId).execute();
    }
  });

  test('values stored in clear by an older version are sealed at the next start, and still found, listed and logged in with', async () => {
    const db = t.ctx.database.db;
    const legacyRoom = await t.as(owner, { method: 'POST', url: `/api/v1/instances/${instanceId}/rooms`, payload: { name: `Archive ${marker}` } });
    const legacyRoomId = legacyRoom.json<{ id: string }>().id;
    const legacyMessage = await post(t, owner, legacyRoomId, 'placeholder');
    const oldEmail = newEmail('legacy');
    // What a 0.1 database held: names, topics, bodies and emails as typed; lookups by the normalized text.
    await db.updateTable('rooms').set({ name: `Archive ${marker}`, topic: 'old topic', name_key: `archive ${marker}` }).where('id', '=', legacyRoomId).execute();
    await db.deleteFrom('data_keys').where('owner_id', '=', legacyRoomId).execute();
    await db.updateTable('messages').set({ body: `legacy ${marker} minutes` }).where('id', '=', legacyMessage.id).execute();
    await deleteTerms(t.ctx.database, legacyMessage.id);
    await db.insertInto('message_edits').values({ message_id: legacyMessage.id, body: `older ${marker} minutes`, replaced_at: 1 }).execute();
    await db.updateTable('accounts').set({ email: oldEmail, email_key: oldEmail.toLowerCase(), display_name: `Old ${marker}` }).where('id', '=', member.accountId).execute();
    await db.updateTable('server_state').set({ plaintext_sealed_at: null }).execute();
    assert.ok((await scanStorage(db, engine)).some((f) => f.level === 'fail'), 'the scan sees the clear values');

    const restarted = await createTestApp(engine, {}, { dir: dirname(t.ctx.config.dataDir), pgSchema: t.pgSchema });
    try {
      assert.deepEqual((await scanStorage(restarted.ctx.database.db, engine)).map((f) => f.level), ['ok'], 'everything is sealed now');
      const dump = await dumpDatabase(restarted);
      assert.ok(!dump.includes(marker) && !dump.includes(oldEmail), 'nothing of the old values is left in clear');
      const person = await restarted.login(oldEmail.toUpperCase(), member.password);
      assert.equal(person.accountId, member.accountId, 'log-in by email works through the new blind index');
      assert.ok((await history(restarted, person, legacyRoomId)).includes(`legacy ${marker} minutes`));
      const room = await restarted.as(person, { method: 'GET', url: `/api/v1/rooms/${legacyRoomId}` });
      assert.equal(room.json().name, `Archive ${marker}`);
      const found = await restarted.as(person, { method: 'GET', url: `/api/v1/search?q=${encodeURIComponent(`minutes ${marker}`)}` });
      assert.deepEqual(found.json().results.map((r: { message: { id: string } }) => r.message.id), [legacyMessage.id], 'old messages are indexed for search');
      const taken = await restarted.as(owner, { method: 'POST', url: `/api/v1/instances/${instanceId}/rooms`, payload: { name: `ARCHIVE ${marker}` } });
      assert.equal(taken.json().error.code, 'ROOM_NAME_TAKEN', 'room-name uniqueness moved to the blind index');
    } finally {
      await restarted.app.close();
      await restarted.ctx.close();
    }
  });

  test('instance delete --shred: its keys destroyed and the master rotated; a backup from before opens nothing of it', async () => {
    const created = await t.as(owner, { method: 'POST', url: '/api/v1/instances', payload: { slug: `doomed-${engine}`, name: 'Doomed', signupMode: 'open' } });
    assert.equal(created.statusCode, 201, created.body);
    const doomed = created.json<{ id: string }>().id;
    const room = (await t.as(owner, { method: 'POST', url: `/api/v1/instances/${doomed}/rooms`, payload: { name: `Doomed ${marker}` } })).json<{ id: string }>().id;
    const message = await post(t, owner, room, `doomed ${marker} secret`);
    const db = t.ctx.database.db;
    const { keysDir } = t.ctx.config;
    // The backup: rows as they stand now (and, on SQLite, the whole database file).
    const backupRoots = await db.selectFrom('root_keys').selectAll().where('instance_id', '=', doomed).execute();
    const backupBody = await storedBody(t, message.id);
    const backupDir = await mkdtemp(join(tmpdir(), 'conclave-backup-'));
    if (engine === 'sqlite') {
      await sql`pragma wal_checkpoint(truncate)`.execute(db);
      await mkdir(join(backupDir, 'data'));
      await copyFile(join(t.ctx.config.dataDir, 'conclave.db'), join(backupDir, 'data', 'conclave.db'));
    }
    const oldMaster = (await readKey(keysDir, 'master')) as Buffer;
    const { deleteInstance } = await import('../instances/index.ts');
    try {
      const result = await deleteInstance(t.ctx, doomed, { shred: true });
      assert.equal(result.messages, 1);
      assert.equal(result.shredded?.rootKeys, 2, 'its KEK and index key');
      assert.ok((result.shredded?.dataKeys ?? 0) >= 2, 'the data keys of the instance and its room');
      assert.equal(result.shredded.master.retiredTo, undefined, 'the old master key is destroyed, not retired');
      for (const table of ['root_keys', 'data_keys', 'rooms'] as const) {
        assert.equal((await db.selectFrom(table).select('instance_id').where('instance_id', '=', doomed).execute()).length, 0, `${table} of the instance are gone`);
      }
      assert.equal(await db.selectFrom('messages').select('id').where('id', '=', message.id).executeTakeFirst(), undefined);
      // The backup's wrapped keys no longer open with anything the keys directory holds.
      const master = await readMasterKey({ keysDir, fromEnv: undefined }, { create: false });
      for (const row of backupRoots) assert.throws(() => master?.unwrap(row.id, row.wrapped), /does not open/);
      const everyKeyFile = async (dir: string): Promise<Buffer[]> =>
        (await Promise.all((await readdir(dir, { withFileTypes: true })).map(async (e) => (e.isDirectory() ? everyKeyFile(join(dir, e.name)) : [await readFile(join(dir, e.name))])))).flat();
      for (const file of await everyKeyFile(keysDir)) {
        assert.equal(file.indexOf(oldMaster.toString('base64')), -1, 'no copy of the old master key is left in the keys directory');
      }
      assert.ok(backupBody.startsWith('cv1.') && !backupBody.includes(marker));
      if (engine === 'sqlite') {
        const config = loadConfig({ ...t.env, CONCLAVE_DATA_DIR: join(backupDir, 'data') });
        await assert.rejects(createServices(config, { logger: createLogger('silent') }), (error: unknown) => error instanceof StartupError && /is not the master key/.test(error.message), 'the backup does not open');
      }
      // The rest of the server reads on under the new master key.
      assert.ok((await history(t, member, publicRoom)).includes(`the ${marker} launch is on tuesday`));
    } finally {
      await rm(backupDir, { recursive: true, force: true });
    }
  });
});

describeEachEngine('master key from the environment', (engine) => {
  test('CONCLAVE_MASTER_KEY is used instead of a file, and a wrong one is refused at start', async () => {
    const masterKey = randomBytes(32).toString('base64');
    const t = await createTestApp(engine, { CONCLAVE_MASTER_KEY: masterKey });
    try {
      const { owner, instanceId } = await t.setUp();
      const room = (await t.as(owner, { method: 'POST', url: `/api/v1/instances/${instanceId}/rooms`, payload: { name: 'Env' } })).json<{ id: string }>().id;
      await post(t, owner, room, 'sealed under a key from the environment');
      await assert.rejects(readFile(keyPath(t.ctx.config.keysDir, 'master')), 'no master.key file is written');
      const options = { logger: createLogger('silent'), ...(t.pgSchema ? { pgSchema: t.pgSchema } : {}) };
      await assert.rejects(
        createServices(loadConfig({ ...t.env, CONCLAVE_MASTER_KEY: randomBytes(32).toString('base64') }), options),
        (error: unknown) => error instanceof StartupError && /CONCLAVE_MASTER_KEY is not the master key/.test(error.message),
      );
      assert.throws(() => loadConfig({ ...t.env, CONCLAVE_MASTER_KEY: 'too-short' }), /CONCLAVE_MASTER_KEY is not the base64 of 32 bytes/);
      const again = await createServices(loadConfig(t.env), options);
      await again.close();
    } finally {
      await t.close();
    }
  });
});
