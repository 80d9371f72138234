import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Message, MyRoom, Room } from '@conclave/protocol';
import { closeTestPools, createTestApp, describeEachEngine, type Client, type TestApp } from '../testing/test-app.ts';

after(closeTestPools);

interface World {
  t: TestApp;
  owner: Client;
  instanceId: string;
  people: Client[];
}

const makeWorld = async (engine: 'sqlite' | 'postgres', env: Record<string, string> = {}, count = 3): Promise<World> => {
  const t = await createTestApp(engine, { MESSAGE_RATE_LIMIT: '1000/1m', ...env });
  const { owner, instanceId, instanceSlug } = await t.setUp();
  await t.as(owner, { method: 'PATCH', url: `/api/v1/instances/${instanceId}`, payload: { signupMode: 'open' } });
  const names = ['Ada Lovelace', 'Grace Hopper', 'Alan Turing', 'Edsger Dijkstra'];
  const people: Client[] = [];
  for (let i = 0; i < count; i += 1) people.push(await t.signUpAndLogIn(instanceSlug, { displayName: names[i] ?? `Person ${i}` }));
  return { t, owner, instanceId, people };
};

const createRoom = async (w: World, as: Client, payload: Record<string, unknown>): Promise<Room> => {
  const r = await w.t.as(as, { method: 'POST', url: `/api/v1/instances/${w.instanceId}/rooms`, payload });
  assert.equal(r.statusCode, 201, r.body);
  return r.json<Room>();
};

const post = async (w: World, as: Client, roomId: string, body: string): Promise<Message> => {
  const r = await w.t.as(as, { method: 'POST', url: `/api/v1/rooms/${roomId}/messages`, payload: { body } });
  assert.equal(r.statusCode, 201, r.body);
  return r.json<Message>();
};

const myRooms = async (w: World, as: Client): Promise<MyRoom[]> => (await w.t.as(as, { method: 'GET', url: `/api/v1/instances/${w.instanceId}/rooms` })).json<{ rooms: MyRoom[] }>().rooms;

describeEachEngine('rooms', (engine) => {
  let w: World;
  before(async () => {
    w = await makeWorld(engine);
  });
  after(() => w.t.close());

  test('create, list, rename, topic; names are unique per instance ignoring case', async () => {
    const [ada] = w.people as [Client];
    const room = await createRoom(w, ada, { name: 'General', topic: 'Anything goes' });
    assert.equal(room.privacy, 'public');
    assert.equal(room.memberCount, 1);
    const dup = await w.t.as(ada, { method: 'POST', url: `/api/v1/instances/${w.instanceId}/rooms`, payload: { name: 'GENERAL' } });
    assert.equal(dup.statusCode, 409);
    assert.equal(dup.json().error.code, 'ROOM_NAME_TAKEN');
    const renamed = await w.t.as(ada, { method: 'PATCH', url: `/api/v1/rooms/${room.id}`, payload: { name: 'General chat', topic: 'Be kind' } });
    assert.equal(renamed.statusCode, 200);
    assert.equal(renamed.json().topic, 'Be kind');
    const mine = await myRooms(w, ada);
    assert.deepEqual(mine.map((r) => [r.name, r.role]), [['General chat', 'owner']]);
    const directory = (await w.t.as(w.people[1] as Client, { method: 'GET', url: `/api/v1/instances/${w.instanceId}/rooms/directory` })).json<{ rooms: Room[] }>().rooms;
    assert.ok(directory.some((r) => r.id === room.id), 'public rooms are in the directory for everyone');
  });

  test('a private room you are not in answers exactly like a missing one, everywhere', async () => {
    const [ada, grace] = w.people as [Client, Client];
    const secret = await createRoom(w, ada, { name: 'Secret plans', privacy: 'private' });
    await post(w, ada, secret.id, 'the plan');
    const missing = '01900000-0000-7000-8000-000000000001';
    const probes: Array<[string, 'GET' | 'POST' | 'PATCH', unknown?]> = [
      ['', 'GET'],
      ['/messages', 'GET'],
      ['/messages', 'POST', { body: 'hi' }],
      ['/join', 'POST'],
      ['', 'PATCH', { topic: 'x' }],
    ];
    for (const [suffix, method, payload] of probes) {
      const hidden = await w.t.as(grace, { method, url: `/api/v1/rooms/${secret.id}${suffix}`, ...(payload ? { payload } : {}) });
      const absent = await w.t.as(grace, { method, url: `/api/v1/rooms/${missing}${suffix}`, ...(payload ? { payload } : {}) });
      assert.equal(hidden.statusCode, 404, `${method} ${suffix}`);
      assert.deepEqual({ ...hidden.json().error, requestId: 0 }, { ...absent.json().error, requestId: 0 }, `${method} ${suffix}`);
    }
    assert.ok(!(await w.t.as(grace, { method: 'GET', url: `/api/v1/instances/${w.instanceId}/rooms/directory` })).body.includes(secret.id));
    // A member adds Grace; now she reads it.
    assert.equal((await w.t.as(ada, { method: 'POST', url: `/api/v1/rooms/${secret.id}/members`, payload: { accountId: grace.accountId } })).statusCode, 204);
    const history = await w.t.as(grace, { method: 'GET', url: `/api/v1/rooms/${secret.id}/messages` });
    assert.equal(history.json().messages[0].body, 'the plan');
  });

  test('join, leave, remove; archived rooms are read-only', async () => {
    const [ada, grace, alan] = w.people as [Client, Client, Client];
    const room = await createRoom(w, ada, { name: 'Lounge' });
    assert.equal((await w.t.as(grace, { method: 'POST', url: `/api/v1/rooms/${room.id}/join` })).statusCode, 204);
    assert.equal((await w.t.as(alan, { method: 'POST', url: `/api/v1/rooms/${room.id}/messages`, payload: { body: 'hi' } })).json().error.code, 'NOT_ROOM_MEMBER');
    await w.t.as(alan, { method: 'POST', url: `/api/v1/rooms/${room.id}/join` });
    const kick = await w.t.as(grace, { method: 'DELETE', url: `/api/v1/rooms/${room.id}/members/${alan.accountId}` });
    assert.equal(kick.statusCode, 403, 'a plain member cannot remove others');
    assert.equal((await w.t.as(ada, { method: 'DELETE', url: `/api/v1/rooms/${room.id}/members/${alan.accountId}` })).statusCode, 204, 'the owner can');
    assert.equal((await w.t.as(grace, { method: 'POST', url: `/api/v1/rooms/${room.id}/leave` })).statusCode, 204);
    const after = await w.t.as(grace, { method: 'POST', url: `/api/v1/rooms/${room.id}/messages`, payload: { body: 'still here?' } });
    assert.equal(after.json().error.code, 'NOT_ROOM_MEMBER');

    assert.equal((await w.t.as(grace, { method: 'POST', url: `/api/v1/rooms/${room.id}/archive` })).statusCode, 403);
    const archived = await w.t.as(ada, { method: 'POST', url: `/api/v1/rooms/${room.id}/archive` });
    assert.equal(archived.json().archived, true);
    const refused = await w.t.as(ada, { method: 'POST', url: `/api/v1/rooms/${room.id}/messages`, payload: { body: 'x' } });
    assert.equal(refused.statusCode, 409);
    assert.equal(refused.json().error.code, 'ROOM_ARCHIVED');
    assert.equal((await w.t.as(w.owner, { method: 'POST', url: `/api/v1/rooms/${room.id}/unarchive` })).json().archived, false, 'an instance admin can unarchive');
    await post(w, ada, room.id, 'back');
  });

  test('direct chats: one per pair, only the two can read, fixed membership', async () => {
    const [ada, grace, alan] = w.people as [Client, Client, Client];
    const first = await w.t.as(ada, { method: 'POST', url: `/api/v1/instances/${w.instanceId}/direct`, payload: { accountId: grace.accountId } });
    assert.equal(first.statusCode, 201);
    const again = await w.t.as(grace, { method: 'POST', url: `/api/v1/instances/${w.instanceId}/direct`, payload: { accountId: ada.accountId } });
    assert.equal(again.statusCode, 200);
    const dm = first.json<Room>();
    assert.equal(again.json().id, dm.id);
    assert.equal(dm.kind, 'direct');
    assert.deepEqual([...(dm.directAccountIds ?? [])].sort(), [ada.accountId, grace.accountId].sort());
    const message = await post(w, grace, dm.id, 'psst');
    assert.equal((await w.t.as(alan, { method: 'GET', url: `/api/v1/rooms/${dm.id}/messages` })).statusCode, 404);
    assert.equal((await w.t.as(alan, { method: 'GET', url: `/api/v1/rooms/${dm.id}/messages/${message.id}` })).statusCode, 404);
    assert.equal((await w.t.as(ada, { method: 'POST', url: `/api/v1/rooms/${dm.id}/members`, payload: { accountId: alan.accountId } })).json().error.code, 'DIRECT_CHAT_FIXED');
    assert.equal((await w.t.as(ada, { method: 'POST', url: `/api/v1/rooms/${dm.id}/leave` })).json().error.code, 'DIRECT_CHAT_FIXED');
    assert.equal((await w.t.as(ada, { method: 'PATCH', url: `/api/v1/rooms/${dm.id}`, payload: { topic: 'x' } })).statusCode, 409);
    assert.equal((await w.t.as(ada, { method: 'POST', url: `/api/v1/instances/${w.instanceId}/direct`, payload: { accountId: ada.accountId } })).statusCode, 400);
    const stranger = await w.t.as(ada, { method: 'POST', url: `/api/v1/instances/${w.instanceId}/direct`, payload: { accountId: '01900000-0000-7000-8000-000000000002' } });
    assert.equal(stranger.json().error.code, 'ACCOUNT_NOT_FOUND');
    const unread = (await myRooms(w, ada)).find((r) => r.id === dm.id);
    assert.equal(unread?.unreadCount, 1);
  });
});

describeEachEngine('messages', (engine) => {
  let w: World;
  let roomId: string;
  before(async () => {
    w = await makeWorld(engine);
    const [ada, grace, alan] = w.people as [Client, Client, Client];
    roomId = (await createRoom(w, ada, { name: 'Work' })).id;
    for (const person of [grace, alan, w.owner]) await w.t.as(person, { method: 'POST', url: `/api/v1/rooms/${roomId}/join` });
  });
  after(() => w.t.close());

  test('edit by the author only, with an edited mark; delete leaves a tombstone', async () => {
    const [ada, grace] = w.people as [Client, Client];
    const message = await post(w, ada, roomId, 'first draft');
    assert.equal(message.editedAt, null);
    const notMine = await w.t.as(grace, { method: 'PATCH', url: `/api/v1/rooms/${roomId}/messages/${message.id}`, payload: { body: 'hijacked' } });
    assert.equal(notMine.statusCode, 403);
    assert.equal(notMine.json().error.code, 'NOT_MESSAGE_AUTHOR');
    const edited = await w.t.as(ada, { method: 'PATCH', url: `/api/v1/rooms/${roomId}/messages/${message.id}`, payload: { body: 'final' } });
    assert.equal(edited.json().body, 'final');
    assert.ok(edited.json().editedAt);
    const edits = await w.t.ctx.database.db.selectFrom('message_edits').selectAll().where('message_id', '=', message.id).execute();
    assert.equal(edits.length, 1);
    assert.ok(!edits[0]?.body.includes('first draft'), 'the edit history is stored sealed');
    const keys = await w.t.ctx.keyring.owner(roomId);
    assert.deepEqual(
      edits.map((e) => keys.open('message_edits.body', `${e.message_id}@${e.replaced_at}`, e.body)),
      ['first draft'],
      'the edit history keeps the earlier text',
    );

    assert.equal((await w.t.as(grace, { method: 'DELETE', url: `/api/v1/rooms/${roomId}/messages/${message.id}` })).statusCode, 403);
    const deleted = await w.t.as(ada, { method: 'DELETE', url: `/api/v1/rooms/${roomId}/messages/${message.id}` });
    assert.equal(deleted.statusCode, 200);
    assert.deepEqual([deleted.json().deleted, deleted.json().body], [true, '']);
    const inHistory = (await w.t.as(grace, { method: 'GET', url: `/api/v1/rooms/${roomId}/messages/${message.id}` })).json<Message>();
    assert.equal(inHistory.deleted, true);
    assert.equal(inHistory.body, '');
    assert.equal((await w.t.ctx.database.db.selectFrom('message_edits').selectAll().where('message_id', '=', message.id).execute()).length, 0, 'no words survive deletion');
    const editDeleted = await w.t.as(ada, { method: 'PATCH', url: `/api/v1/rooms/${roomId}/messages/${message.id}`, payload: { body: 'again' } });
    assert.equal(editDeleted.json().error.code, 'MESSAGE_DELETED');
    const byAdmin = await post(w, grace, roomId, 'spam');
    assert.equal((await w.t.as(w.owner, { method: 'DELETE', url: `/api/v1/rooms/${roomId}/messages/${byAdmin.id}` })).statusCode, 200, 'an instance admin deletes anyone\'s');
  });

  test('history pages by cursor, oldest first, at most 100 a page', async () => {
    const [ada] = w.people as [Client];
    const room = await createRoom(w, ada, { name: 'Paged' });
    const ids: string[] = [];
    for (let i = 0; i < 7; i += 1) ids.push((await post(w, ada, room.id, `m${i}`)).id);
    const page = (query: string) => w.t.as(ada, { method: 'GET', url: `/api/v1/rooms/${room.id}/messages${query}` }).then((r) => r.json<{ messages: Message[]; hasMore: boolean }>());
    const latest = await page('?limit=3');
    assert.deepEqual(latest.messages.map((m) => m.body), ['m4', 'm5', 'm6']);
    assert.equal(latest.hasMore, true);
    const older = await page(`?limit=3&before=${ids[4]}`);
    assert.deepEqual(older.messages.map((m) => m.body), ['m1', 'm2', 'm3']);
    const oldest = await page(`?limit=3&before=${ids[1]}`);
    assert.deepEqual([oldest.messages.map((m) => m.body), oldest.hasMore], [['m0'], false]);
    const newer = await page(`?limit=4&after=${ids[1]}`);
    assert.deepEqual([newer.messages.map((m) => m.body), newer.hasMore], [['m2', 'm3', 'm4', 'm5'], true]);
    assert.equal((await w.t.as(ada, { method: 'GET', url: `/api/v1/rooms/${room.id}/messages?limit=101` })).statusCode, 400);
  });

  test('mentions resolve @name, @all and @here to people; read markers drive unread and mention counts', async () => {
    const [ada, grace, alan] = w.people as [Client, Client, Client];
    const room = await createRoom(w, ada, { name: 'Mentions' });
    for (const person of [grace, alan]) await w.t.as(person, { method: 'POST', url: `/api/v1/rooms/${room.id}/join` });
    const named = await post(w, ada, room.id, 'hey @GraceHopper, and email me at x@example.org');
    assert.deepEqual(named.mentions, { accountIds: [grace.accountId], here: false, all: false });
    const everyone = await post(w, ada, room.id, '@all standup now');
    assert.deepEqual(everyone.mentions.accountIds, [grace.accountId, alan.accountId].sort());
    const here = await post(w, ada, room.id, '@here anyone?');
    assert.deepEqual(here.mentions, { accountIds: [], here: true, all: false }, 'nobody is online (no stream open)');

    let graceRoom = (await myRooms(w, grace)).find((r) => r.id === room.id);
    assert.deepEqual([graceRoom?.unreadCount, graceRoom?.mentionCount], [3, 2]);
    assert.equal((await w.t.as(grace, { method: 'POST', url: `/api/v1/rooms/${room.id}/read`, payload: { messageId: everyone.id } })).statusCode, 204);
    graceRoom = (await myRooms(w, grace)).find((r) => r.id === room.id);
    assert.deepEqual([graceRoom?.unreadCount, graceRoom?.mentionCount, graceRoom?.lastReadMessageId], [1, 0, everyone.id]);
    await w.t.as(grace, { method: 'POST', url: `/api/v1/rooms/${room.id}/read`, payload: { messageId: named.id } });
    assert.equal((await myRooms(w, grace)).find((r) => r.id === room.id)?.lastReadMessageId, everyone.id, 'the marker never moves back');
    assert.equal((await myRooms(w, ada)).find((r) => r.id === room.id)?.unreadCount, 0, 'your own messages are never unread');
  });

  test('reactions: add and remove, once per person and emoji', async () => {
    const [ada, grace] = w.people as [Client, Client];
    const message = await post(w, ada, roomId, 'react to me');
    const url = (emoji: string) => `/api/v1/rooms/${roomId}/messages/${message.id}/reactions/${encodeURIComponent(emoji)}`;
    assert.equal((await w.t.as(grace, { method: 'PUT', url: url('👍') })).statusCode, 204);
    assert.equal((await w.t.as(grace, { method: 'PUT', url: url('👍') })).statusCode, 204, 'idempotent');
    await w.t.as(ada, { method: 'PUT', url: url('👍') });
    await w.t.as(ada, { method: 'PUT', url: url(':tada:') });
    let read = (await w.t.as(ada, { method: 'GET', url: `/api/v1/rooms/${roomId}/messages/${message.id}` })).json<Message>();
    assert.deepEqual(read.reactions, [
      { emoji: '👍', accountIds: [grace.accountId, ada.accountId] },
      { emoji: ':tada:', accountIds: [ada.accountId] },
    ]);
    await w.t.as(grace, { method: 'DELETE', url: url('👍') });
    read = (await w.t.as(ada, { method: 'GET', url: `/api/v1/rooms/${roomId}/messages/${message.id}` })).json<Message>();
    assert.deepEqual(read.reactions.map((r) => [r.emoji, r.accountIds.length]), [['👍', 1], [':tada:', 1]]);
    assert.equal((await w.t.as(grace, { method: 'PUT', url: url('a b') })).statusCode, 400, 'no spaces in an emoji');
  });

  test('bad input: sizes, control characters, unknown ids, wrong rooms', async () => {
    const [ada] = w.people as [Client];
    const cases: Array<[string, 'POST' | 'PATCH' | 'GET', string, unknown, number, string]> = [
      ['room name of 101 characters', 'POST', `/api/v1/instances/${w.instanceId}/rooms`, { name: 'x'.repeat(101) }, 400, 'VALIDATION_FAILED'],
      ['empty room name', 'POST', `/api/v1/instances/${w.instanceId}/rooms`, { name: '' }, 400, 'VALIDATION_FAILED'],
      ['room name with a newline', 'POST', `/api/v1/instances/${w.instanceId}/rooms`, { name: 'a\nb' }, 400, 'VALIDATION_FAILED'],
      ['topic of 251 characters', 'POST', `/api/v1/instances/${w.instanceId}/rooms`, { name: 'ok', topic: 't'.repeat(251) }, 400, 'VALIDATION_FAILED'],
      ['unknown privacy', 'POST', `/api/v1/instances/${w.instanceId}/rooms`, { name: 'ok2', privacy: 'secret' }, 400, 'VALIDATION_FAILED'],
      ['body of 10,001 characters', 'POST', `/api/v1/rooms/${roomId}/messages`, { body: 'b'.repeat(10_001) }, 400, 'VALIDATION_FAILED'],
      ['empty body', 'POST', `/api/v1/rooms/${roomId}/messages`, { body: '' }, 400, 'VALIDATION_FAILED'],
      ['body with a NUL', 'POST', `/api/v1/rooms/${roomId}/messages`, { body: 'a\u0000b' }, 400, 'VALIDATION_FAILED'],
      ['body with an escape sequence', 'POST', `/api/v1/rooms/${roomId}/messages`, { body: '\u001b[2J' }, 400, 'VALIDATION_FAILED'],
      ['unknown room', 'POST', '/api/v1/rooms/01900000-0000-7000-8000-00000000000a/messages', { body: 'x' }, 404, 'ROOM_NOT_FOUND'],
      ['unknown message', 'PATCH', `/api/v1/rooms/${roomId}/messages/01900000-0000-7000-8000-00000000000b`, { body: 'x' }, 404, 'MESSAGE_NOT_FOUND'],
      ['read marker on an unknown message', 'POST', `/api/v1/rooms/${roomId}/read`, { messageId: '01900000-0000-7000-8000-00000000000c' }, 404, 'MESSAGE_NOT_FOUND'],
      ['history cursor that is not an id', 'GET', `/api/v1/rooms/${roomId}/messages?before=yesterday`, undefined, 400, 'VALIDATION_FAILED'],
      ['unknown query parameter', 'GET', `/api/v1/rooms/${roomId}/messages?sort=asc`, undefined, 400, 'VALIDATION_FAILED'],
    ];
    const other = await createRoom(w, ada, { name: 'Elsewhere' });
    const elsewhere = await post(w, ada, other.id, 'lives in another room');
    cases.push(['a message id from another room', 'GET', `/api/v1/rooms/${roomId}/messages/${elsewhere.id}`, undefined, 404, 'MESSAGE_NOT_FOUND']);
    const before = await w.t.ctx.database.db.selectFrom('messages').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const failures: string[] = [];
    for (const [name, method, url, payload, status, code] of cases) {
      const r = await w.t.as(ada, { method, url, ...(payload !== undefined ? { payload } : {}) });
      if (r.statusCode !== status || r.json().error?.code !== code) failures.push(`${name}: ${r.statusCode} ${r.json().error?.code}`);
    }
    assert.deepEqual(failures, []);
    const afterCount = await w.t.ctx.database.db.selectFrom('messages').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    assert.equal(Number(afterCount.n), Number(before.n), 'nothing written');
  });
});

describeEachEngine('flood control', (engine) => {
  test('the fourth message in a minute to one room is refused with Retry-After; other rooms are unaffected', async () => {
    const w = await makeWorld(engine, { MESSAGE_RATE_LIMIT: '3/1m' }, 1);
    try {
      const [ada] = w.people as [Client];
      const room = await createRoom(w, ada, { name: 'Busy' });
      const other = await createRoom(w, ada, { name: 'Quiet' });
      const statuses: number[] = [];
      let retryAfter: string | undefined;
      for (let i = 0; i < 4; i += 1) {
        const r = await w.t.as(ada, { method: 'POST', url: `/api/v1/rooms/${room.id}/messages`, payload: { body: `m${i}` } });
        statuses.push(r.statusCode);
        if (r.statusCode === 429) {
          assert.equal(r.json().error.code, 'MESSAGE_RATE_LIMITED');
          retryAfter = String(r.headers['retry-after']);
        }
      }
      assert.deepEqual(statuses, [201, 201, 201, 429]);
      assert.ok(Number(retryAfter) > 0);
      await post(w, ada, other.id, 'fine here');
    } finally {
      await w.t.close();
    }
  });
});
