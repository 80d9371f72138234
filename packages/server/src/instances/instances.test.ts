import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { closeTestPools, createTestApp, describeEachEngine, newEmail, newPassword, type Client, type TestApp } from '../testing/test-app.ts';
import { recordSecret } from '../testing/secret-ledger.ts';
import { issueSetupToken } from './index.ts';

after(closeTestPools);

const countRows = async (t: TestApp) => {
  const db = t.ctx.database.db;
  const count = async (table: 'accounts' | 'instances' | 'memberships' | 'sessions' | 'invites') =>
    Number((await db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  return { accounts: await count('accounts'), instances: await count('instances'), memberships: await count('memberships'), invites: await count('invites') };
};

describeEachEngine('first-run setup', (engine) => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp(engine);
  });
  after(() => t.close());

  test('needs the printed token; a wrong or stale token creates nothing; it works once', async () => {
    assert.deepEqual((await t.inject({ method: 'GET', url: '/api/v1/setup' })).json(), { required: true });
    const stale = await issueSetupToken(t.ctx);
    const token = await issueSetupToken(t.ctx);
    recordSecret(stale);
    recordSecret(token);
    assert.ok(token?.startsWith('cnv_setup_'));
    const body = (setupToken: string) => ({
      setupToken,
      instance: { slug: 'first', name: 'First' },
      owner: { email: newEmail('owner'), displayName: 'Owner', password: newPassword() },
    });
    const before = await countRows(t);
    for (const attempt of ['cnv_setup_wrong', stale ?? '']) {
      const r = await t.inject({ method: 'POST', url: '/api/v1/setup', payload: body(attempt) });
      assert.equal(r.statusCode, attempt ? 403 : 400);
    }
    assert.deepEqual(await countRows(t), before, 'nothing written by refused attempts');

    const ok = await t.inject({ method: 'POST', url: '/api/v1/setup', payload: body(token ?? '') });
    assert.equal(ok.statusCode, 201, ok.body);
    assert.equal(ok.json().account.isOperator, true);
    assert.equal(ok.json().instance.signupMode, 'invite', 'a new instance is invite-only until its admins open it');
    const again = await t.inject({ method: 'POST', url: '/api/v1/setup', payload: body(token ?? '') });
    assert.equal(again.statusCode, 409);
    assert.equal(again.json().error.code, 'SETUP_ALREADY_DONE');
    assert.deepEqual((await t.inject({ method: 'GET', url: '/api/v1/setup' })).json(), { required: false });
    assert.equal(await issueSetupToken(t.ctx), undefined, 'no token is printed once set up');
    const state = await t.ctx.database.db.selectFrom('server_state').selectAll().executeTakeFirstOrThrow();
    assert.equal(state.setup_token_hash, null, 'the token hash is cleared');
  });
});

describeEachEngine('instances, members and invites', (engine) => {
  let t: TestApp;
  let owner: Client;
  let instanceId: string;
  let instanceSlug: string;

  before(async () => {
    t = await createTestApp(engine);
    ({ owner, instanceId, instanceSlug } = await t.setUp());
  });
  after(() => t.close());

  const invite = async (as: Client, payload: Record<string, unknown> = {}) => {
    const r = await t.as(as, { method: 'POST', url: `/api/v1/instances/${instanceId}/invites`, payload });
    assert.equal(r.statusCode, 201, r.body);
    return r.json<{ token: string; role: string }>();
  };

  test('an invite-only instance refuses plain sign-up and accepts an invite once', async () => {
    const email = newEmail();
    const password = newPassword();
    const plain = await t.inject({ method: 'POST', url: '/api/v1/auth/signup', payload: { email, password, displayName: 'Ann', instance: instanceSlug } });
    assert.equal(plain.statusCode, 403);
    assert.equal(plain.json().error.code, 'SIGNUP_INVITE_REQUIRED');

    const { token } = await invite(owner);
    assert.match(token, /^cnv_i_/);
    const stored = await t.ctx.database.db.selectFrom('invites').selectAll().execute();
    assert.ok(!JSON.stringify(stored).includes(token), 'the invite token is stored only as a hash');

    const joined = await t.inject({ method: 'POST', url: '/api/v1/auth/signup', payload: { email, password, displayName: 'Ann', instance: instanceSlug, inviteToken: token } });
    assert.equal(joined.statusCode, 202);
    const ann = await t.login(email, password);
    assert.equal((await t.as(ann, { method: 'GET', url: `/api/v1/instances/${instanceId}` })).statusCode, 200);

    const reuse = await t.inject({ method: 'POST', url: '/api/v1/auth/signup', payload: { email: newEmail(), password: newPassword(), displayName: 'Bob', instance: instanceSlug, inviteToken: token } });
    assert.equal(reuse.statusCode, 400);
    assert.equal(reuse.json().error.code, 'INVITE_INVALID');
  });

  test('an invite bound to an email, or expired, or for another instance, is refused', async () => {
    const bound = await invite(owner, { email: 'only-this@example.org', role: 'admin' });
    assert.equal(bound.role, 'admin');
    const other = await t.inject({ method: 'POST', url: '/api/v1/auth/signup', payload: { email: newEmail(), password: newPassword(), displayName: 'X', instance: instanceSlug, inviteToken: bound.token } });
    assert.equal(other.json().error.code, 'INVITE_INVALID');

    const expired = await invite(owner, { ttlHours: 1 });
    const realNow = t.ctx.now;
    t.ctx.now = () => realNow() + 2 * 3_600_000;
    try {
      const late = await t.inject({ method: 'POST', url: '/api/v1/auth/signup', payload: { email: newEmail(), password: newPassword(), displayName: 'X', instance: instanceSlug, inviteToken: expired.token } });
      assert.equal(late.json().error.code, 'INVITE_INVALID');
    } finally {
      t.ctx.now = realNow;
    }
    const made = await t.as(owner, { method: 'POST', url: '/api/v1/instances', payload: { slug: `other-${engine}`, name: 'Other' } });
    assert.equal(made.statusCode, 201);
    const wrongInstance = await t.inject({ method: 'POST', url: '/api/v1/auth/signup', payload: { email: newEmail(), password: newPassword(), displayName: 'X', instance: `other-${engine}`, inviteToken: (await invite(owner)).token } });
    assert.equal(wrongInstance.json().error.code, 'INVITE_INVALID');
  });

  test('members cannot invite, change roles or create instances; a non-member sees the instance as missing', async () => {
    const member = await t.signUpAndLogIn(instanceSlug, { inviteToken: (await invite(owner)).token });
    const r1 = await t.as(member, { method: 'POST', url: `/api/v1/instances/${instanceId}/invites`, payload: {} });
    assert.equal(r1.statusCode, 403);
    const r2 = await t.as(member, { method: 'POST', url: '/api/v1/instances', payload: { slug: 'nope', name: 'Nope' } });
    assert.equal(r2.statusCode, 403);

    const made = await t.as(owner, { method: 'POST', url: '/api/v1/instances', payload: { slug: `private-${engine}`, name: 'Private' } });
    const privateId = made.json<{ id: string }>().id;
    const hidden = await t.as(member, { method: 'GET', url: `/api/v1/instances/${privateId}` });
    const missing = await t.as(member, { method: 'GET', url: '/api/v1/instances/01900000-0000-7000-8000-000000000000' });
    assert.equal(hidden.statusCode, 404);
    assert.equal(hidden.statusCode, missing.statusCode);
    assert.equal(hidden.json().error.code, missing.json().error.code);
    assert.equal(hidden.json().error.message, missing.json().error.message);
  });

  test('roles: admins manage members, only owners grant ownership, the last owner stays', async () => {
    const a = await t.signUpAndLogIn(instanceSlug, { inviteToken: (await invite(owner)).token });
    const b = await t.signUpAndLogIn(instanceSlug, { inviteToken: (await invite(owner)).token });
    const setRole = (as: Client, accountId: string, role: string) =>
      t.as(as, { method: 'PATCH', url: `/api/v1/instances/${instanceId}/members/${accountId}`, payload: { role } });

    assert.equal((await setRole(owner, a.accountId, 'admin')).statusCode, 204);
    assert.equal((await setRole(a, b.accountId, 'admin')).statusCode, 204, 'an admin can make an admin');
    const grantOwner = await setRole(a, b.accountId, 'owner');
    assert.equal(grantOwner.statusCode, 403, 'an admin cannot grant ownership');
    const demoteOwner = await setRole(a, owner.accountId, 'member');
    assert.equal(demoteOwner.statusCode, 403, 'an admin cannot demote an owner');
    const last = await setRole(owner, owner.accountId, 'member');
    assert.equal(last.statusCode, 409);
    assert.equal(last.json().error.code, 'LAST_OWNER');
    const unknown = await setRole(owner, '01900000-0000-7000-8000-000000000000', 'member');
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json().error.code, 'MEMBER_NOT_FOUND');

    const list = await t.as(b, { method: 'GET', url: `/api/v1/instances/${instanceId}/members` });
    assert.equal(list.statusCode, 200);
    const mine = list.json<{ members: Array<{ accountId: string; role: string; email?: string }> }>().members;
    assert.equal(mine.find((m) => m.accountId === b.accountId)?.role, 'admin');
    assert.ok(mine.every((m) => typeof m.email === 'string'), 'admins see emails');
    const plain = await t.signUpAndLogIn(instanceSlug, { inviteToken: (await invite(owner)).token });
    const seen = (await t.as(plain, { method: 'GET', url: `/api/v1/instances/${instanceId}/members` })).json<{ members: Array<{ email?: string }> }>().members;
    assert.ok(seen.every((m) => m.email === undefined), 'members do not see each other\'s emails');
  });

  test('admins rename the instance and open sign-up; instance slugs are unique', async () => {
    const renamed = await t.as(owner, { method: 'PATCH', url: `/api/v1/instances/${instanceId}`, payload: { name: 'Renamed', signupMode: 'open' } });
    assert.equal(renamed.statusCode, 200);
    assert.equal(renamed.json().name, 'Renamed');
    assert.equal(renamed.json().signupMode, 'open');
    const open = await t.inject({ method: 'POST', url: '/api/v1/auth/signup', payload: { email: newEmail(), password: newPassword(), displayName: 'Walk-in', instance: instanceSlug } });
    assert.equal(open.statusCode, 202);
    const dup = await t.as(owner, { method: 'POST', url: '/api/v1/instances', payload: { slug: instanceSlug, name: 'Dup' } });
    assert.equal(dup.statusCode, 409);
    assert.equal(dup.json().error.code, 'INSTANCE_SLUG_TAKEN');
    const unknownInstance = await t.inject({ method: 'POST', url: '/api/v1/auth/signup', payload: { email: newEmail(), password: newPassword(), displayName: 'X', instance: 'no-such-instance' } });
    assert.equal(unknownInstance.statusCode, 404);
  });

  test('an admin ends every session\'s access to the instance with one call', async () => {
    const member = await t.signUpAndLogIn(instanceSlug, { inviteToken: (await invite(owner)).token });
    const revoke = await t.as(owner, { method: 'POST', url: `/api/v1/instances/${instanceId}/sessions/revoke` });
    assert.equal(revoke.statusCode, 204);
    assert.equal((await t.as(member, { method: 'GET', url: `/api/v1/instances/${instanceId}` })).statusCode, 401);
    assert.equal((await t.as(owner, { method: 'GET', url: `/api/v1/instances/${instanceId}` })).statusCode, 401, 'the admin\'s own older session too');
    owner = await t.login(owner.email, owner.password);
    assert.equal((await t.as(owner, { method: 'GET', url: `/api/v1/instances/${instanceId}` })).statusCode, 200);
  });
});
