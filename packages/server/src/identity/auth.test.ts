import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { bumpCredentialEpoch } from './index.ts';
import { closeTestPools, createTestApp, describeEachEngine, newEmail, newPassword, type Client, type TestApp } from '../testing/test-app.ts';

after(closeTestPools);

describeEachEngine('accounts and sessions', (engine) => {
  let t: TestApp;
  let instanceSlug: string;
  let instanceId: string;
  let owner: Client;

  before(async () => {
    t = await createTestApp(engine);
    ({ instanceSlug, instanceId, owner } = await t.setUp());
    // Open sign-up on the instance for these tests.
    await t.ctx.database.db.updateTable('instances').set({ signup_mode: 'open' }).where('id', '=', instanceId).execute();
  });
  after(() => t.close());

  test('sign up, log in, see yourself, log out', async () => {
    const email = newEmail();
    const password = newPassword();
    const signup = await t.inject({ method: 'POST', url: '/api/v1/auth/signup', payload: { email, password, displayName: 'Grace', instance: instanceSlug } });
    assert.equal(signup.statusCode, 202);
    assert.equal(signup.json().status, 'accepted');
    assert.equal(signup.cookies.length, 0, 'sign-up alone does not log in');

    const login = await t.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password } });
    assert.equal(login.statusCode, 200);
    const cookie = login.cookies.find((c) => c.name === 'conclave_session');
    assert.ok(cookie, 'a session cookie is set');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Lax');
    assert.equal(cookie.path, '/');
    assert.match(cookie.value, /^cnv_s_[A-Za-z0-9_-]{43}$/, '256-bit token, base64url, prefixed');
    assert.equal(login.json().token, undefined, 'a cookie login does not put the token in the body');

    const client = await t.login(email, password);
    const me = await t.as(client, { method: 'GET', url: '/api/v1/me' });
    assert.equal(me.statusCode, 200);
    const body = me.json();
    assert.equal(body.account.email, email);
    assert.equal(body.account.displayName, 'Grace');
    assert.deepEqual(body.instances.map((i: { slug: string; role: string }) => [i.slug, i.role]), [[instanceSlug, 'member']]);
    assert.equal(body.csrfToken, client.csrfToken);

    const logout = await t.as(client, { method: 'POST', url: '/api/v1/auth/logout' });
    assert.equal(logout.statusCode, 204);
    const afterLogout = await t.as(client, { method: 'GET', url: '/api/v1/me' });
    assert.equal(afterLogout.statusCode, 401);
    assert.equal(afterLogout.json().error.code, 'UNAUTHENTICATED');
  });

  test('bearer log-in returns the token once and authenticates API calls without CSRF', async () => {
    const person = await t.signUpAndLogIn(instanceSlug);
    const bearer = await t.login(person.email, person.password, 'bearer');
    assert.equal((await t.as(bearer, { method: 'GET', url: '/api/v1/me' })).statusCode, 200);
    const logout = await t.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: { authorization: `Bearer ${bearer.token}` } });
    assert.equal(logout.statusCode, 204, 'no CSRF token needed with a bearer token');
    const malformed = await t.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization: 'Basic abc' } });
    assert.equal(malformed.statusCode, 401);
  });

  test('you change your display name: sealed at rest, audited, shown by /me; a blank or unknown field is refused and changes nothing', async () => {
    const person = await t.signUpAndLogIn(instanceSlug);
    const renamed = await t.as(person, { method: 'PATCH', url: '/api/v1/me', payload: { displayName: '  Ada Lovelace ' } });
    assert.equal(renamed.statusCode, 200, renamed.body);
    assert.equal(renamed.json().account.displayName, 'Ada Lovelace');
    assert.equal((await t.as(person, { method: 'GET', url: '/api/v1/me' })).json().account.displayName, 'Ada Lovelace');
    const row = await t.ctx.database.db.selectFrom('accounts').select('display_name').where('id', '=', person.accountId).executeTakeFirstOrThrow();
    assert.match(row.display_name, /^cv1\./, 'sealed');
    assert.ok(!row.display_name.includes('Lovelace'));
    for (const payload of [{ displayName: '   ' }, { displayName: '' }, { displayName: 'x'.repeat(200) }, { displayName: 'Ada', email: 'other@example.org' }, {}]) {
      const refused = await t.as(person, { method: 'PATCH', url: '/api/v1/me', payload });
      assert.equal(refused.statusCode, 400, JSON.stringify(payload));
      assert.equal(refused.json().error.code, 'VALIDATION_FAILED');
    }
    assert.equal((await t.as(person, { method: 'GET', url: '/api/v1/me' })).json().account.displayName, 'Ada Lovelace');
    assert.equal((await t.inject({ method: 'PATCH', url: '/api/v1/me', payload: { displayName: 'Nobody' } })).statusCode, 401);
  });

  test('a session token is stored only as its SHA-256', async () => {
    const person = await t.signUpAndLogIn(instanceSlug);
    const rows = await t.ctx.database.db.selectFrom('sessions').selectAll().where('account_id', '=', person.accountId).execute();
    assert.equal(rows.length, 1);
    const { createHash } = await import('node:crypto');
    assert.equal(rows[0]?.token_hash, createHash('sha256').update(person.token).digest('hex'));
    assert.ok(!JSON.stringify(rows).includes(person.token));
  });

  test('a password is stored as argon2id (m >= 19 MiB, t >= 2, p = 1) over a peppered input, never as itself', async () => {
    const person = await t.signUpAndLogIn(instanceSlug);
    const row = await t.ctx.database.db.selectFrom('accounts').selectAll().where('id', '=', person.accountId).executeTakeFirstOrThrow();
    const match = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/.exec(row.password_hash);
    assert.ok(match, `PHC string: ${row.password_hash.slice(0, 30)}`);
    assert.ok(Number(match[1]) >= 19_456 && Number(match[2]) >= 2 && Number(match[3]) === 1);
    assert.ok(!JSON.stringify(row).includes(person.password));
    // Without the pepper the hash does not verify the password: argon2 alone over the raw password fails.
    const { verify } = await import('@node-rs/argon2');
    assert.equal(await verify(row.password_hash, person.password), false);
  });

  test('known and unknown emails get the same status and body at log-in, after exactly one hash each', async () => {
    const person = await t.signUpAndLogIn(instanceSlug);
    const calls: string[] = [];
    const hasher = t.ctx.hasher;
    const original = { verify: hasher.verify, verifyDummy: hasher.verifyDummy };
    hasher.verify = async (...args) => { calls.push('verify'); return original.verify(...args); };
    hasher.verifyDummy = async (...args) => { calls.push('dummy'); return original.verifyDummy(...args); };
    try {
      const known = await t.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: person.email, password: 'wrong-password-123' } });
      const knownCalls = calls.splice(0);
      const unknown = await t.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: newEmail('ghost'), password: 'wrong-password-123' } });
      const unknownCalls = calls.splice(0);
      assert.equal(known.statusCode, 401);
      assert.equal(unknown.statusCode, known.statusCode);
      const strip = (body: string) => ({ ...JSON.parse(body).error, requestId: undefined });
      assert.deepEqual(strip(unknown.body), strip(known.body));
      assert.deepEqual(knownCalls, ['verify']);
      assert.deepEqual(unknownCalls, ['dummy'], 'an unknown email costs one (dummy) verification too');
    } finally {
      Object.assign(hasher, original);
    }
  });

  test('known and unknown emails get the same answer at sign-up; a known email with the wrong password changes nothing', async () => {
    const person = await t.signUpAndLogIn(instanceSlug);
    const before = await t.ctx.database.db.selectFrom('accounts').selectAll().where('id', '=', person.accountId).executeTakeFirstOrThrow();
    const known = await t.inject({ method: 'POST', url: '/api/v1/auth/signup', payload: { email: person.email, password: 'some-other-password-1', displayName: 'Mallory', instance: instanceSlug } });
    const unknown = await t.inject({ method: 'POST', url: '/api/v1/auth/signup', payload: { email: newEmail(), password: 'some-other-password-1', displayName: 'Mallory', instance: instanceSlug } });
    assert.equal(known.statusCode, 202);
    assert.equal(unknown.statusCode, 202);
    assert.deepEqual(known.json(), unknown.json());
    const afterRow = await t.ctx.database.db.selectFrom('accounts').selectAll().where('id', '=', person.accountId).executeTakeFirstOrThrow();
    assert.deepEqual(afterRow, before, 'the existing account is untouched');
    assert.equal((await t.login(person.email, person.password)).accountId, person.accountId, 'the owner can still log in');
  });

  test('one account joins a second instance by signing up there with its password', async () => {
    const person = await t.signUpAndLogIn(instanceSlug);
    const created = await t.as(owner, { method: 'POST', url: '/api/v1/instances', payload: { slug: `second-${engine}`, name: 'Second', signupMode: 'open' } });
    assert.equal(created.statusCode, 201, created.body);
    const second = created.json<{ slug: string }>();
    const join = await t.inject({ method: 'POST', url: '/api/v1/auth/signup', payload: { email: person.email, password: person.password, displayName: 'Same person', instance: second.slug } });
    assert.equal(join.statusCode, 202);
    const me = await t.as(person, { method: 'GET', url: '/api/v1/me' });
    assert.deepEqual(me.json().instances.map((i: { slug: string }) => i.slug).sort(), [instanceSlug, second.slug].sort());
    assert.equal(await t.ctx.database.db.selectFrom('accounts').select('id').where('email_key', '=', t.ctx.keyring.emailIndex(person.email)).execute().then((r) => r.length), 1);
  });

  test('emails are matched case-insensitively', async () => {
    const person = await t.signUpAndLogIn(instanceSlug);
    const client = await t.login(person.email.toUpperCase(), person.password);
    assert.equal(client.accountId, person.accountId);
  });

  test('changing the password ends every other session and keeps the person logged in', async () => {
    const person = await t.signUpAndLogIn(instanceSlug);
    const otherDevice = await t.login(person.email, person.password, 'bearer');
    const newPw = newPassword();
    const wrong = await t.as(person, { method: 'POST', url: '/api/v1/me/password', payload: { currentPassword: 'not-the-password', newPassword: newPw } });
    assert.equal(wrong.statusCode, 400);
    assert.equal(wrong.json().error.code, 'CURRENT_PASSWORD_INCORRECT');
    const change = await t.as(person, { method: 'POST', url: '/api/v1/me/password', payload: { currentPassword: person.password, newPassword: newPw } });
    assert.equal(change.statusCode, 200, change.body);
    const fresh = change.cookies.find((c) => c.name === 'conclave_session')?.value;
    assert.ok(fresh && fresh !== person.token);
    assert.equal((await t.as(otherDevice, { method: 'GET', url: '/api/v1/me' })).statusCode, 401, 'the other device is logged out');
    assert.equal((await t.as(person, { method: 'GET', url: '/api/v1/me' })).statusCode, 401, 'the old cookie is dead too');
    assert.equal((await t.as({ ...person, token: fresh, csrfToken: change.json().csrfToken }, { method: 'GET', url: '/api/v1/me' })).statusCode, 200);
    await assert.rejects(t.login(person.email, person.password), /401/);
    await t.login(person.email, newPw);
  });

  test('a global epoch bump ends every older session in one write', async () => {
    const a = await t.signUpAndLogIn(instanceSlug);
    const b = await t.login(a.email, a.password, 'bearer');
    await bumpCredentialEpoch(t.ctx, { kind: 'global' });
    assert.equal((await t.as(a, { method: 'GET', url: '/api/v1/me' })).statusCode, 401);
    assert.equal((await t.as(b, { method: 'GET', url: '/api/v1/me' })).statusCode, 401);
    const again = await t.login(a.email, a.password);
    assert.equal((await t.as(again, { method: 'GET', url: '/api/v1/me' })).statusCode, 200, 'new sessions work');
  });

  test('an account epoch bump ends that account\'s sessions only', async () => {
    const a = await t.signUpAndLogIn(instanceSlug);
    const b = await t.signUpAndLogIn(instanceSlug);
    await bumpCredentialEpoch(t.ctx, { kind: 'account', accountId: a.accountId });
    assert.equal((await t.as(a, { method: 'GET', url: '/api/v1/me' })).statusCode, 401);
    assert.equal((await t.as(b, { method: 'GET', url: '/api/v1/me' })).statusCode, 200);
  });

  test('an instance epoch bump ends older sessions\' access to that instance', async () => {
    const member = await t.signUpAndLogIn(instanceSlug);
    assert.equal((await t.as(member, { method: 'GET', url: `/api/v1/instances/${instanceId}` })).statusCode, 200);
    const { bumpInstanceEpoch } = await import('../instances/index.ts');
    await bumpInstanceEpoch(t.ctx, instanceId);
    const denied = await t.as(member, { method: 'GET', url: `/api/v1/instances/${instanceId}` });
    assert.equal(denied.statusCode, 401);
    const again = await t.login(member.email, member.password);
    assert.equal((await t.as(again, { method: 'GET', url: `/api/v1/instances/${instanceId}` })).statusCode, 200);
  });

  test('sessions expire when idle too long and at their absolute age', async () => {
    const person = await t.signUpAndLogIn(instanceSlug);
    const realNow = t.ctx.now;
    try {
      const start = realNow();
      t.ctx.now = () => start + t.ctx.config.sessionIdleTtlMs - 60_000;
      assert.equal((await t.as(person, { method: 'GET', url: '/api/v1/me' })).statusCode, 200, 'use extends the idle window');
      t.ctx.now = () => start + t.ctx.config.sessionIdleTtlMs + 60_000;
      assert.equal((await t.as(person, { method: 'GET', url: '/api/v1/me' })).statusCode, 200, 'still within the extended idle window');
      t.ctx.now = () => start + t.ctx.config.sessionMaxTtlMs + 1;
      assert.equal((await t.as(person, { method: 'GET', url: '/api/v1/me' })).statusCode, 401, 'dead at the absolute age, however active');
      const idle = await t.login(person.email, person.password);
      const loggedInAt = t.ctx.now();
      t.ctx.now = () => loggedInAt + t.ctx.config.sessionIdleTtlMs + 1;
      assert.equal((await t.as(idle, { method: 'GET', url: '/api/v1/me' })).statusCode, 401, 'dead after the idle timeout');
    } finally {
      t.ctx.now = realNow;
    }
  });
});

describeEachEngine('CSRF and origin guards', (engine) => {
  let t: TestApp;
  let instanceSlug: string;
  before(async () => {
    t = await createTestApp(engine);
    ({ instanceSlug } = await t.setUp());
    await t.ctx.database.db.updateTable('instances').set({ signup_mode: 'open' }).execute();
  });
  after(() => t.close());

  test('a cookie-authenticated write without the CSRF token is refused and does nothing', async () => {
    const person = await t.signUpAndLogIn(instanceSlug);
    const headers = { cookie: `conclave_session=${person.token}` };
    const missing = await t.inject({ method: 'POST', url: '/api/v1/me/password', headers, payload: { currentPassword: person.password, newPassword: newPassword() } });
    assert.equal(missing.statusCode, 403);
    assert.equal(missing.json().error.code, 'CSRF_TOKEN_INVALID');
    const wrong = await t.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: { ...headers, 'x-csrf-token': 'forged-token-value' } });
    assert.equal(wrong.statusCode, 403);
    assert.equal((await t.as(person, { method: 'GET', url: '/api/v1/me' })).statusCode, 200, 'the session survived');
    await t.login(person.email, person.password);
  });

  test('reads need no CSRF token; a cross-site Origin on a write is refused', async () => {
    const person = await t.signUpAndLogIn(instanceSlug);
    assert.equal((await t.inject({ method: 'GET', url: '/api/v1/me', headers: { cookie: `conclave_session=${person.token}` } })).statusCode, 200);
    const crossSite = await t.inject({ method: 'POST', url: '/api/v1/auth/login', headers: { origin: 'https://evil.example' }, payload: { email: person.email, password: person.password } });
    assert.equal(crossSite.statusCode, 403);
    assert.equal(crossSite.json().error.code, 'ORIGIN_NOT_ALLOWED');
    const sameSite = await t.inject({ method: 'POST', url: '/api/v1/auth/login', headers: { origin: t.ctx.config.publicUrl.origin }, payload: { email: person.email, password: person.password } });
    assert.equal(sameSite.statusCode, 200);
  });
});

describe('cookies over https', () => {
  test('behind an https PUBLIC_URL the session cookie is Secure, HttpOnly and __Host- prefixed', async () => {
    const t = await createTestApp('sqlite', { PUBLIC_URL: 'https://chat.example.org' });
    try {
      const { issueSetupToken } = await import('../instances/index.ts');
      const setupToken = await issueSetupToken(t.ctx);
      const response = await t.inject({
        method: 'POST',
        url: '/api/v1/setup',
        payload: { setupToken, instance: { slug: 'secure', name: 'Secure' }, owner: { email: newEmail(), displayName: 'O', password: newPassword() } },
      });
      assert.equal(response.statusCode, 201);
      const cookie = response.cookies.find((c) => c.name === '__Host-conclave_session');
      assert.ok(cookie, `cookies: ${response.cookies.map((c) => c.name).join(',')}`);
      assert.equal(cookie.secure, true);
      assert.equal(cookie.httpOnly, true);
      assert.equal(cookie.path, '/');
      assert.equal(cookie.domain, undefined);
      const me = await t.inject({ method: 'GET', url: '/api/v1/me', headers: { cookie: `__Host-conclave_session=${cookie.value}` } });
      assert.equal(me.statusCode, 200);
    } finally {
      await t.close();
    }
  });
});

describeEachEngine('rate limits on authentication', (engine) => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp(engine, { AUTH_RATE_LIMIT_IP: '5/1m', AUTH_RATE_LIMIT_ACCOUNT: '3/1m' });
  });
  after(() => t.close());

  test('per account: the fourth attempt on one email within the window is refused with Retry-After, from any address', async () => {
    const email = newEmail('target');
    const statuses: number[] = [];
    for (let i = 0; i < 4; i += 1) {
      const r = await t.inject({ method: 'POST', url: '/api/v1/auth/login', remoteAddress: `10.0.0.${i + 1}`, payload: { email, password: 'guess-number-123' } });
      statuses.push(r.statusCode);
      if (r.statusCode === 429) {
        assert.equal(r.json().error.code, 'RATE_LIMITED');
        assert.ok(Number(r.headers['retry-after']) > 0, 'Retry-After is set');
      }
    }
    assert.deepEqual(statuses, [401, 401, 401, 429]);
  });

  test('per account on change-password: a stolen session cannot keep guessing the current password', async () => {
    const t2 = await createTestApp(engine, { AUTH_RATE_LIMIT_ACCOUNT: '3/1m' });
    try {
      const { owner } = await t2.setUp();
      const statuses: number[] = [];
      for (let i = 0; i < 4; i += 1) {
        const r = await t2.as(owner, { method: 'POST', url: '/api/v1/me/password', remoteAddress: `10.1.0.${i + 1}`, payload: { currentPassword: `guess-${i}-password`, newPassword: newPassword() } });
        statuses.push(r.statusCode);
      }
      assert.deepEqual(statuses, [400, 400, 400, 429]);
    } finally {
      await t2.close();
    }
  });

  test('per address: the sixth attempt from one address is refused, whatever the email', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i += 1) {
      const r = await t.inject({ method: 'POST', url: '/api/v1/auth/login', remoteAddress: '10.9.9.9', payload: { email: newEmail('spray'), password: 'guess-number-123' } });
      statuses.push(r.statusCode);
    }
    assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429]);
    const signup = await t.inject({ method: 'POST', url: '/api/v1/auth/signup', remoteAddress: '10.9.9.9', payload: { email: newEmail(), password: 'guess-number-123', displayName: 'x', instance: 'none' } });
    assert.notEqual(signup.statusCode, 500);
  });
});
