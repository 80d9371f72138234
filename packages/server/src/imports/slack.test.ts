import assert from 'node:assert/strict';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { after, before, test } from 'node:test';
import type { Message, MyRoom, Room } from '@conclave/protocol';
import { PNG } from 'pngjs';
import yazl from 'yazl';
import { AppError } from '../errors.ts';
import { runCli } from '../testing/cli-process.ts';
import { closeTestPools, createTestApp, describeEachEngine, newEmail, type Client, type TestApp } from '../testing/test-app.ts';
import { DEFAULT_ARCHIVE_LIMITS, convertMrkdwn, importSlack } from './index.ts';

after(closeTestPools);

const makeZip = async (path: string, members: Record<string, Buffer | string | unknown>): Promise<string> => {
  const zip = new yazl.ZipFile();
  for (const [name, value] of Object.entries(members)) {
    zip.addBuffer(Buffer.isBuffer(value) ? value : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)), name);
  }
  zip.end();
  await pipeline(zip.outputStream, createWriteStream(path));
  return path;
};

const png = (): Buffer => {
  const image = new PNG({ width: 40, height: 30 });
  image.data.fill(180);
  return PNG.sync.write(image);
};

const ts = (seconds: number) => `${1_704_100_000 + seconds}.000100`;

test('mrkdwn: mentions, channel links, labelled links, specials, entities', () => {
  const text = convertMrkdwn('Hi <@U1> and <@U9|ghost>, see <#C1|general> <#C7>; <https://x.org|the site>, <https://y.org>, <mailto:a@b.org|a@b.org>, <!here> &lt;b&gt; &amp;', {
    userMention: (id) => (id === 'U1' ? 'adalovelace' : undefined),
    channelName: (id) => (id === 'C7' ? 'random' : undefined),
  });
  assert.equal(text, 'Hi @adalovelace and @ghost, see #general #random; the site (https://x.org), https://y.org, a@b.org, @here <b> &');
});

describeEachEngine('import from Slack', (engine) => {
  let t: TestApp;
  let owner: Client;
  let instanceId: string;
  let dir: string;
  let existingEmail: string;
  let instanceSlug: string;

  before(async () => {
    t = await createTestApp(engine);
    const setup = await t.setUp();
    owner = setup.owner;
    instanceId = setup.instanceId;
    instanceSlug = setup.instanceSlug;
    existingEmail = owner.email;
    dir = await mkdtemp(join(tmpdir(), 'conclave-slack-'));
  });
  after(() => t.close());

  const exportMembers = (bobEmail: string) => ({
    'users.json': [
      { id: 'U1', name: 'ada', profile: { email: existingEmail, real_name: 'Ada Slack' } },
      { id: 'U2', name: 'bob', real_name: 'Bob Smith', profile: { email: bobEmail, real_name: 'Bob Smith' } },
      { id: 'B1', name: 'deploybot', is_bot: true, profile: {} },
      { id: 'U3', name: 'ghost', profile: { real_name: 'No Email' } },
    ],
    'channels.json': [
      { id: 'C1', name: 'general', created: 1_704_000_000, creator: 'U1', topic: { value: 'Daily chatter' }, purpose: { value: 'Company-wide' }, members: ['U1', 'U2'] },
      { id: 'C2', name: 'random', created: 1_704_000_000, creator: 'U2', topic: { value: '' }, purpose: { value: 'Off topic' }, members: ['U2'] },
    ],
    'general/2024-01-01.json': [
      { type: 'message', user: 'U1', ts: ts(0), thread_ts: ts(0), text: 'Hello <@U2>, see <#C2|random> and <https://example.org|the site> &amp; more', reactions: [{ name: 'thumbsup', users: ['U2', 'U1'], count: 2 }] },
      { type: 'message', subtype: 'channel_join', user: 'U2', ts: ts(5), text: '<@U2> has joined the channel' },
      { type: 'message', user: 'U2', ts: ts(60), thread_ts: ts(0), text: 'A reply in the thread' },
      { type: 'message', user: 'U1', ts: ts(30), text: 'A message between' },
      { type: 'message', user: 'U3', ts: ts(40), text: 'from someone without an email' },
      { type: 'message', subtype: 'file_share', user: 'U2', ts: ts(70), text: 'a picture', files: [{ id: 'F1', name: 'pic.png', mimetype: 'image/png' }] },
      { type: 'message', user: 'U2', ts: ts(80), text: 'a file that is not here', files: [{ id: 'F2', name: 'gone.pdf' }] },
    ],
    'general/2024-01-02.json': [{ type: 'message', user: 'U2', ts: ts(86_400), text: 'Next day' }],
    'random/2024-01-01.json': [{ type: 'message', user: 'U2', ts: ts(10), text: 'Random thought' }],
    '__uploads/F1/pic.png': png(),
  });

  const history = async (roomId: string): Promise<Message[]> => {
    const r = await t.as(owner, { method: 'GET', url: `/api/v1/rooms/${roomId}/messages?limit=100` });
    assert.equal(r.statusCode, 200, r.body);
    return r.json<{ messages: Message[] }>().messages;
  };

  test('an export built from the documented format: people, channels, threads, mentions, reactions, files; twice, nothing duplicated', async () => {
    const bobEmail = newEmail('bob');
    const file = await makeZip(join(dir, 'export.zip'), exportMembers(bobEmail));
    const first = await importSlack(t.ctx, { file, instanceId });
    assert.deepEqual(first.people, { created: 1, matched: 1, earlier: 0 });
    assert.deepEqual(first.channels, { created: 2, earlier: 0 });
    assert.deepEqual(first.messages, { created: 7, earlier: 0 });
    assert.equal(first.files.created, 1);
    assert.equal(first.reactions, 2);
    assert.deepEqual(first.skipped, {
      bot: 1,
      'person without an email': 1,
      'event, not a message (channel_join)': 1,
      'author not imported (a bot, or a person without an email)': 1,
      'file not in the export': 1,
    });

    const rooms = (await t.as(owner, { method: 'GET', url: `/api/v1/instances/${instanceId}/rooms` })).json<{ rooms: MyRoom[] }>().rooms;
    const general = rooms.find((r) => r.name === 'general') as Room;
    assert.ok(general, 'the channel is a room the matched person is in');
    assert.equal(general.topic, 'Daily chatter — Company-wide');
    const messages = await history(general.id);
    assert.deepEqual(
      messages.map((m) => m.body),
      ['Hello @bobsmith, see #random and the site (https://example.org) & more', 'A message between', '↳ A reply in the thread', 'a picture', 'a file that is not here', 'Next day'],
    );
    const bob = await t.ctx.database.db.selectFrom('accounts').select(['id', 'reset_required_at']).where('email_key', '=', t.ctx.keyring.emailIndex(bobEmail)).executeTakeFirstOrThrow();
    assert.notEqual(bob.reset_required_at, null, 'a created person must reset their password');
    const [hello, , reply, picture] = messages as [Message, Message, Message, Message];
    assert.deepEqual(hello.mentions.accountIds, [bob.id]);
    assert.equal(hello.authorId, owner.accountId, 'matched by email to the existing account');
    assert.equal(reply.authorId, bob.id);
    assert.deepEqual(hello.reactions.map((r) => r.emoji), [':thumbsup:']);
    assert.deepEqual([...(hello.reactions[0]?.accountIds ?? [])].sort(), [bob.id, owner.accountId].sort());
    assert.equal(hello.createdAt, new Date(1_704_100_000_000).toISOString(), 'messages keep their Slack times');
    const [attachment] = picture.attachments;
    assert.equal(attachment?.contentType, 'image/png');
    const got = await t.as(owner, { method: 'GET', url: `/api/v1/rooms/${general.id}/files/${attachment?.id}` });
    assert.equal(got.statusCode, 200);
    assert.ok(got.rawPayload.equals(png()));

    const counts = async () => ({
      accounts: Number((await t.ctx.database.db.selectFrom('accounts').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n),
      rooms: Number((await t.ctx.database.db.selectFrom('rooms').select((eb) => eb.fn.countAll().as('n')).where('instance_id', '=', instanceId).executeTakeFirstOrThrow()).n),
      files: Number((await t.ctx.database.db.selectFrom('files').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n),
      reactions: Number((await t.ctx.database.db.selectFrom('reactions').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n),
    });
    const before = await counts();
    const second = await importSlack(t.ctx, { file, instanceId });
    assert.deepEqual(second.people, { created: 0, matched: 0, earlier: 2 });
    assert.deepEqual(second.channels, { created: 0, earlier: 2 });
    assert.deepEqual(second.messages, { created: 0, earlier: 7 });
    assert.equal(second.files.created, 0);
    assert.deepEqual(await counts(), before, 'the second run created nothing');
    assert.equal((await history(general.id)).length, messages.length);
  });

  test('a malicious archive is refused whole, before anything is written: path traversal, a zip bomb, an oversized member, not a zip', async () => {
    const mappings = async () => Number((await t.ctx.database.db.selectFrom('import_mappings').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    const before = await mappings();
    const base = exportMembers(newEmail('mallory'));

    // yazl will not write "..": write "xx" and change those bytes (local header and central directory alike).
    const traversal = await makeZip(join(dir, 'traversal.zip'), { ...base, 'xx/evil.json': '[]' });
    const bytes = await readFile(traversal);
    await writeFile(traversal, Buffer.from(bytes.toString('latin1').replaceAll('xx/evil.json', '../evil.json'), 'latin1'));
    const bomb = await makeZip(join(dir, 'bomb.zip'), { ...base, 'general/2024-01-03.json': Buffer.alloc(20 * 1024 * 1024, 0x20) });
    const oversized = await makeZip(join(dir, 'oversized.zip'), { ...base, 'users.json': JSON.stringify(base['users.json']).padEnd(5000, ' ') });
    const notZip = join(dir, 'not.zip');
    await writeFile(notZip, 'PK but not really');

    for (const [file, limits, expected] of [
      [traversal, DEFAULT_ARCHIVE_LIMITS, /outside the archive|unsafe/],
      [bomb, DEFAULT_ARCHIVE_LIMITS, /zip bomb/],
      [oversized, { ...DEFAULT_ARCHIVE_LIMITS, maxJsonBytes: 4096 }, /larger than 4,096 bytes/],
      [notZip, DEFAULT_ARCHIVE_LIMITS, /not a readable zip/],
    ] as const) {
      await assert.rejects(importSlack(t.ctx, { file, instanceId, limits }), (error: unknown) => {
        assert.ok(error instanceof AppError, String(error));
        assert.equal(error.code, 'IMPORT_ARCHIVE_INVALID');
        assert.match(error.message, expected);
        assert.match(error.message, /Nothing was imported/);
        return true;
      });
    }
    assert.equal(await mappings(), before, 'nothing was written');
  });

  test('the CLI: import slack prints its summary (a rerun adds nothing), instance file-limit sets an instance\'s limit', async (context) => {
    // The CLI opens the test app's own database only on SQLite (on PostgreSQL the app has a schema of its own).
    if (engine !== 'sqlite') return context.skip('SQLite only');
    const file = await makeZip(join(dir, 'cli.zip'), exportMembers(newEmail('carol')));
    const env = { CONCLAVE_DATA_DIR: t.env['CONCLAVE_DATA_DIR'] as string, CONCLAVE_KEYS_DIR: t.env['CONCLAVE_KEYS_DIR'] as string, CONCLAVE_AUDIT_WITNESS: t.env['CONCLAVE_AUDIT_WITNESS'] as string };
    const run = await runCli(['import', 'slack', '--file', file, '--instance', instanceSlug], env);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`Imported .* into ${instanceSlug}:`));
    assert.match(run.stdout, /channels: 0 created, 2 from an earlier run/);
    assert.match(run.stdout, /messages: 0 created, 7 from an earlier run/);
    const bad = await runCli(['import', 'slack', '--file', join(dir, 'missing.zip'), '--instance', instanceSlug], env);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /IMPORT_ARCHIVE_INVALID/);
    const limit = await runCli(['instance', 'file-limit', instanceSlug, '2048'], env);
    assert.equal(limit.code, 0, limit.stderr);
    const row = await t.ctx.database.db.selectFrom('instances').select('file_max_bytes').where('id', '=', instanceId).executeTakeFirstOrThrow();
    assert.equal(Number(row.file_max_bytes), 2048);
    assert.equal((await runCli(['instance', 'file-limit', instanceSlug, 'lots'], env)).code, 1);
    assert.equal((await runCli(['instance', 'file-limit', instanceSlug, 'default'], env)).code, 0);
  });
});
