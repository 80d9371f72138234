import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { dumpDatabase } from '../testing/dump.ts';
import { isType, openStream } from '../testing/stream-client.ts';
import { recordSecret } from '../testing/secret-ledger.ts';
import { closeTestPools, createTestApp, describeEachEngine, type Client, type Response, type TestApp } from '../testing/test-app.ts';
import { TWO_FACTOR_ATTEMPT_WINDOW_MS, TWO_FACTOR_MAX_ATTEMPTS } from './two-factor.actions.ts';
import { TOTP_PERIOD_SECONDS, normalizeRecoveryCode, totpCodeAt } from './two-factor.codes.ts';

after(closeTestPools);

const STEP_MS = TOTP_PERIOD_SECONDS * 1000;

describeEachEngine('two-factor authentication (TOTP)', (engine) => {
  let t: TestApp;
  let owner: Client;
  let member: Client;
  let instanceId: string;
  let instanceSlug: string;
  let roomId: string;
  const realNow = Date.now;
  /** Every secret these tests saw: none may reach the database or the logs. */
  const seen: string[] = [];

  const remember = (value: string): string => {
    recordSecret(value);
    seen.push(value);
    return value;
  };

  /** The middle of a 30-second step, `days` ahead: far from any step used before, and from step edges. */
  const stepMiddle = (days: number): number => (Math.floor(realNow() / STEP_MS) + (days * 86_400_000) / STEP_MS) * STEP_MS + STEP_MS / 2;

  const passwordStep = async (client: Client, mode: 'cookie' | 'bearer' = 'cookie'): Promise<Response> =>
    t.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: client.email, password: client.password, mode } });

  /** The password step of a log-in with 2FA on: 401 TWO_FACTOR_REQUIRED and its challenge token. */
  const challengeFor = async (client: Client): Promise<string> => {
    const response = await passwordStep(client);
    assert.equal(response.statusCode, 401, response.body);
    assert.equal(response.json().error.code, 'TWO_FACTOR_REQUIRED');
    assert.equal(response.cookies.length, 0, 'no session from the password alone');
    const token = response.json<{ challenge: { token: string } }>().challenge.token;
    assert.match(token, /^cnv_2fa_[A-Za-z0-9_-]{43}$/);
    return remember(token);
  };

  const secondStep = (challenge: string, proof: { code?: string; recoveryCode?: string }, mode: 'cookie' | 'bearer' = 'bearer'): Promise<Response> =>
    t.inject({ method: 'POST', url: '/api/v1/auth/login/2fa', payload: { challenge, ...proof, mode } });

  const newPerson = async (): Promise<Client> => {
    const invite = await t.as(owner, { method: 'POST', url: `/api/v1/instances/${instanceId}/invites`, payload: {} });
    return t.signUpAndLogIn(instanceSlug, { inviteToken: invite.json<{ token: string }>().token });
  };

  /** Turns 2FA on for a client: returns the secret and the recovery codes. */
  const enroll = async (client: Client): Promise<{ secret: string; recoveryCodes: string[] }> => {
    const setup = await t.as(client, { method: 'POST', url: '/api/v1/me/2fa/setup', payload: { password: client.password } });
    assert.equal(setup.statusCode, 200, setup.body);
    const secret = remember(setup.json<{ secret: string }>().secret);
    const enable = await t.as(client, { method: 'POST', url: '/api/v1/me/2fa/enable', payload: { code: totpCodeAt(secret, t.ctx.now()) } });
    assert.equal(enable.statusCode, 200, enable.body);
    const recoveryCodes = enable.json<{ recoveryCodes: string[] }>().recoveryCodes.map(remember);
    return { secret, recoveryCodes };
  };

  before(async () => {
    t = await createTestApp(engine);
    const setup = await t.setUpWithMember();
    ({ owner, member, instanceId, instanceSlug } = setup);
    const room = await t.as(owner, { method: 'POST', url: `/api/v1/instances/${instanceId}/rooms`, payload: { name: 'Two factor' } });
    roomId = room.json<{ id: string }>().id;
    assert.equal((await t.as(member, { method: 'POST', url: `/api/v1/rooms/${roomId}/join` })).statusCode, 204);
  });
  after(async () => {
    t.ctx.now = realNow;
    await t.close();
  });

  test('setup needs the password, stays pending until a code confirms it, then log-in takes a second step', async () => {
    const person = await newPerson();
    // The clock stands still in the middle of a step (a day ahead): no step boundary falls between two calls.
    const base = stepMiddle(1);
    t.ctx.now = () => base;
    try {
      await enrollThenLogIn(person, base);
    } finally {
      t.ctx.now = realNow;
    }
    const actions = (await t.ctx.database.db.selectFrom('audit_entries').select('action').where('actor_id', '=', person.accountId).execute()).map((r) => r.action);
    for (const action of ['two_factor.setup', 'two_factor.enable', 'auth.two_factor_challenge', 'two_factor.code_failed', 'auth.login']) assert.ok(actions.includes(action), `audit has ${action}: ${actions.join(', ')}`);
  });

  const enrollThenLogIn = async (person: Client, base: number): Promise<void> => {
    const wrong = await t.as(person, { method: 'POST', url: '/api/v1/me/2fa/setup', payload: { password: `${person.password}x` } });
    assert.equal(wrong.json().error.code, 'CURRENT_PASSWORD_INCORRECT');
    assert.equal((await t.as(person, { method: 'POST', url: '/api/v1/me/2fa/enable', payload: { code: '123456' } })).json().error.code, 'TWO_FACTOR_SETUP_MISSING');

    const setup = await t.as(person, { method: 'POST', url: '/api/v1/me/2fa/setup', payload: { password: person.password } });
    assert.equal(setup.statusCode, 200, setup.body);
    const body = setup.json<{ secret: string; otpauthUri: string; digits: number; period: number; algorithm: string }>();
    const secret = remember(body.secret);
    assert.match(secret, /^[A-Z2-7]{32}$/, '160 bits, base32');
    const uri = new URL(body.otpauthUri);
    assert.equal(uri.protocol, 'otpauth:');
    assert.equal(uri.host, 'totp');
    assert.equal(uri.searchParams.get('secret'), secret);
    assert.ok(decodeURIComponent(uri.pathname).endsWith(`:${person.email}`), uri.pathname);
    assert.deepEqual([body.algorithm, body.digits, body.period], ['SHA1', 6, 30]);

    const pending = await t.as(person, { method: 'GET', url: '/api/v1/me/2fa' });
    assert.deepEqual(pending.json(), { enabled: false, pending: true, recoveryCodesLeft: 0 });
    assert.equal((await passwordStep(person)).statusCode, 200, 'a pending setup does not change log-in');

    const badCode = totpCodeAt(secret, base + 10 * STEP_MS);
    assert.equal((await t.as(person, { method: 'POST', url: '/api/v1/me/2fa/enable', payload: { code: badCode } })).json().error.code, 'TWO_FACTOR_CODE_INVALID');
    const enable = await t.as(person, { method: 'POST', url: '/api/v1/me/2fa/enable', payload: { code: totpCodeAt(secret, base) } });
    assert.equal(enable.statusCode, 200, enable.body);
    const codes = enable.json<{ recoveryCodes: string[] }>().recoveryCodes.map(remember);
    assert.equal(codes.length, 10);
    assert.equal(new Set(codes).size, 10);
    for (const code of codes) assert.match(code, /^[0-9a-hjkmnp-tv-z]{5}(-[0-9a-hjkmnp-tv-z]{5}){3}$/);
    assert.equal((await t.as(person, { method: 'GET', url: '/api/v1/me/2fa' })).json().recoveryCodesLeft, 10);
    assert.equal((await t.as(person, { method: 'GET', url: '/api/v1/me' })).json().account.twoFactorEnabled, true);
    const again = await t.as(person, { method: 'POST', url: '/api/v1/me/2fa/setup', payload: { password: person.password } });
    assert.equal(again.json().error.code, 'TWO_FACTOR_ALREADY_ENABLED', 'a second setup cannot silently replace the authenticator');

    const challenge = await challengeFor(person);
    // The code that confirmed the setup was used: it does not log in (replay), even within its window.
    assert.equal((await secondStep(challenge, { code: totpCodeAt(secret, base) })).json().error.code, 'TWO_FACTOR_CODE_INVALID');
    const later = base + STEP_MS;
    t.ctx.now = () => later;
    const done = await secondStep(challenge, { code: totpCodeAt(secret, later) });
    assert.equal(done.statusCode, 200, done.body);
    const token = done.json<{ token: string }>().token;
    assert.equal((await t.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization: `Bearer ${token}` } })).statusCode, 200);
    assert.equal((await secondStep(challenge, { code: totpCodeAt(secret, later + STEP_MS) })).json().error.code, 'TWO_FACTOR_CHALLENGE_INVALID', 'a challenge works once');
    const replay = await secondStep(await challengeFor(person), { code: totpCodeAt(secret, later) });
    assert.equal(replay.json().error.code, 'TWO_FACTOR_CODE_INVALID', 'a code used once is refused in its window');

    const last = later + STEP_MS;
    t.ctx.now = () => last;
    const cookieLogin = await secondStep(await challengeFor(person), { code: totpCodeAt(secret, last) }, 'cookie');
    assert.equal(cookieLogin.statusCode, 200, cookieLogin.body);
    assert.ok(cookieLogin.cookies.some((c) => c.name === 'conclave_session'), 'a cookie session after the second step');
  };

  test('codes one step early or late are accepted, three steps away refused', async () => {
    const { secret } = await enroll(member);
    const base = stepMiddle(2);
    t.ctx.now = () => base;
    try {
      for (const offset of [-90_000, 90_000]) {
        const response = await secondStep(await challengeFor(member), { code: totpCodeAt(secret, base + offset) });
        assert.equal(response.json().error.code, 'TWO_FACTOR_CODE_INVALID', `a code from ${offset / 1000} s is refused`);
      }
      // Older steps first: once a step is used, that step and the ones before it are spent.
      const early = await secondStep(await challengeFor(member), { code: totpCodeAt(secret, base - 30_000) });
      assert.equal(early.statusCode, 200, `a code from 30 s ago: ${early.body}`);
      const late = await secondStep(await challengeFor(member), { code: totpCodeAt(secret, base + 30_000) });
      assert.equal(late.statusCode, 200, `a code from 30 s ahead: ${late.body}`);
      const older = await secondStep(await challengeFor(member), { code: totpCodeAt(secret, base) });
      assert.equal(older.json().error.code, 'TWO_FACTOR_CODE_INVALID', 'a step older than one already used is refused');
    } finally {
      t.ctx.now = realNow;
    }
    await disable(member, secret, stepMiddle(3));
  });

  const disable = async (client: Client, secret: string, at: number): Promise<void> => {
    t.ctx.now = () => at;
    try {
      const off = await t.as(client, { method: 'POST', url: '/api/v1/me/2fa/disable', payload: { password: client.password, code: totpCodeAt(secret, at) } });
      assert.equal(off.statusCode, 204, off.body);
    } finally {
      t.ctx.now = realNow;
    }
  };

  test('recovery codes log in once each; new ones replace the old; disabling needs password and a code', async () => {
    const person = await newPerson();
    const { secret, recoveryCodes } = await enroll(person);
    const [first, second] = recoveryCodes;
    assert.ok(first && second);
    const used = await secondStep(await challengeFor(person), { recoveryCode: first.toUpperCase().replaceAll('-', ' ') });
    assert.equal(used.statusCode, 200, `case, spaces and hyphens do not matter: ${used.body}`);
    const reused = await secondStep(await challengeFor(person), { recoveryCode: first });
    assert.equal(reused.json().error.code, 'TWO_FACTOR_CODE_INVALID', 'a recovery code works once');
    assert.equal((await t.as(person, { method: 'GET', url: '/api/v1/me/2fa' })).json().recoveryCodesLeft, 9);
    const both = await secondStep(await challengeFor(person), { code: '000000', recoveryCode: second });
    assert.equal(both.json().error.code, 'VALIDATION_FAILED', 'exactly one second factor');

    const at = stepMiddle(4);
    t.ctx.now = () => at;
    let fresh: string[];
    try {
      const wrongPassword = await t.as(person, { method: 'POST', url: '/api/v1/me/2fa/recovery-codes', payload: { password: `${person.password}!`, code: totpCodeAt(secret, at) } });
      assert.equal(wrongPassword.json().error.code, 'CURRENT_PASSWORD_INCORRECT');
      const renewed = await t.as(person, { method: 'POST', url: '/api/v1/me/2fa/recovery-codes', payload: { password: person.password, code: totpCodeAt(secret, at) } });
      assert.equal(renewed.statusCode, 200, renewed.body);
      fresh = renewed.json<{ recoveryCodes: string[] }>().recoveryCodes.map(remember);
    } finally {
      t.ctx.now = realNow;
    }
    assert.equal((await secondStep(await challengeFor(person), { recoveryCode: second })).json().error.code, 'TWO_FACTOR_CODE_INVALID', 'old codes stop working');
    assert.equal((await secondStep(await challengeFor(person), { recoveryCode: fresh[0] ?? '' })).statusCode, 200);

    const noCode = await t.as(person, { method: 'POST', url: '/api/v1/me/2fa/disable', payload: { password: person.password } });
    assert.equal(noCode.json().error.code, 'VALIDATION_FAILED');
    const wrongCode = await t.as(person, { method: 'POST', url: '/api/v1/me/2fa/disable', payload: { password: person.password, recoveryCode: second } });
    assert.equal(wrongCode.json().error.code, 'TWO_FACTOR_CODE_INVALID');
    const off = await t.as(person, { method: 'POST', url: '/api/v1/me/2fa/disable', payload: { password: person.password, recoveryCode: fresh[1] ?? '' } });
    assert.equal(off.statusCode, 204, off.body);
    assert.equal((await passwordStep(person)).statusCode, 200, 'one step again');
    assert.deepEqual((await t.as(person, { method: 'GET', url: '/api/v1/me/2fa' })).json(), { enabled: false, pending: false, recoveryCodesLeft: 0 });
    const audit = (await t.ctx.database.db.selectFrom('audit_entries').select('action').where('actor_id', '=', person.accountId).execute()).map((r) => r.action);
    for (const action of ['two_factor.recovery_code_used', 'two_factor.recovery_codes_regenerate', 'two_factor.disable', 'two_factor.code_failed']) assert.ok(audit.includes(action), `audit has ${action}`);
  });

  test(`wrong codes are limited per account: ${TWO_FACTOR_MAX_ATTEMPTS} per window, across challenges, then even the right one waits`, async () => {
    const person = await newPerson();
    const { secret } = await enroll(person);
    const base = stepMiddle(5);
    t.ctx.now = () => base;
    try {
      const wrong = totpCodeAt(secret, base + 20 * STEP_MS);
      for (let i = 0; i < TWO_FACTOR_MAX_ATTEMPTS; i += 1) {
        const response = await secondStep(await challengeFor(person), { code: wrong });
        assert.equal(response.json().error.code, 'TWO_FACTOR_CODE_INVALID', `attempt ${i + 1}`);
      }
      const limited = await secondStep(await challengeFor(person), { code: totpCodeAt(secret, base) });
      assert.equal(limited.statusCode, 429, limited.body);
      assert.equal(limited.json().error.code, 'RATE_LIMITED');
      assert.ok(Number(limited.headers['retry-after']) > 0);
      const recovery = await secondStep(await challengeFor(person), { recoveryCode: 'aaaaa-bbbbb-ccccc-ddddd' });
      assert.equal(recovery.statusCode, 429, 'recovery codes count against the same limit');

      const next = base + TWO_FACTOR_ATTEMPT_WINDOW_MS + 1;
      t.ctx.now = () => next;
      const allowed = await secondStep(await challengeFor(person), { code: totpCodeAt(secret, next) });
      assert.equal(allowed.statusCode, 200, `after the window: ${allowed.body}`);
    } finally {
      t.ctx.now = realNow;
    }
  });

  test('a challenge expires, and dies when the password changes', async () => {
    const person = await newPerson();
    const { secret } = await enroll(person);
    const challenge = await challengeFor(person);
    const at = stepMiddle(6);
    t.ctx.now = () => at;
    try {
      assert.equal((await secondStep(challenge, { code: totpCodeAt(secret, at) })).json().error.code, 'TWO_FACTOR_CHALLENGE_INVALID', 'five minutes have long passed');
    } finally {
      t.ctx.now = realNow;
    }
    const pending = await challengeFor(person);
    const newPassword = `${person.password}-2`;
    remember(newPassword);
    assert.equal((await t.as(person, { method: 'POST', url: '/api/v1/me/password', payload: { currentPassword: person.password, newPassword } })).statusCode, 200);
    // Two steps ahead of the code that enabled 2FA, well inside the challenge's five minutes.
    const later = realNow() + 2 * STEP_MS;
    t.ctx.now = () => later;
    try {
      assert.equal((await secondStep(pending, { code: totpCodeAt(secret, later) })).json().error.code, 'TWO_FACTOR_CHALLENGE_INVALID', 'a password change ends pending log-ins');
    } finally {
      t.ctx.now = realNow;
    }
    assert.equal((await secondStep('cnv_2fa_made-up', { code: '123456' })).json().error.code, 'TWO_FACTOR_CHALLENGE_INVALID');
  });

  test('an instance requiring 2FA lets covered people without it log in and enroll, and nothing else there', async () => {
    const patch = await t.as(owner, { method: 'PATCH', url: `/api/v1/instances/${instanceId}`, payload: { twoFactorRequired: 'admins' } });
    assert.equal(patch.statusCode, 200, patch.body);
    assert.equal(patch.json().twoFactorRequired, 'admins');
    try {
      // The owner has no 2FA: the instance and its rooms answer TWO_FACTOR_ENROLLMENT_REQUIRED; members are not covered.
      const ownerNow = await t.login(owner.email, owner.password);
      for (const url of [`/api/v1/instances/${instanceId}`, `/api/v1/rooms/${roomId}/messages`, `/api/v1/instances/${instanceId}/members`]) {
        const response = await t.as(ownerNow, { method: 'GET', url });
        assert.equal(response.statusCode, 403, `${url}: ${response.body}`);
        assert.equal(response.json().error.code, 'TWO_FACTOR_ENROLLMENT_REQUIRED');
      }
      const posted = await t.as(ownerNow, { method: 'POST', url: `/api/v1/rooms/${roomId}/messages`, payload: { body: 'not yet' } });
      assert.equal(posted.json().error.code, 'TWO_FACTOR_ENROLLMENT_REQUIRED');
      const me = await t.as(ownerNow, { method: 'GET', url: '/api/v1/me' });
      assert.equal(me.statusCode, 200);
      assert.deepEqual(me.json().instances.map((i: { id: string; twoFactorRequired: string }) => [i.id, i.twoFactorRequired]), [[instanceId, 'admins']]);
      const snapshot = await t.as(ownerNow, { method: 'GET', url: '/api/v1/snapshot' });
      assert.equal(snapshot.statusCode, 200);
      assert.deepEqual(snapshot.json().rooms, [], 'the snapshot leaves the instance out');
      const memberNow = await t.login(member.email, member.password);
      assert.equal((await t.as(memberNow, { method: 'GET', url: `/api/v1/rooms/${roomId}/messages` })).statusCode, 200, 'members are not covered by "admins"');

      const { secret } = await enroll(ownerNow);
      assert.equal((await t.as(ownerNow, { method: 'GET', url: `/api/v1/rooms/${roomId}/messages` })).statusCode, 200, 'enrolled: the same session enters');

      const everyone = await t.as(ownerNow, { method: 'PATCH', url: `/api/v1/instances/${instanceId}`, payload: { twoFactorRequired: 'everyone' } });
      assert.equal(everyone.statusCode, 200, everyone.body);
      const blocked = await t.as(memberNow, { method: 'GET', url: `/api/v1/rooms/${roomId}/messages` });
      assert.equal(blocked.json().error.code, 'TWO_FACTOR_ENROLLMENT_REQUIRED');
      // The stream: the member's socket does not hear the room; the enrolled owner's does.
      const base = await t.listen();
      const memberBearer = await t.login(member.email, member.password, 'bearer');
      const ownerBearer = await t.login(owner.email, owner.password, 'bearer').catch(() => undefined);
      assert.equal(ownerBearer, undefined, 'the owner now logs in with two steps');
      const ownerStream = await openStream(base, { cookie: `conclave_session=${ownerNow.token}` });
      const memberStream = await openStream(base, { token: memberBearer.token });
      try {
        await ownerStream.next(isType('ready'));
        await memberStream.next(isType('ready'));
        const posted = await t.post(ownerNow, roomId, 'only for the enrolled');
        await ownerStream.next(isType('message.created', (frame) => (frame['message'] as { id: string }).id === posted.id));
        await new Promise((resolve) => setTimeout(resolve, 200));
        assert.ok(!memberStream.frames.some((frame) => frame.type === 'message.created'), `the member's stream heard nothing of the instance: ${JSON.stringify(memberStream.frames).slice(0, 300)}`);
      } finally {
        ownerStream.close();
        memberStream.close();
      }
      const search = await t.as(memberNow, { method: 'GET', url: '/api/v1/search?q=anything' });
      assert.equal(search.statusCode, 200, 'search leaves the instance out');
      assert.deepEqual(search.json().results, []);
      const audit = await t.ctx.database.db.selectFrom('audit_entries').select('detail').where('action', '=', 'instance.update').where('instance_id', '=', instanceId).execute();
      assert.ok(audit.some((r) => r.detail.includes('"twoFactorRequired":"everyone"')), 'the audit records the new requirement');
      await disable(ownerNow, secret, stepMiddle(8));
    } finally {
      const reset = await t.ctx.database.db.updateTable('instances').set({ two_factor_required: 'off' }).where('id', '=', instanceId).executeTakeFirst();
      assert.equal(Number(reset.numUpdatedRows), 1);
    }
  });

  test('bad input to the two-factor routes: a clear 4xx with a catalog code, nothing changed', async () => {
    const person = await t.login(member.email, member.password);
    const before = (await t.as(person, { method: 'GET', url: '/api/v1/me/2fa' })).json<unknown>();
    const cases: Array<[string, string, unknown, number, string]> = [
      ['POST', '/api/v1/me/2fa/setup', {}, 400, 'VALIDATION_FAILED'],
      ['POST', '/api/v1/me/2fa/setup', { password: member.password, extra: 1 }, 400, 'VALIDATION_FAILED'],
      ['POST', '/api/v1/me/2fa/enable', { code: '12345' }, 400, 'VALIDATION_FAILED'],
      ['POST', '/api/v1/me/2fa/enable', { code: '1234567' }, 400, 'VALIDATION_FAILED'],
      ['POST', '/api/v1/me/2fa/enable', { code: 'abcdef' }, 400, 'VALIDATION_FAILED'],
      ['POST', '/api/v1/me/2fa/enable', { code: '123456' }, 409, 'TWO_FACTOR_SETUP_MISSING'],
      ['POST', '/api/v1/me/2fa/disable', { password: member.password, code: '123456' }, 409, 'TWO_FACTOR_NOT_ENABLED'],
      ['POST', '/api/v1/auth/login/2fa', { code: '123456' }, 400, 'VALIDATION_FAILED'],
      ['POST', '/api/v1/auth/login/2fa', { challenge: 'x'.repeat(257), code: '123456' }, 400, 'VALIDATION_FAILED'],
      ['POST', '/api/v1/auth/login/2fa', { challenge: 'cnv_2fa_not-a-real-one', code: '123456' }, 401, 'TWO_FACTOR_CHALLENGE_INVALID'],
      ['POST', '/api/v1/auth/login/2fa', { challenge: 'cnv_2fa_not-a-real-one', recoveryCode: 'line\nbreak' }, 400, 'VALIDATION_FAILED'],
    ];
    for (const [method, url, payload, status, code] of cases) {
      const response = url.startsWith('/api/v1/auth/')
        ? await t.inject({ method: method as 'POST', url, payload: payload as Record<string, unknown> })
        : await t.as(person, { method: method as 'POST', url, payload: payload as Record<string, unknown> });
      assert.equal(response.statusCode, status, `${url} ${JSON.stringify(payload)}: ${response.body}`);
      assert.equal(response.json().error.code, code, `${url} ${JSON.stringify(payload)}`);
    }
    assert.deepEqual((await t.as(person, { method: 'GET', url: '/api/v1/me/2fa' })).json<unknown>(), before, 'nothing changed');
  });

  test('the database holds no TOTP secret, recovery code or challenge token, in any form', async () => {
    assert.ok(seen.length > 20, `the other tests ran first (${seen.length} secrets)`);
    const dump = await dumpDatabase(t);
    const rows = await t.ctx.database.db.selectFrom('two_factor').select('secret').execute();
    assert.ok(rows.length > 0 && rows.every((r) => r.secret.startsWith('cv1.')), 'secrets are sealed');
    assert.ok((await t.ctx.database.db.selectFrom('two_factor_recovery_codes').select('code_hash').execute()).every((r) => /^[0-9a-f]{64}$/.test(r.code_hash)));
    for (const secret of seen) {
      for (const form of [secret, secret.toLowerCase(), normalizeRecoveryCode(secret)]) assert.ok(!dump.includes(form), `a secret starting ${secret.slice(0, 4)} is in the database`);
    }
  });
});
