import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { applyEvent, stateFromSnapshot, STREAM_CLOSE, type ChatEvent, type Message, type Room, type ServerFrame, type Snapshot } from '@conclave/protocol';
import { closeTestPools, createTestApp, describeEachEngine, type Client, type TestApp } from '../testing/test-app.ts';
import { isType, openStream, type StreamClient } from '../testing/stream-client.ts';

after(closeTestPools);

const ready = (stream: StreamClient) => stream.next<Extract<ServerFrame, { type: 'ready' }>>(isType('ready'));

describeEachEngine('realtime stream', (engine) => {
  let t: TestApp;
  let base: string;
  let owner: Client;
  let instanceId: string;
  let ada: Client;
  let grace: Client;
  let alan: Client;
  const streams: StreamClient[] = [];

  const stream = async (client: Client | undefined, options: { since?: number; origin?: string; cookie?: boolean } = {}) => {
    const s = await openStream(base, {
      ...(client && !options.cookie ? { token: client.token } : {}),
      ...(client && options.cookie ? { cookie: `conclave_session=${client.token}` } : {}),
      ...(options.origin ? { origin: options.origin } : {}),
      ...(options.since !== undefined ? { since: options.since } : {}),
    });
    streams.push(s);
    return s;
  };
  const createRoom = async (as: Client, payload: Record<string, unknown>) => (await t.as(as, { method: 'POST', url: `/api/v1/instances/${instanceId}/rooms`, payload })).json<Room>();
  const post = async (as: Client, roomId: string, body: string) => {
    const r = await t.as(as, { method: 'POST', url: `/api/v1/rooms/${roomId}/messages`, payload: { body } });
    assert.equal(r.statusCode, 201, r.body);
    return r.json<Message>();
  };

  before(async () => {
    t = await createTestApp(engine, { MESSAGE_RATE_LIMIT: '100000/1m', STREAM_AUTH_TIMEOUT: '300ms', STREAM_MAX_BUFFERED_BYTES: '16384' });
    let slug: string;
    ({ owner, instanceId, instanceSlug: slug } = await t.setUp());
    await t.as(owner, { method: 'PATCH', url: `/api/v1/instances/${instanceId}`, payload: { signupMode: 'open' } });
    ada = await t.signUpAndLogIn(slug, { displayName: 'Ada' });
    grace = await t.signUpAndLogIn(slug, { displayName: 'Grace' });
    alan = await t.signUpAndLogIn(slug, { displayName: 'Alan' });
    base = await t.listen();
  });
  after(async () => {
    for (const s of streams) s.close();
    await t.close();
  });

  test('a posted message reaches members\' sockets, and only after it is committed', async () => {
    const room = await createRoom(ada, { name: 'live' });
    await t.as(grace, { method: 'POST', url: `/api/v1/rooms/${room.id}/join` });
    const graceStream = await stream(grace);
    await ready(graceStream);
    const arriving = graceStream.next<Extract<ChatEvent, { type: 'message.created' }>>(isType('message.created', (f) => f['roomId'] === room.id));
    const posted = await post(ada, room.id, 'hello, live');
    const event = await arriving;
    assert.equal(event.message.id, posted.id);
    assert.equal(event.message.body, 'hello, live');
    assert.ok(event.seq > 0);
    // When the event arrives, the row is readable from another connection: it was committed first.
    const second = await post(ada, room.id, 'second');
    const secondEvent = await graceStream.next<Extract<ChatEvent, { type: 'message.created' }>>(isType('message.created', (f) => (f['message'] as Message).id === second.id));
    const row = await t.ctx.database.db.selectFrom('messages').select('id').where('id', '=', secondEvent.message.id).executeTakeFirst();
    assert.ok(row);
  });

  test('a private room\'s events never reach a non-member\'s socket', async () => {
    const alanStream = await stream(alan);
    await ready(alanStream);
    const secret = await createRoom(ada, { name: 'secret-live', privacy: 'private' });
    await post(ada, secret.id, 'not for Alan');
    const marker = await createRoom(ada, { name: 'public-marker' });
    await alanStream.next(isType('room.created', (f) => (f['room'] as Room).id === marker.id));
    assert.ok(!JSON.stringify(alanStream.frames).includes(secret.id), 'no frame mentions the private room');
  });

  test('authentication: bearer, cookie from our origin, an auth frame; refused: foreign origin, bad token, silence', async () => {
    const viaCookie = await stream(ada, { cookie: true, origin: t.ctx.config.publicUrl.origin });
    assert.equal((await ready(viaCookie)).accountId, ada.accountId);
    const foreign = await stream(ada, { cookie: true, origin: 'https://evil.example' });
    assert.equal((await foreign.closed).code, STREAM_CLOSE.policy, 'cross-site WebSocket hijacking is refused');
    const late = await stream(undefined);
    late.send({ type: 'auth', token: grace.token });
    assert.equal((await ready(late)).accountId, grace.accountId);
    const wrong = await stream(undefined);
    wrong.send({ type: 'auth', token: 'cnv_s_not-a-real-token-at-all-xxxxxxxxxxxxxxxxx' });
    assert.equal((await wrong.closed).code, STREAM_CLOSE.unauthenticated);
    const silent = await stream(undefined);
    const started = Date.now();
    assert.equal((await silent.closed).code, STREAM_CLOSE.authTimeout);
    assert.ok(Date.now() - started < 5_000);
  });

  test('malformed, unknown, binary and oversized frames get an error or a close; the node stays up', async () => {
    const s = await stream(ada);
    await ready(s);
    s.send('{not json');
    assert.equal((await s.next<Extract<ServerFrame, { type: 'error' }>>(isType('error'))).code, 'MALFORMED_FRAME');
    s.send({ type: 'teleport' });
    await s.next(isType('error', (f) => f['code'] === 'UNKNOWN_FRAME_TYPE'));
    s.send([1, 2]);
    s.send({ type: 'typing', roomId: '01900000-0000-7000-8000-000000000000' });
    await s.next(isType('error', (f) => f['code'] === 'ROOM_NOT_FOUND'));
    s.send({ type: 'ping' });
    await s.next(isType('pong'));
    s.socket.send(Buffer.from([1, 2, 3]), { binary: true });
    assert.equal((await s.closed).code, STREAM_CLOSE.unsupportedData);
    const big = await stream(ada);
    await ready(big);
    big.send({ type: 'ping', pad: 'x'.repeat(20_000) });
    assert.equal((await big.closed).code, STREAM_CLOSE.tooBig);
    assert.equal((await t.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
  });

  test('typing and presence reach the room and the instance', async () => {
    const room = await createRoom(ada, { name: 'typing-room' });
    await t.as(grace, { method: 'POST', url: `/api/v1/rooms/${room.id}/join` });
    const graceStream = await stream(grace);
    await ready(graceStream);
    const presenceOf = (accountId: string, status: string) =>
      isType('presence', (f) => (f['changes'] as Array<{ accountId: string; status: string }>).some((c) => c.accountId === accountId && c.status === status));
    graceStream.send({ type: 'presence.subscribe', accountIds: [owner.accountId] });
    await graceStream.next(presenceOf(owner.accountId, 'offline'));
    // The owner has no other socket open, so their presence is this socket's.
    await t.as(owner, { method: 'POST', url: `/api/v1/rooms/${room.id}/join` });
    const ownerStream = await stream(owner);
    await ready(ownerStream);
    await graceStream.next(presenceOf(owner.accountId, 'online'));
    ownerStream.send({ type: 'typing', roomId: room.id });
    await graceStream.next(isType('typing', (f) => f['accountId'] === owner.accountId && f['roomId'] === room.id));
    ownerStream.send({ type: 'presence', status: 'away' });
    await graceStream.next(presenceOf(owner.accountId, 'away'));
    // @here finds Grace online and not the owner, who is away.
    const here = await post(ada, room.id, '@here look');
    assert.deepEqual(here.mentions.accountIds, [grace.accountId]);
    const seen = graceStream.frames.length;
    ownerStream.close();
    await graceStream.next(presenceOf(owner.accountId, 'offline'), 5_000, seen);
    const presenceFrames = graceStream.frames.filter((f) => f.type === 'presence');
    assert.ok(presenceFrames.length <= 6, `presence arrives batched (${presenceFrames.length} frames)`);
    const about = new Set(presenceFrames.flatMap((f) => (f as unknown as { changes: Array<{ accountId: string }> }).changes.map((c) => c.accountId)));
    assert.deepEqual([...about], [owner.accountId], 'only the people subscribed to');
    graceStream.send({ type: 'presence.subscribe', accountIds: Array.from({ length: 501 }, (_, i) => `x${i}`) });
    await graceStream.next(isType('error', (f) => f['code'] === 'VALIDATION_FAILED'));
  });

  test('logging out closes that session\'s socket; a password change closes the account\'s others', async () => {
    const session = await t.login(alan.email, alan.password, 'bearer');
    const s = await stream(session);
    await ready(s);
    const started = Date.now();
    await t.as(session, { method: 'POST', url: '/api/v1/auth/logout' });
    await s.next(isType('session.revoked'));
    assert.equal((await s.closed).code, STREAM_CLOSE.sessionRevoked);
    assert.ok(Date.now() - started < 1_000, 'within a second');

    const other = await t.login(alan.email, alan.password, 'bearer');
    const otherStream = await stream(other);
    await ready(otherStream);
    const newPassword = `${alan.password}-2`;
    const change = await t.as(alan, { method: 'POST', url: '/api/v1/me/password', payload: { currentPassword: alan.password, newPassword } });
    assert.equal(change.statusCode, 200);
    assert.equal((await otherStream.closed).code, STREAM_CLOSE.sessionRevoked);
    alan = await t.login(alan.email, newPassword);
  });

  test('resume: a reconnecting client gets what it missed in order, or resync when it is too old', async () => {
    const room = await createRoom(ada, { name: 'resume-room' });
    await t.as(grace, { method: 'POST', url: `/api/v1/rooms/${room.id}/join` });
    const first = await stream(grace);
    const { seq } = await ready(first);
    first.close();
    await first.closed;
    const missed = [await post(ada, room.id, 'one'), await post(ada, room.id, 'two'), await post(ada, room.id, 'three')];
    const again = await stream(grace, { since: seq });
    const resumed = await ready(again);
    assert.equal(resumed.resumed, true);
    const replayed = again.frames.filter((f): f is Extract<ChatEvent, { type: 'message.created' }> => f.type === 'message.created' && f.roomId === room.id);
    assert.deepEqual(replayed.map((f) => f.message.id), missed.map((m) => m.id));
    const seqs = again.frames.flatMap((f) => ('seq' in f && f.type !== 'ready' ? [f.seq] : []));
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'in seq order');
    assert.ok(resumed.seq >= Math.max(...seqs));

    // A session whose access to the instance was revoked replays nothing of it.
    again.close();
    await again.closed;
    const hidden = await post(ada, room.id, 'after the revocation');
    const { bumpInstanceEpoch } = await import('../instances/index.ts');
    await bumpInstanceEpoch(t.ctx, instanceId);
    const revoked = await stream(grace, { since: resumed.seq });
    await ready(revoked);
    assert.ok(!JSON.stringify(revoked.frames).includes(hidden.id), 'no event of the instance is replayed to a revoked session');
    revoked.close();
    grace = await t.login(grace.email, grace.password);
    ada = await t.login(ada.email, ada.password);
    owner = await t.login(owner.email, owner.password);

    const future = await stream(grace, { since: resumed.seq + 1_000_000 });
    await future.next(isType('resync'));
    await t.ctx.database.db.deleteFrom('events').where('seq', '<=', resumed.seq).execute();
    const stale = await stream(grace, { since: 1 });
    await stale.next(isType('resync'));
    assert.equal((await ready(stale)).resumed, false);
  });

  test('a snapshot plus the events after it equals a fresh snapshot', async () => {
    const room = await createRoom(ada, { name: 'state-room' });
    await t.as(grace, { method: 'POST', url: `/api/v1/rooms/${room.id}/join` });
    const early = await post(ada, room.id, 'before the snapshot');
    const graceStream = await stream(grace);
    await ready(graceStream);
    const snapshot = (await t.as(grace, { method: 'GET', url: '/api/v1/snapshot' })).json<Snapshot>();
    let state = stateFromSnapshot(grace.accountId, snapshot);

    // Everything that can happen, by several people.
    const m1 = await post(ada, room.id, 'hi @Grace');
    const m2 = await post(owner, room.id, 'I joined by posting?').catch(() => undefined);
    void m2;
    await t.as(owner, { method: 'POST', url: `/api/v1/rooms/${room.id}/join` });
    const m3 = await post(owner, room.id, 'now I am in');
    await t.as(ada, { method: 'PATCH', url: `/api/v1/rooms/${room.id}/messages/${m1.id}`, payload: { body: 'hi @Grace (edited)' } });
    await t.as(ada, { method: 'DELETE', url: `/api/v1/rooms/${room.id}/messages/${early.id}` });
    await t.as(grace, { method: 'PUT', url: `/api/v1/rooms/${room.id}/messages/${m3.id}/reactions/%F0%9F%8E%89` });
    await t.as(ada, { method: 'PUT', url: `/api/v1/rooms/${room.id}/messages/${m3.id}/reactions/%F0%9F%8E%89` });
    await t.as(ada, { method: 'DELETE', url: `/api/v1/rooms/${room.id}/messages/${m3.id}/reactions/%F0%9F%8E%89` });
    await t.as(ada, { method: 'PATCH', url: `/api/v1/rooms/${room.id}`, payload: { topic: 'new topic' } });
    await t.as(grace, { method: 'POST', url: `/api/v1/rooms/${room.id}/read`, payload: { messageId: m1.id } });
    const privateRoom = await createRoom(ada, { name: 'state-private', privacy: 'private' });
    await t.as(ada, { method: 'POST', url: `/api/v1/rooms/${privateRoom.id}/members`, payload: { accountId: grace.accountId } });
    await post(ada, privateRoom.id, 'welcome in');
    const dm = (await t.as(owner, { method: 'POST', url: `/api/v1/instances/${instanceId}/direct`, payload: { accountId: grace.accountId } })).json<Room>();
    const last = await post(owner, dm.id, 'a word in private');

    await graceStream.next(isType('message.created', (f) => (f['message'] as Message).id === last.id));
    for (const frame of graceStream.frames) if ('seq' in frame && frame.type !== 'ready') state = applyEvent(state, frame as ChatEvent);

    const fresh = stateFromSnapshot(grace.accountId, (await t.as(grace, { method: 'GET', url: '/api/v1/snapshot' })).json<Snapshot>());
    const comparable = (s: typeof state) => ({ rooms: s.rooms, messages: Object.fromEntries(Object.entries(s.messages).map(([id, page]) => [id, page.messages])) });
    assert.deepEqual(comparable(state), comparable(fresh));
    assert.ok(Object.keys(state.rooms).length >= 3);
  });

  test('a socket that stops reading is dropped as a slow consumer, not buffered without bound', async () => {
    const room = await createRoom(ada, { name: 'firehose' });
    await t.as(grace, { method: 'POST', url: `/api/v1/rooms/${room.id}/join` });
    const slow = await stream(grace);
    await ready(slow);
    const raw = (slow.socket as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    raw.pause();
    const dropped = t.app.gateway.stats.slowConsumersDropped;
    const body = 'x'.repeat(9_000);
    // Kernel buffers absorb a few MB first (the server's send buffer autotunes up to 4 MB here).
    let posts = 0;
    while (t.app.gateway.stats.slowConsumersDropped === dropped && posts < 3_000) {
      await Promise.all([post(ada, room.id, body), post(ada, room.id, body), post(ada, room.id, body), post(ada, room.id, body)]);
      posts += 4;
    }
    assert.equal(t.app.gateway.stats.slowConsumersDropped, dropped + 1, `dropped after ${posts} posts of 9 kB`);
    raw.resume();
    assert.equal((await slow.closed).code, STREAM_CLOSE.slowConsumer);
  });
});
