import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { LIMITS, STREAM_CLOSE, type ApiToken, type Room } from '@conclave/protocol';
import { hashToken } from '../crypto/index.ts';
import { bumpInstanceEpoch } from '../instances/index.ts';
import { dumpDatabase } from '../testing/dump.ts';
import { isType, openStream, type StreamClient } from '../testing/stream-client.ts';
import { closeTestPools, createTestApp, describeEachEngine, newPassword, type Client, type TestApp } from '../testing/test-app.ts';

after(closeTestPools);

const MISSING_ID = '01900000-0000-7000-8000-000000000000';

describeEachEngine('personal API tokens', (engine) => {
  let t: TestApp;
  let base: string;
  let owner: Client;
  let instanceId: string;
  let instanceSlug: string;
  let room: Room;
  const streams: StreamClient[] = [];
  const realNow = Date.now;

  /** A bearer client carrying an API token: `t.as` sends it as `Authorization: Bearer`. */
  const asToken = (person: Client, token: string): Client => ({ ...person, token, via: 'bearer', csrfToken: '' });
  const create = (person: Client, payload: unknown) => t.as(person, { method: 'POST', url: '/api/v1/me/tokens', payload });
  const createToken = async (person: Client, scopes: string[], extra: Record<string, unknown> = {}): Promise<{ token: string; id: string; client: Client }> => {
    const response = await create(person, { name: `token for ${scopes.join('+')}`, scopes, ...extra });
    assert.equal(response.statusCode, 201, response.body);
    const body = response.json<ApiToken & { token: string }>();
    return { token: body.token, id: body.id, client: asToken(person, body.token) };
  };
  const listTokens = async (person: Client): Promise<ApiToken[]> => {
    const response = await t.as(person, { method: 'GET', url: '/api/v1/me/tokens' });
    assert.equal(response.statusCode, 200, response.body);
    return response.json<{ tokens: ApiToken[] }>().tokens;
  };
  const status = async (client: Client, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown) => {
    const response = await t.as(client, { method, url, ...(payload !== undefined ? { payload } : {}) });
    return { status: response.statusCode, code: response.statusCode >= 400 ? response.json<{ error: { code: string } }>().error.code : undefined };
  };
  const newMember = async (): Promise<Client> => {
    const invite = await t.as(owner, { method: 'POST', url: `/api/v1/instances/${instanceId}/invites`, payload: {} });
    return t.signUpAndLogIn(instanceSlug, { inviteToken: invite.json<{ token: string }>().token });
  };

  before(async () => {
    t = await createTestApp(engine);
    ({ owner, instanceId, instanceSlug } = await t.setUp());
    const created = await t.as(owner, { method: 'POST', url: `/api/v1/instances/${instanceId}/rooms`, payload: { name: 'tokens' } });
    assert.equal(created.statusCode, 201, created.body);
    room = created.json<Room>();
    base = await t.listen();
  });
  after(async () => {
    t.ctx.now = realNow;
    for (const s of streams) s.close();
    await t.close();
  });

  test('a token is shown once, stored only as its SHA-256, and its name is sealed', async () => {
    const response = await create(owner, { name: 'deploy-bot-name', scopes: ['write', 'read'], expiresInDays: 30 });
    assert.equal(response.statusCode, 201, response.body);
    const body = response.json<ApiToken & { token: string }>();
    assert.match(body.token, /^cnv_pat_[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(body.scopes, ['read', 'write']);
    assert.equal(body.name, 'deploy-bot-name');
    assert.equal(body.lastUsedAt, null);
    assert.ok(body.expiresAt && Math.abs(Date.parse(body.expiresAt) - (Date.now() + 30 * 86_400_000)) < 60_000);

    const listed = (await listTokens(owner)).find((token) => token.id === body.id);
    assert.ok(listed);
    assert.equal(listed.name, 'deploy-bot-name');
    assert.ok(!JSON.stringify(await listTokens(owner)).includes(body.token), 'the list never shows the token');

    const dump = await dumpDatabase(t);
    assert.ok(!dump.includes(body.token), 'the token is not in the database');
    assert.ok(!dump.includes(body.token.slice('cnv_pat_'.length)), 'nor its secret part');
    assert.ok(dump.includes(hashToken(body.token)), 'its hash is');
    assert.ok(!dump.includes('deploy-bot-name'), 'the name is sealed');
    assert.ok((await t.ctx.database.db.selectFrom('audit_entries').select('seq').where('action', '=', 'token.create').where('actor_id', '=', owner.accountId).executeTakeFirst()));
  });

  test('scopes: read reads, write writes, admin administers; none does what its owner cannot', async () => {
    const reader = await createToken(owner, ['read']);
    const writer = await createToken(owner, ['write']);
    const adminToken = await createToken(owner, ['admin']);

    assert.equal((await status(reader.client, 'GET', `/api/v1/instances/${instanceId}/rooms`)).status, 200);
    assert.equal((await status(reader.client, 'GET', `/api/v1/rooms/${room.id}/messages`)).status, 200);
    assert.equal((await status(reader.client, 'GET', `/api/v1/search?instanceId=${instanceId}&q=hello`)).status, 200);
    assert.deepEqual(await status(reader.client, 'POST', `/api/v1/rooms/${room.id}/messages`, { body: 'from a reader' }), { status: 403, code: 'TOKEN_SCOPE_MISSING' });
    assert.deepEqual(await status(reader.client, 'PATCH', `/api/v1/instances/${instanceId}`, { name: 'Renamed by reader' }), { status: 403, code: 'TOKEN_SCOPE_MISSING' });

    assert.equal((await status(writer.client, 'POST', `/api/v1/rooms/${room.id}/messages`, { body: 'from a writer' })).status, 201);
    assert.deepEqual(await status(writer.client, 'GET', `/api/v1/rooms/${room.id}/messages`), { status: 403, code: 'TOKEN_SCOPE_MISSING' }, 'scopes do not imply each other');

    assert.equal((await status(adminToken.client, 'PATCH', `/api/v1/instances/${instanceId}`, { name: 'Renamed by token' })).status, 200);
    assert.equal((await status(adminToken.client, 'GET', `/api/v1/instances/${instanceId}/audit/access`)).status, 200);
    assert.deepEqual(await status(adminToken.client, 'POST', `/api/v1/rooms/${room.id}/messages`, { body: 'x' }), { status: 403, code: 'TOKEN_SCOPE_MISSING' });

    // A member's admin-scoped token is still only a member.
    const member = await newMember();
    const memberAdmin = await createToken(member, ['admin', 'read', 'write']);
    assert.deepEqual(await status(memberAdmin.client, 'PATCH', `/api/v1/instances/${instanceId}`, { name: 'Hijacked' }), { status: 403, code: 'FORBIDDEN' });
    assert.equal((await status(memberAdmin.client, 'GET', `/api/v1/instances/${instanceId}/audit/access`)).status, 403);

    // Tokens, sessions and the password are never managed with a token, whatever its scopes.
    const all = await createToken(owner, ['read', 'write', 'admin']);
    for (const [method, url, payload] of [
      ['POST', '/api/v1/me/tokens', { name: 'minted', scopes: ['read'] }],
      ['GET', '/api/v1/me/tokens', undefined],
      ['DELETE', `/api/v1/me/tokens/${reader.id}`, undefined],
      ['GET', '/api/v1/me/sessions', undefined],
      ['POST', '/api/v1/me/sessions/end-others', undefined],
      ['POST', '/api/v1/me/password', { currentPassword: owner.password, newPassword: newPassword() }],
      ['POST', '/api/v1/auth/logout', undefined],
      ['GET', '/api/v1/me', undefined],
      ['POST', `/api/v1/instances/${instanceId}/sessions/revoke`, undefined],
      ['POST', `/api/v1/accounts/${member.accountId}/sessions/revoke`, undefined],
      ['POST', '/api/v1/sessions/revoke', undefined],
    ] as const) {
      assert.deepEqual(await status(all.client, method, url, payload), { status: 403, code: 'TOKEN_NOT_ALLOWED' }, `${method} ${url}`);
    }
    assert.equal((await status(reader.client, 'GET', `/api/v1/instances/${instanceId}`)).status, 200, 'the reader survived the attempt to revoke it');
    assert.equal(await status(member, 'GET', '/api/v1/me').then((r) => r.status), 200, 'the member was not logged out');

    // A token is only ever a bearer token: as a cookie it is nobody.
    const asCookie = await t.inject({ method: 'GET', url: `/api/v1/instances/${instanceId}`, headers: { cookie: `conclave_session=${reader.token}` } });
    assert.equal(asCookie.statusCode, 401);
  });

  test('requests made with a token are audited under the token\'s id', async () => {
    const reader = await createToken(owner, ['read']);
    assert.equal((await status(reader.client, 'GET', `/api/v1/rooms/${room.id}/messages`)).status, 200);
    const reads = await t.ctx.database.db.selectFrom('audit_entries').select(['action', 'actor_id']).where('session_id', '=', reader.id).execute();
    assert.ok(reads.some((r) => r.action === 'room.read' && r.actor_id === owner.accountId), JSON.stringify(reads));
    assert.ok(reads.some((r) => r.action === 'token.use'));
  });

  test('last use is recorded at most once a minute; an expired token is refused', async () => {
    const reader = await createToken(owner, ['read'], { expiresInDays: 1 });
    const lastUsed = async () => (await listTokens(owner)).find((token) => token.id === reader.id)?.lastUsedAt;
    assert.equal(await lastUsed(), null);
    assert.equal((await status(reader.client, 'GET', `/api/v1/instances/${instanceId}`)).status, 200);
    const first = await lastUsed();
    assert.ok(first, 'set by the first use');
    let shift = 5_000;
    t.ctx.now = () => realNow() + shift;
    try {
      assert.equal((await status(reader.client, 'GET', `/api/v1/instances/${instanceId}`)).status, 200);
      assert.equal(await lastUsed(), first, 'not rewritten within the minute');
      shift = 61_000;
      assert.equal((await status(reader.client, 'GET', `/api/v1/instances/${instanceId}`)).status, 200);
      const second = await lastUsed();
      assert.ok(second && Date.parse(second) >= Date.parse(first) + 60_000, `${first} → ${second}`);
      const uses = await t.ctx.database.db.selectFrom('audit_entries').select('seq').where('action', '=', 'token.use').where('session_id', '=', reader.id).execute();
      assert.equal(uses.length, 2, 'one audit entry per recorded use');

      shift = 86_400_000 + 1_000;
      assert.deepEqual(await status(reader.client, 'GET', `/api/v1/instances/${instanceId}`), { status: 401, code: 'UNAUTHENTICATED' });
      assert.ok(!(await listTokens(await t.login(owner.email, owner.password))).some((token) => token.id === reader.id), 'an expired token leaves the list');
    } finally {
      t.ctx.now = realNow;
    }
  });

  test('a token in the session cookie is not read by the stream either: the socket is never authenticated', async () => {
    const reader = await createToken(owner, ['read']);
    const s = await openStream(base, { cookie: `conclave_session=${reader.token}` });
    streams.push(s);
    const closed = await s.closed;
    assert.equal(closed.code, STREAM_CLOSE.authTimeout, 'it waited for an auth frame, as with no cookie at all');
    assert.ok(!s.frames.some((frame) => frame.type === 'ready'));
  });

  test('revoking a token: it stops working and its stream closes within a second; another person\'s token id answers like a missing one', async () => {
    const reader = await createToken(owner, ['read']);
    const s = await openStream(base, { token: reader.token });
    streams.push(s);
    await s.next(isType('ready'));

    const member = await newMember();
    const foreign = await t.as(member, { method: 'DELETE', url: `/api/v1/me/tokens/${reader.id}` });
    const missing = await t.as(member, { method: 'DELETE', url: `/api/v1/me/tokens/${MISSING_ID}` });
    assert.equal(foreign.statusCode, 404);
    assert.equal(foreign.json().error.code, 'TOKEN_NOT_FOUND');
    assert.deepEqual(missing.json().error.code, foreign.json().error.code);
    assert.equal((await status(reader.client, 'GET', `/api/v1/instances/${instanceId}`)).status, 200, 'still works');
    assert.equal((await t.as(owner, { method: 'DELETE', url: '/api/v1/me/tokens/123' })).statusCode, 400);

    const started = Date.now();
    const revoked = await t.as(owner, { method: 'DELETE', url: `/api/v1/me/tokens/${reader.id}` });
    assert.equal(revoked.statusCode, 204);
    const closed = await s.closed;
    assert.equal(closed.code, STREAM_CLOSE.sessionRevoked);
    assert.ok(Date.now() - started < 1_000, `closed after ${Date.now() - started} ms`);
    assert.deepEqual(await status(reader.client, 'GET', `/api/v1/instances/${instanceId}`), { status: 401, code: 'UNAUTHENTICATED' });
    assert.ok(!(await listTokens(owner)).some((token) => token.id === reader.id));
    assert.ok((await t.ctx.database.db.selectFrom('audit_entries').select('seq').where('action', '=', 'token.revoke').where('actor_id', '=', owner.accountId).executeTakeFirst()));
  });

  test('a stream needs the read scope', async () => {
    const writer = await createToken(owner, ['write']);
    const s = await openStream(base, { token: writer.token });
    streams.push(s);
    const refusal = await s.next(isType('error'));
    assert.equal((refusal as { code: string }).code, 'TOKEN_SCOPE_MISSING');
    assert.equal((await s.closed).code, STREAM_CLOSE.unauthenticated);
  });

  test('credential epochs kill older tokens: a password change, an operator\'s revocation, an instance\'s', async () => {
    const member = await newMember();
    const before = await createToken(member, ['read']);
    const newPw = newPassword();
    const changed = await t.as(member, { method: 'POST', url: '/api/v1/me/password', payload: { currentPassword: member.password, newPassword: newPw } });
    assert.equal(changed.statusCode, 200, changed.body);
    assert.equal((await status(before.client, 'GET', `/api/v1/instances/${instanceId}`)).status, 401, 'a password change ends older tokens');
    const relogged = await t.login(member.email, newPw);
    assert.deepEqual(await listTokens(relogged), [], 'and they leave the list');

    const later = await createToken(relogged, ['read']);
    assert.equal((await status(later.client, 'GET', `/api/v1/instances/${instanceId}`)).status, 200);
    assert.equal((await t.as(owner, { method: 'POST', url: `/api/v1/accounts/${member.accountId}/sessions/revoke` })).statusCode, 204);
    assert.equal((await status(later.client, 'GET', `/api/v1/instances/${instanceId}`)).status, 401, 'an operator\'s revocation of the account');

    const third = await createToken(await t.login(member.email, newPw), ['read']);
    const s = await openStream(base, { token: third.token });
    streams.push(s);
    await s.next(isType('ready'));
    await bumpInstanceEpoch(t.ctx, instanceId);
    assert.equal((await s.closed).code, STREAM_CLOSE.sessionRevoked);
    assert.equal((await status(third.client, 'GET', `/api/v1/instances/${instanceId}`)).status, 401, 'the instance\'s epoch');
    owner = await t.login(owner.email, owner.password);
  });

  test('bad input answers 4xx with a catalog code, and an account has at most so many tokens', async () => {
    const person = await newMember();
    const bad: Array<[unknown, string]> = [
      [{ name: 'x', scopes: ['root'] }, 'unknown scope'],
      [{ name: 'x', scopes: [] }, 'no scope'],
      [{ name: 'x', scopes: ['read', 'read'] }, 'repeated scope'],
      [{ name: '', scopes: ['read'] }, 'empty name'],
      [{ name: '   ', scopes: ['read'] }, 'blank name'],
      [{ name: 'a\u0000b', scopes: ['read'] }, 'control character'],
      [{ name: 'x'.repeat(LIMITS.apiTokenNameMaxLength + 1), scopes: ['read'] }, 'long name'],
      [{ name: 'x', scopes: ['read'], expiresInDays: 0 }, 'zero days'],
      [{ name: 'x', scopes: ['read'], expiresInDays: 100_000 }, 'too many days'],
      [{ name: 'x', scopes: ['read'], expiresInDays: 1.5 }, 'fractional days'],
      [{ name: 'x', scopes: 'read' }, 'scopes not a list'],
      [{ name: 'x', scopes: ['read'], owner: 'someone' }, 'unknown field'],
      [{ scopes: ['read'] }, 'no name'],
    ];
    for (const [payload, why] of bad) {
      const response = await create(person, payload);
      assert.equal(response.statusCode, 400, `${why}: ${response.body}`);
      assert.equal(response.json().error.code, 'VALIDATION_FAILED', why);
    }
    assert.deepEqual(await listTokens(person), [], 'nothing half-made');

    for (let i = 0; i < LIMITS.apiTokensPerAccountMax; i++) {
      assert.equal((await create(person, { name: `bot ${i}`, scopes: ['read'] })).statusCode, 201);
    }
    const over = await create(person, { name: 'one too many', scopes: ['read'] });
    assert.equal(over.statusCode, 409);
    assert.equal(over.json().error.code, 'TOKEN_LIMIT_REACHED');
    const oldest = (await listTokens(person)).at(-1);
    assert.ok(oldest);
    assert.equal((await t.as(person, { method: 'DELETE', url: `/api/v1/me/tokens/${oldest.id}` })).statusCode, 204);
    assert.equal((await create(person, { name: 'room again', scopes: ['read'] })).statusCode, 201, 'revoking one makes room');

    const garbage = await t.inject({ method: 'GET', url: `/api/v1/instances/${instanceId}`, headers: { authorization: 'Bearer cnv_pat_not-a-real-token' } });
    assert.equal(garbage.statusCode, 401);
    assert.equal(garbage.json().error.code, 'UNAUTHENTICATED');
  });
});
