import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { STREAM_CLOSE, type SessionListing } from '@conclave/protocol';
import { dumpDatabase } from '../testing/dump.ts';
import { isType, openStream, type StreamClient } from '../testing/stream-client.ts';
import { closeTestPools, createTestApp, describeEachEngine, newPassword, type Client, type TestApp } from '../testing/test-app.ts';
import { summarizeUserAgent } from './session.device.ts';

after(closeTestPools);

const FIREFOX_LINUX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0 sessions-test-ua';
const SAFARI_IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
const MISSING_ID = '01900000-0000-7000-8000-000000000000';

test('user agents are summarized for people', () => {
  assert.equal(summarizeUserAgent(FIREFOX_LINUX), 'Firefox on Linux');
  assert.equal(summarizeUserAgent(SAFARI_IPHONE), 'Safari on iPhone');
  assert.equal(summarizeUserAgent('Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0'), 'Edge on Windows');
  assert.equal(summarizeUserAgent('Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36'), 'Chrome on macOS');
  assert.equal(summarizeUserAgent('Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36'), 'Chrome on Android');
  assert.equal(summarizeUserAgent('curl/8.5.0'), 'curl');
  assert.equal(summarizeUserAgent(''), 'Unknown device');
  assert.equal(summarizeUserAgent(null), 'Unknown device');
  assert.equal(summarizeUserAgent('something/1.0'), 'Unknown device');
});

describeEachEngine('sessions people can inspect and end', (engine) => {
  let t: TestApp;
  let base: string;
  let owner: Client;
  let instanceId: string;
  let instanceSlug: string;
  const streams: StreamClient[] = [];

  /** Logs in with a user agent and from an address, as a bearer client. */
  const loginFrom = async (person: { email: string; password: string }, userAgent: string, address: string): Promise<Client> => {
    const response = await t.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: person.email, password: person.password, mode: 'bearer' },
      headers: { 'user-agent': userAgent },
      remoteAddress: address,
    });
    assert.equal(response.statusCode, 200, response.body);
    const body = response.json<{ account: { id: string }; token: string }>();
    return { email: person.email, password: person.password, accountId: body.account.id, token: body.token, csrfToken: '', via: 'bearer' };
  };
  const listSessions = async (client: Client): Promise<SessionListing[]> => {
    const response = await t.as(client, { method: 'GET', url: '/api/v1/me/sessions' });
    assert.equal(response.statusCode, 200, response.body);
    return response.json<{ sessions: SessionListing[] }>().sessions;
  };
  const works = async (client: Client, url = '/api/v1/me'): Promise<number> => (await t.as(client, { method: 'GET', url })).statusCode;
  const stream = async (client: Client): Promise<StreamClient> => {
    const s = await openStream(base, { token: client.token });
    streams.push(s);
    await s.next(isType('ready'));
    return s;
  };
  /** Resolves when the socket closes as revoked; fails if that takes a second or more. */
  const closesWithinASecond = async (s: StreamClient, started: number): Promise<void> => {
    let timer: NodeJS.Timeout | undefined;
    const closed = await Promise.race([s.closed, new Promise<{ code: number }>((resolve) => (timer = setTimeout(() => resolve({ code: -1 }), 2_000)))]);
    clearTimeout(timer);
    assert.equal(closed.code, STREAM_CLOSE.sessionRevoked, 'the socket closed as revoked');
    assert.ok(Date.now() - started < 1_000, `closed after ${Date.now() - started} ms`);
  };
  const newMember = async (): Promise<Client> => {
    const invite = await t.as(owner, { method: 'POST', url: `/api/v1/instances/${instanceId}/invites`, payload: {} });
    return t.signUpAndLogIn(instanceSlug, { inviteToken: invite.json<{ token: string }>().token });
  };
  const auditActions = async (actorId: string): Promise<string[]> =>
    (await t.ctx.database.db.selectFrom('audit_entries').select('action').where('actor_id', '=', actorId).orderBy('seq').execute()).map((r) => r.action);

  before(async () => {
    t = await createTestApp(engine);
    ({ owner, instanceId, instanceSlug } = await t.setUp());
    base = await t.listen();
  });
  after(async () => {
    for (const s of streams) s.close();
    await t.close();
  });

  test('the list shows each session\'s device, address, times and which one is current; none of it is stored in clear', async () => {
    const person = await newMember();
    const laptop = await loginFrom(person, FIREFOX_LINUX, '203.0.113.77');
    const phone = await loginFrom(person, SAFARI_IPHONE, '198.51.100.23');
    const sessions = await listSessions(laptop);
    const mine = sessions.find((s) => s.current);
    assert.ok(mine, 'the current session is flagged');
    assert.equal(sessions.filter((s) => s.current).length, 1);
    assert.equal(mine.device, 'Firefox on Linux');
    assert.equal(mine.userAgent, FIREFOX_LINUX);
    assert.equal(mine.address, '203.0.113.77');
    const other = sessions.find((s) => s.address === '198.51.100.23');
    assert.ok(other);
    assert.equal(other.device, 'Safari on iPhone');
    assert.equal(other.current, false);
    assert.ok(Date.parse(mine.lastSeenAt) >= Date.parse(mine.createdAt));
    assert.ok(Date.parse(mine.expiresAt) > Date.now());
    assert.equal(sessions[0]?.id, (await listSessions(phone)).find((s) => s.current)?.id, 'newest first');
    // Someone else's sessions never appear.
    assert.ok(!(await listSessions(owner)).some((s) => s.address === '203.0.113.77'));

    const dump = await dumpDatabase(t);
    for (const secret of ['203.0.113.77', '198.51.100.23', 'sessions-test-ua', 'Firefox/128', 'iPhone OS 17_5']) {
      assert.ok(!dump.includes(secret), `the database holds ${secret} in clear`);
    }
    const row = await t.ctx.database.db.selectFrom('sessions').select(['ip', 'user_agent']).where('id', '=', mine.id).executeTakeFirstOrThrow();
    assert.match(row.ip ?? '', /^cv1\./);
    assert.match(row.user_agent ?? '', /^cv1\./);
  });

  test('ending one session: it stops working and its socket closes within a second; another person\'s session id answers like a missing one', async () => {
    const person = await newMember();
    const laptop = await loginFrom(person, FIREFOX_LINUX, '203.0.113.5');
    const phone = await loginFrom(person, SAFARI_IPHONE, '203.0.113.6');
    const phoneId = (await listSessions(phone)).find((s) => s.current)?.id;
    assert.ok(phoneId);
    const phoneStream = await stream(phone);

    // The owner cannot end this person's session by its id: 404, exactly like an id that does not exist.
    const foreign = await t.as(owner, { method: 'DELETE', url: `/api/v1/me/sessions/${phoneId}` });
    const missing = await t.as(owner, { method: 'DELETE', url: `/api/v1/me/sessions/${MISSING_ID}` });
    assert.equal(foreign.statusCode, 404);
    assert.equal(foreign.json().error.code, 'SESSION_NOT_FOUND');
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().error.code, foreign.json().error.code);
    assert.equal(missing.json().error.message, foreign.json().error.message);
    assert.equal(await works(phone), 200, 'the session survived the attempt');
    const malformed = await t.as(laptop, { method: 'DELETE', url: '/api/v1/me/sessions/not-an-id' });
    assert.equal(malformed.statusCode, 400);
    assert.equal(malformed.json().error.code, 'VALIDATION_FAILED');

    const started = Date.now();
    const ended = await t.as(laptop, { method: 'DELETE', url: `/api/v1/me/sessions/${phoneId}` });
    assert.equal(ended.statusCode, 204, ended.body);
    await closesWithinASecond(phoneStream, started);
    assert.equal(await works(phone), 401);
    assert.equal(await works(laptop), 200);
    assert.ok(!(await listSessions(laptop)).some((s) => s.id === phoneId));
    const again = await t.as(laptop, { method: 'DELETE', url: `/api/v1/me/sessions/${phoneId}` });
    assert.equal(again.statusCode, 404);
    assert.ok((await auditActions(person.accountId)).includes('session.end'));
  });

  test('ending all other sessions keeps this one and closes the others\' sockets', async () => {
    const person = await newMember();
    const keep = await loginFrom(person, FIREFOX_LINUX, '203.0.113.8');
    const others = [await loginFrom(person, SAFARI_IPHONE, '203.0.113.9'), await t.login(person.email, person.password)];
    const otherStream = await stream(others[0]!);
    const started = Date.now();
    const response = await t.as(keep, { method: 'POST', url: '/api/v1/me/sessions/end-others' });
    assert.equal(response.statusCode, 200, response.body);
    // newMember's own log-in session is among the others too.
    assert.equal(response.json<{ ended: number }>().ended, 3);
    await closesWithinASecond(otherStream, started);
    for (const other of others) assert.equal(await works(other), 401);
    assert.equal(await works(keep), 200);
    assert.deepEqual((await listSessions(keep)).map((s) => s.current), [true]);
    assert.ok((await auditActions(person.accountId)).includes('session.end_others'));
  });

  test('ending your own current session by id logs you out, cookie included', async () => {
    const person = await newMember();
    const current = (await listSessions(person)).find((s) => s.current);
    assert.ok(current);
    const response = await t.as(person, { method: 'DELETE', url: `/api/v1/me/sessions/${current.id}` });
    assert.equal(response.statusCode, 204);
    assert.ok(response.cookies.some((c) => c.name === 'conclave_session' && c.value === ''), 'the cookie is cleared');
    assert.equal(await works(person), 401);
  });

  test('instance admins end a member\'s access to their instance only; members and other instances\' admins cannot', async () => {
    // A second instance, where the target is a member too and an outsider is an admin.
    const other = await t.as(owner, { method: 'POST', url: '/api/v1/instances', payload: { slug: `other-${engine}`, name: 'Other', signupMode: 'open' } });
    assert.equal(other.statusCode, 201, other.body);
    const otherId = other.json<{ id: string }>().id;
    const target = await newMember();
    const joined = await t.inject({ method: 'POST', url: '/api/v1/auth/signup', payload: { email: target.email, password: target.password, displayName: 'Target', instance: `other-${engine}` } });
    assert.equal(joined.statusCode, 202);
    const outsider = await t.signUpAndLogIn(`other-${engine}`);
    assert.equal((await t.as(owner, { method: 'PATCH', url: `/api/v1/instances/${otherId}/members/${outsider.accountId}`, payload: { role: 'admin' } })).statusCode, 204);
    const admin = await newMember();
    assert.equal((await t.as(owner, { method: 'PATCH', url: `/api/v1/instances/${instanceId}/members/${admin.accountId}`, payload: { role: 'admin' } })).statusCode, 204);
    const plain = await newMember();
    const url = `/api/v1/instances/${instanceId}/members/${target.accountId}/sessions/revoke`;

    const byMember = await t.as(plain, { method: 'POST', url });
    assert.equal(byMember.statusCode, 403);
    assert.equal(byMember.json().error.code, 'FORBIDDEN');
    const byOutsider = await t.as(outsider, { method: 'POST', url });
    assert.equal(byOutsider.statusCode, 404, 'another instance\'s admin does not even learn the instance exists');
    assert.equal(byOutsider.json().error.code, 'INSTANCE_NOT_FOUND');
    const onOwner = await t.as(admin, { method: 'POST', url: `/api/v1/instances/${instanceId}/members/${owner.accountId}/sessions/revoke` });
    assert.equal(onOwner.statusCode, 403, 'an admin does not end an owner\'s sessions');
    const notMember = await t.as(admin, { method: 'POST', url: `/api/v1/instances/${instanceId}/members/${outsider.accountId}/sessions/revoke` });
    assert.equal(notMember.statusCode, 404);
    assert.equal(notMember.json().error.code, 'MEMBER_NOT_FOUND');
    assert.equal(await works(target, `/api/v1/instances/${instanceId}`), 200, 'nothing changed so far');

    const targetStream = await stream(target);
    const started = Date.now();
    const revoked = await t.as(admin, { method: 'POST', url });
    assert.equal(revoked.statusCode, 204, revoked.body);
    await closesWithinASecond(targetStream, started);
    assert.equal(await works(target, `/api/v1/instances/${instanceId}`), 401, 'no access to this instance');
    assert.equal(await works(target, `/api/v1/instances/${instanceId}/rooms`), 401);
    assert.equal(await works(target, `/api/v1/instances/${otherId}`), 200, 'the other instance is not this admin\'s to touch');
    assert.equal(await works(target), 200, 'the session itself lives');
    assert.equal(await works(plain, `/api/v1/instances/${instanceId}`), 200, 'other members keep their access');
    const fresh = await t.login(target.email, target.password);
    assert.equal(await works(fresh, `/api/v1/instances/${instanceId}`), 200, 'logging in again restores access');
    const entry = await t.ctx.database.db.selectFrom('audit_entries').selectAll().where('action', '=', 'credentials.revoke').where('actor_id', '=', admin.accountId).executeTakeFirst();
    assert.ok(entry, 'the revocation is audited with its actor');
    assert.equal(entry.instance_id, instanceId);
    assert.match(entry.detail, new RegExp(target.accountId));
  });

  test('instance admins remove someone: they leave its rooms, their socket closes, the instance is gone for them', async () => {
    const admin = await newMember();
    assert.equal((await t.as(owner, { method: 'PATCH', url: `/api/v1/instances/${instanceId}/members/${admin.accountId}`, payload: { role: 'admin' } })).statusCode, 204);
    const plain = await newMember();
    const target = await newMember();
    const room = await t.as(owner, { method: 'POST', url: `/api/v1/instances/${instanceId}/rooms`, payload: { name: `removal-${engine}`, privacy: 'public' } });
    assert.equal(room.statusCode, 201, room.body);
    const roomId = room.json<{ id: string }>().id;
    for (const who of [plain, target]) assert.equal((await t.as(who, { method: 'POST', url: `/api/v1/rooms/${roomId}/join` })).statusCode, 204);
    const url = `/api/v1/instances/${instanceId}/members/${target.accountId}`;

    const byMember = await t.as(plain, { method: 'DELETE', url });
    assert.equal(byMember.json().error.code, 'FORBIDDEN', 'members cannot remove anyone');
    const onOwner = await t.as(admin, { method: 'DELETE', url: `/api/v1/instances/${instanceId}/members/${owner.accountId}` });
    assert.equal(onOwner.statusCode, 403, 'an admin does not remove an owner');
    const self = await t.as(admin, { method: 'DELETE', url: `/api/v1/instances/${instanceId}/members/${admin.accountId}` });
    assert.equal(self.json().error.code, 'FORBIDDEN', 'nobody removes themselves');
    const missing = await t.as(admin, { method: 'DELETE', url: `/api/v1/instances/${instanceId}/members/${MISSING_ID}` });
    assert.equal(missing.json().error.code, 'MEMBER_NOT_FOUND');
    assert.equal(await works(target, `/api/v1/instances/${instanceId}`), 200, 'nothing changed so far');

    const targetStream = await stream(target);
    const watcher = await stream(plain);
    const started = Date.now();
    const removed = await t.as(admin, { method: 'DELETE', url });
    assert.equal(removed.statusCode, 204, removed.body);
    await closesWithinASecond(targetStream, started);
    const left = await watcher.next((event) => event.type === 'member.left');
    assert.deepEqual([left.type === 'member.left' && left.roomId, left.type === 'member.left' && left.accountId], [roomId, target.accountId], 'the room\'s members see them leave');

    const instance = await t.as(target, { method: 'GET', url: `/api/v1/instances/${instanceId}` });
    assert.equal(instance.json().error.code, 'INSTANCE_NOT_FOUND', 'the instance is gone for them');
    assert.equal((await t.as(target, { method: 'GET', url: `/api/v1/rooms/${roomId}/messages` })).statusCode, 404);
    const fresh = await t.login(target.email, target.password);
    assert.equal((await t.as(fresh, { method: 'GET', url: `/api/v1/instances/${instanceId}` })).statusCode, 404, 'logging in again does not bring it back');
    const me = await t.as(fresh, { method: 'GET', url: '/api/v1/me' });
    assert.ok(!me.json<{ instances: Array<{ id: string }> }>().instances.some((i) => i.id === instanceId));
    const members = await t.as(owner, { method: 'GET', url: `/api/v1/instances/${instanceId}/members` });
    assert.ok(!members.json<{ members: Array<{ accountId: string }> }>().members.some((m) => m.accountId === target.accountId));
    const roomMembers = await t.as(plain, { method: 'GET', url: `/api/v1/rooms/${roomId}/members` });
    assert.ok(!roomMembers.body.includes(target.accountId), 'no longer in the room');
    assert.equal((await t.as(admin, { method: 'DELETE', url })).json().error.code, 'MEMBER_NOT_FOUND', 'removed once');
    const entry = await t.ctx.database.db.selectFrom('audit_entries').selectAll().where('action', '=', 'member.remove').where('actor_id', '=', admin.accountId).executeTakeFirst();
    assert.ok(entry, 'the removal is audited with its actor');
    assert.match(entry.detail, new RegExp(target.accountId));

    // An invite brings them back, with their account as it was.
    const invite = await t.as(owner, { method: 'POST', url: `/api/v1/instances/${instanceId}/invites`, payload: {} });
    const back = await t.inject({ method: 'POST', url: '/api/v1/auth/signup', payload: { email: target.email, password: target.password, displayName: 'Back', instance: instanceSlug, inviteToken: invite.json<{ token: string }>().token } });
    assert.equal(back.statusCode, 202);
    assert.equal((await t.as(fresh, { method: 'GET', url: `/api/v1/instances/${instanceId}` })).statusCode, 200);
  });

  test('an instance\'s sessions: admins only, and every session\'s access to it ends', async () => {
    const member = await newMember();
    const byMember = await t.as(member, { method: 'POST', url: `/api/v1/instances/${instanceId}/sessions/revoke` });
    assert.equal(byMember.statusCode, 403);
    assert.equal(await works(member, `/api/v1/instances/${instanceId}`), 200);
    const memberStream = await stream(member);
    const started = Date.now();
    assert.equal((await t.as(owner, { method: 'POST', url: `/api/v1/instances/${instanceId}/sessions/revoke` })).statusCode, 204);
    await closesWithinASecond(memberStream, started);
    assert.equal(await works(member, `/api/v1/instances/${instanceId}`), 401);
    assert.ok((await t.ctx.database.db.selectFrom('audit_entries').select('seq').where('action', '=', 'credentials.revoke').where('actor_id', '=', owner.accountId).where('instance_id', '=', instanceId).executeTakeFirst()));
    owner = await t.login(owner.email, owner.password);
  });

  test('operators end one account\'s sessions, or everyone\'s; nobody else can', async () => {
    const member = await newMember();
    const admin = await newMember();
    assert.equal((await t.as(owner, { method: 'PATCH', url: `/api/v1/instances/${instanceId}/members/${admin.accountId}`, payload: { role: 'admin' } })).statusCode, 204);
    for (const who of [member, admin]) {
      const account = await t.as(who, { method: 'POST', url: `/api/v1/accounts/${owner.accountId}/sessions/revoke` });
      assert.equal(account.statusCode, 403, 'an instance admin is not an operator');
      assert.equal(account.json().error.code, 'FORBIDDEN');
      assert.equal((await t.as(who, { method: 'POST', url: '/api/v1/sessions/revoke' })).statusCode, 403);
    }
    assert.equal(await works(owner), 200);
    const unknown = await t.as(owner, { method: 'POST', url: `/api/v1/accounts/${MISSING_ID}/sessions/revoke` });
    assert.equal(unknown.statusCode, 404);
    const malformed = await t.as(owner, { method: 'POST', url: '/api/v1/accounts/nope/sessions/revoke' });
    assert.equal(malformed.statusCode, 400);

    const memberStream = await stream(member);
    let started = Date.now();
    assert.equal((await t.as(owner, { method: 'POST', url: `/api/v1/accounts/${member.accountId}/sessions/revoke` })).statusCode, 204);
    await closesWithinASecond(memberStream, started);
    assert.equal(await works(member), 401);
    assert.equal(await works(admin), 200, 'only that account');

    const adminStream = await stream(admin);
    started = Date.now();
    assert.equal((await t.as(owner, { method: 'POST', url: '/api/v1/sessions/revoke' })).statusCode, 204);
    await closesWithinASecond(adminStream, started);
    assert.equal(await works(admin), 401);
    assert.equal(await works(owner), 401, 'the operator\'s own session too');
    owner = await t.login(owner.email, owner.password);
    const scopes = (await t.ctx.database.db.selectFrom('audit_entries').select('detail').where('action', '=', 'credentials.revoke').where('actor_id', '=', owner.accountId).execute()).map((r) => JSON.parse(r.detail) as { scope: string });
    assert.ok(scopes.some((d) => d.scope === 'account') && scopes.some((d) => d.scope === 'global'), JSON.stringify(scopes));
  });

  test('a password change leaves only the new session in the list', async () => {
    const person = await newMember();
    await loginFrom(person, SAFARI_IPHONE, '203.0.113.10');
    const newPw = newPassword();
    const changed = await t.as(person, { method: 'POST', url: '/api/v1/me/password', payload: { currentPassword: person.password, newPassword: newPw }, headers: { 'user-agent': FIREFOX_LINUX } });
    assert.equal(changed.statusCode, 200, changed.body);
    const fresh = await t.login(person.email, newPw);
    const listed = await listSessions(fresh);
    assert.equal(listed.length, 2, 'the password change\'s session and this log-in');
    assert.ok(listed.some((s) => s.device === 'Firefox on Linux'), 'the session the change started records its device');
  });
});
