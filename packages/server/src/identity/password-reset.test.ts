import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, afterEach, before, test } from 'node:test';
import { createMailWorker, createSmtpTransport, openMail, type MailWorker } from '../mail/index.ts';
import { resetTokenIn, startSmtpSink, type SmtpSink } from '../testing/smtp-sink.ts';
import { recordSecret } from '../testing/secret-ledger.ts';
import { closeTestPools, createTestApp, describeEachEngine, newEmail, newPassword, type Client, type Response, type TestApp } from '../testing/test-app.ts';
import { emailKeyOf, prepareAccount, saveNewAccount } from './index.ts';

after(closeTestPools);

const RESET = '/api/v1/auth/password-reset';
const CONFIRM = '/api/v1/auth/password-reset/confirm';
const errorOf = (response: Response): { code: string; message: string } => response.json<{ error: { code: string; message: string } }>().error;

describeEachEngine('password reset and forced resets', (engine) => {
  let t: TestApp;
  let sink: SmtpSink;
  let worker: MailWorker;
  let owner: Client;
  let member: Client;
  let instanceId: string;
  let instanceSlug: string;

  /** Delivers everything due now through the real SMTP worker. */
  const deliver = async (): Promise<void> => {
    while ((await worker.runOnce()) > 0);
  };
  const me = (client: Client) => t.as(client, { method: 'GET', url: '/api/v1/me' });
  const login = (email: string, password: string) => t.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password } });
  const requestReset = (email: string, remoteAddress?: string) => t.inject({ method: 'POST', url: RESET, payload: { email }, ...(remoteAddress ? { remoteAddress } : {}) });
  const confirm = (token: string, password: string) => t.inject({ method: 'POST', url: CONFIRM, payload: { token, newPassword: password } });
  const invite = async (): Promise<string> =>
    (await t.as(owner, { method: 'POST', url: `/api/v1/instances/${instanceId}/invites`, payload: {} })).json<{ token: string }>().token;
  const newMember = async (): Promise<Client> => t.signUpAndLogIn(instanceSlug, { inviteToken: await invite() });
  /** The one mail the sink got for an address since `from` (an index into received). */
  const onlyMailTo = (address: string, from = 0) => {
    const mails = sink.received.slice(from).filter((m) => m.to === address);
    assert.equal(mails.length, 1, `one mail to ${address}, got ${mails.length}`);
    return mails[0]!;
  };

  before(async () => {
    sink = await startSmtpSink();
    t = await createTestApp(engine, { SMTP_URL: sink.url, PUBLIC_URL: 'http://chat.example.org', PASSWORD_RESET_RATE_LIMIT_IP: '100000/1m', PASSWORD_RESET_RATE_LIMIT_EMAIL: '100000/1m' });
    worker = createMailWorker(t.ctx, { transport: createSmtpTransport(new URL(sink.url), { maxConnections: 2 }), concurrency: 2 });
    ({ owner, member, instanceId, instanceSlug } = await t.setUpWithMember());
  });
  after(async () => {
    await worker.stop();
    await t.close();
    await sink.close();
  });
  afterEach(deliver);

  test('a reset link arrives, works once, ends every session, and a "password changed" notice follows', async () => {
    const person = await newMember();
    const second = await t.login(person.email, person.password, 'bearer');
    const start = sink.received.length;
    const asked = await requestReset(person.email);
    assert.equal(asked.statusCode, 202);
    assert.equal(asked.json().status, 'accepted');
    await deliver();
    const mail = onlyMailTo(person.email, start);
    assert.equal(mail.subject, 'Reset your Conclave password');
    assert.match(mail.messageId, /^<[0-9a-f-]{36}@chat\.example\.org>$/, 'Message-ID: the mail id at the public host');
    const token = resetTokenIn(mail);
    assert.ok(mail.text.includes(`http://chat.example.org/reset-password#token=${token}`), 'the token rides in the fragment of a link to PUBLIC_URL');
    assert.ok(mail.html.includes(`href="http://chat.example.org/reset-password#token=${token}"`));

    // At rest: the token only as SHA-256; the outbox row sealed, its bodies dropped once delivered.
    const resets = await t.ctx.database.db.selectFrom('password_resets').selectAll().where('account_id', '=', person.accountId).execute();
    assert.equal(resets.length, 1);
    assert.equal(resets[0]?.token_hash, createHash('sha256').update(token).digest('hex'));
    const rows = await t.ctx.database.db.selectFrom('mail_outbox').selectAll().where('account_id', '=', person.accountId).execute();
    assert.equal(rows.length, 1);
    const stored = JSON.stringify(rows);
    assert.ok(!stored.includes(token) && !stored.includes(token.slice(6, 30)), 'no token in the outbox');
    assert.ok(!stored.toLowerCase().includes(person.email.toLowerCase()), 'no address in clear');
    assert.match(rows[0]!.recipient ?? '', /^cv1\./);
    const opened = openMail(t.ctx, rows[0]!);
    assert.equal(opened.status, 'sent');
    assert.equal(opened.to, person.email);
    assert.equal(opened.content.text, undefined, 'the body with the link is not kept after delivery');

    const fresh = newPassword();
    const done = await confirm(token, fresh);
    assert.equal(done.statusCode, 200, done.body);
    assert.deepEqual(done.json(), { status: 'changed', next: 'login' });
    assert.equal((await me(person)).statusCode, 401, 'the cookie session ended');
    assert.equal((await me(second)).statusCode, 401, 'the bearer session ended');
    const old = await login(person.email, person.password);
    assert.equal(old.statusCode, 401);
    assert.equal(errorOf(old).code, 'INVALID_CREDENTIALS');
    assert.equal((await login(person.email, fresh)).statusCode, 200);

    const again = await confirm(token, newPassword());
    assert.equal(again.statusCode, 410);
    assert.equal(errorOf(again).code, 'RESET_TOKEN_USED');
    assert.equal((await login(person.email, fresh)).statusCode, 200, 'the second use changed nothing');

    await deliver();
    const notice = onlyMailTo(person.email, start + 1);
    assert.equal(notice.subject, 'Your Conclave password was changed');
    assert.doesNotMatch(notice.text, /cnv_r_/);
    const audit = await t.ctx.database.db.selectFrom('audit_entries').select(['action', 'actor_id', 'detail']).where('action', 'in', ['auth.password_reset', 'auth.password_reset_request']).execute();
    assert.ok(audit.some((e) => e.action === 'auth.password_reset' && e.actor_id === person.accountId));
    assert.ok(audit.every((e) => !e.detail.includes('@')), 'no email in clear in the audit log');
  });

  test('an expired link, a link asked for twice, and a newer link after use', async () => {
    const person = await newMember();
    const start = sink.received.length;
    assert.equal((await requestReset(person.email)).statusCode, 202);
    assert.equal((await requestReset(person.email)).statusCode, 202);
    await deliver();
    const mails = sink.received.slice(start).filter((m) => m.to === person.email);
    assert.equal(mails.length, 2);
    const [first, second] = mails.map(resetTokenIn) as [string, string];
    await t.ctx.database.db.updateTable('password_resets').set({ expires_at: Date.now() - 1 }).where('token_hash', '=', createHash('sha256').update(first).digest('hex')).execute();
    const expired = await confirm(first, newPassword());
    assert.equal(expired.statusCode, 410);
    assert.equal(errorOf(expired).code, 'RESET_TOKEN_EXPIRED');
    assert.equal((await login(person.email, person.password)).statusCode, 200, 'an expired link changes nothing');
    const fresh = newPassword();
    assert.equal((await confirm(second, fresh)).statusCode, 200, 'the other link still works');
    assert.equal((await login(person.email, fresh)).statusCode, 200);
  });

  test('known and unknown emails get the same answer; only a known one gets mail', async () => {
    const person = await newMember();
    const ghost = newEmail('ghost');
    const start = sink.received.length;
    const timed = async (email: string): Promise<[Response, number]> => {
      const started = performance.now();
      const response = await requestReset(email);
      return [response, performance.now() - started];
    };
    const [known, knownMs] = await timed(person.email);
    const [unknown, unknownMs] = await timed(ghost);
    assert.ok(knownMs >= 14 && unknownMs >= 14, `neither answers before the 15 ms floor (${knownMs.toFixed(1)}, ${unknownMs.toFixed(1)} ms)`);
    assert.equal(known.statusCode, 202);
    assert.equal(unknown.statusCode, known.statusCode);
    assert.equal(unknown.body, known.body, 'byte-identical bodies');
    const headerNames = (r: Response) => Object.keys(r.headers).filter((h) => h !== 'x-request-id' && h !== 'date').sort();
    assert.deepEqual(headerNames(unknown), headerNames(known));
    assert.equal(unknown.headers['content-length'], known.headers['content-length']);
    await deliver();
    assert.equal(sink.received.slice(start).filter((m) => m.to === ghost).length, 0);
    assert.equal(sink.received.slice(start).filter((m) => m.to === person.email).length, 1);
    const entries = await t.ctx.database.db.selectFrom('audit_entries').select(['actor_id', 'detail']).where('action', '=', 'auth.password_reset_request').orderBy('seq', 'desc').limit(2).execute();
    assert.deepEqual(entries.map((e) => Object.keys(JSON.parse(e.detail))), [['emailKey'], ['emailKey']], 'the same entry for both');
    assert.deepEqual(entries.map((e) => e.actor_id), [null, null]);
    assert.deepEqual(new Set(entries.map((e) => JSON.parse(e.detail).emailKey)), new Set([emailKeyOf(t.ctx, ghost), emailKeyOf(t.ctx, person.email)]));
  });

  test('bad input answers 4xx with a catalog code, never a 500, and writes nothing', async () => {
    const person = await newMember();
    const outboxBefore = (await t.ctx.database.db.selectFrom('mail_outbox').select('id').execute()).length;
    const bad: Array<[string, unknown, number, string]> = [
      [RESET, { email: 'not-an-email' }, 400, 'VALIDATION_FAILED'],
      [RESET, {}, 400, 'VALIDATION_FAILED'],
      [RESET, { email: person.email, extra: 1 }, 400, 'VALIDATION_FAILED'],
      [RESET, { email: `${'a'.repeat(250)}@example.org` }, 400, 'VALIDATION_FAILED'],
      [CONFIRM, { newPassword: newPassword() }, 400, 'VALIDATION_FAILED'],
      [CONFIRM, { token: 'cnv_r_abc' }, 400, 'VALIDATION_FAILED'],
      [CONFIRM, { token: 'abc', newPassword: newPassword() }, 400, 'RESET_TOKEN_INVALID'],
      [CONFIRM, { token: `cnv_r_${'A'.repeat(43)}`, newPassword: newPassword() }, 400, 'RESET_TOKEN_INVALID'],
      [CONFIRM, { token: `cnv_r_${'A'.repeat(300)}`, newPassword: newPassword() }, 400, 'VALIDATION_FAILED'],
      [CONFIRM, { token: 'cnv_r_\u0000', newPassword: newPassword() }, 400, 'VALIDATION_FAILED'],
    ];
    for (const [url, payload, status, code] of bad) {
      const response = await t.inject({ method: 'POST', url, payload: payload as Record<string, unknown> });
      assert.equal(response.statusCode, status, `${url} ${JSON.stringify(payload).slice(0, 80)}: ${response.body}`);
      assert.equal(errorOf(response).code, code);
    }
    const notJson = await t.inject({ method: 'POST', url: RESET, payload: 'email=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(notJson.statusCode, 415);

    // A real token with passwords the policy refuses: nothing is used up, the password stays.
    const start = sink.received.length;
    await requestReset(person.email);
    await deliver();
    const token = resetTokenIn(onlyMailTo(person.email, start));
    const refusals: Array<[string, number, string]> = [
      ['short', 400, 'PASSWORD_TOO_SHORT'],
      ['password1', 400, 'PASSWORD_TOO_COMMON'],
      [person.email, 400, 'PASSWORD_MATCHES_CONTEXT'],
      ['x'.repeat(1025), 400, 'PASSWORD_TOO_LONG'],
      ['x'.repeat(5000), 400, 'VALIDATION_FAILED'],
    ];
    for (const [password, status, code] of refusals) {
      const response = await confirm(token, password);
      assert.equal(response.statusCode, status, `${code}: ${response.body}`);
      assert.equal(errorOf(response).code, code);
    }
    assert.equal((await me(person)).statusCode, 200, 'sessions live on');
    assert.equal((await login(person.email, person.password)).statusCode, 200, 'the password did not change');
    const reset = await t.ctx.database.db.selectFrom('password_resets').selectAll().where('token_hash', '=', createHash('sha256').update(token).digest('hex')).executeTakeFirstOrThrow();
    assert.equal(reset.used_at, null, 'the token is not used up');
    const outboxAfter = (await t.ctx.database.db.selectFrom('mail_outbox').select('id').execute()).length;
    assert.equal(outboxAfter, outboxBefore + 1, 'only the one reset mail was queued');
    assert.equal((await confirm(token, newPassword())).statusCode, 200, 'the token still works');
  });

  test('a forced reset: the right password is refused and mails a fresh link at most every 15 minutes; a wrong one is INVALID_CREDENTIALS', async () => {
    const person = await newMember();
    const start = sink.received.length;
    const forced = await t.as(owner, { method: 'POST', url: `/api/v1/instances/${instanceId}/members/${person.accountId}/force-password-reset` });
    assert.equal(forced.statusCode, 200, forced.body);
    assert.deepEqual(forced.json(), { accounts: 1, mailsQueued: 1 }, 'no password, no token in the answer');
    assert.equal((await me(person)).statusCode, 401, 'their session ended');
    await deliver();
    assert.equal(onlyMailTo(person.email, start).subject, 'Choose a new Conclave password');

    const right = await login(person.email, person.password);
    assert.equal(right.statusCode, 403);
    assert.equal(errorOf(right).code, 'PASSWORD_RESET_REQUIRED');
    assert.equal(right.cookies.length, 0, 'no session');
    const wrong = await login(person.email, 'not-the-password-42');
    assert.equal(wrong.statusCode, 401);
    const ghost = await login(newEmail('ghost'), 'not-the-password-42');
    assert.deepEqual({ ...errorOf(wrong), requestId: 0 }, { ...errorOf(ghost), requestId: 0 }, 'a wrong password reveals nothing about the flag');
    // Sign-up to an open instance with that password answers as always but joins nothing.
    const open = await t.as(owner, { method: 'POST', url: '/api/v1/instances', payload: { slug: `open-${engine}`, name: 'Open', signupMode: 'open' } });
    assert.equal(open.statusCode, 201, open.body);
    const signup = await t.inject({ method: 'POST', url: '/api/v1/auth/signup', payload: { email: person.email, password: person.password, displayName: 'X', instance: `open-${engine}` } });
    assert.equal(signup.statusCode, 202);
    const joined = await t.ctx.database.db.selectFrom('memberships').select('instance_id').where('account_id', '=', person.accountId).execute();
    assert.deepEqual(joined.map((m) => m.instance_id), [instanceId], 'a password whose reset is required joins nothing');

    assert.equal((await login(person.email, person.password)).statusCode, 403);
    await deliver();
    assert.equal(sink.received.slice(start).filter((m) => m.to === person.email).length, 1, 'no second mail within 15 minutes');
    // Sixteen minutes later (moved back in storage), the right password mails one fresh link.
    await t.ctx.database.db.updateTable('password_resets').set({ created_at: Date.now() - 16 * 60_000 }).where('account_id', '=', person.accountId).execute();
    assert.equal((await login(person.email, person.password)).statusCode, 403);
    assert.equal((await login(person.email, person.password)).statusCode, 403);
    await deliver();
    const mails = sink.received.slice(start).filter((m) => m.to === person.email);
    assert.equal(mails.length, 2, 'one fresh link, not one per attempt');

    const fresh = newPassword();
    assert.equal((await confirm(resetTokenIn(mails[1]!), fresh)).statusCode, 200);
    assert.equal((await confirm(resetTokenIn(mails[0]!), newPassword())).statusCode, 410, 'the older link died with the reset');
    assert.equal((await login(person.email, fresh)).statusCode, 200);
    const row = await t.ctx.database.db.selectFrom('accounts').select('reset_required_at').where('id', '=', person.accountId).executeTakeFirstOrThrow();
    assert.equal(row.reset_required_at, null);
  });

  test('who may force: admins for their members (not an operator), not members, not other instances', async () => {
    const admin = await newMember();
    assert.equal((await t.as(owner, { method: 'PATCH', url: `/api/v1/instances/${instanceId}/members/${admin.accountId}`, payload: { role: 'admin' } })).statusCode, 204);
    const target = await newMember();
    const force = (as: Client, accountId: string, inst = instanceId) => t.as(as, { method: 'POST', url: `/api/v1/instances/${inst}/members/${accountId}/force-password-reset` });

    const byMember = await force(member, target.accountId);
    assert.equal(byMember.statusCode, 403);
    assert.equal(errorOf(byMember).code, 'FORBIDDEN');
    const onOperator = await force(admin, owner.accountId);
    assert.equal(onOperator.statusCode, 403, 'the owner made at setup is the operator');
    const notMember = await force(admin, '01900000-0000-7000-8000-000000000000');
    assert.equal(errorOf(notMember).code, 'MEMBER_NOT_FOUND');
    const otherInstance = await t.as(owner, { method: 'POST', url: '/api/v1/instances', payload: { slug: `other-${engine}`, name: 'Other' } });
    const otherId = otherInstance.json<{ id: string }>().id;
    const elsewhere = await force(admin, target.accountId, otherId);
    assert.equal(errorOf(elsewhere).code, 'INSTANCE_NOT_FOUND');
    assert.equal((await me(target)).statusCode, 200, 'nothing happened to the target yet');

    const byAdmin = await force(admin, target.accountId);
    assert.equal(byAdmin.statusCode, 200);
    assert.equal((await me(target)).statusCode, 401);
    assert.equal((await me(admin)).statusCode, 200, 'the admin keeps their session');

    const operatorRoute = (as: Client, accountId: string) => t.as(as, { method: 'POST', url: `/api/v1/accounts/${accountId}/force-password-reset` });
    assert.equal(errorOf(await operatorRoute(admin, member.accountId)).code, 'FORBIDDEN');
    assert.equal(errorOf(await t.as(admin, { method: 'POST', url: '/api/v1/server/force-password-reset' })).code, 'FORBIDDEN');
    assert.equal(errorOf(await operatorRoute(owner, '01900000-0000-7000-8000-000000000000')).code, 'ACCOUNT_NOT_FOUND');
    assert.equal(errorOf(await operatorRoute(owner, 'not-a-uuid')).code, 'VALIDATION_FAILED');
  });

  test('an admin forces a whole instance: every member, sessions ended, one mail each, in the same transactions', async () => {
    const setup = await t.as(owner, { method: 'POST', url: '/api/v1/instances', payload: { slug: `whole-${engine}`, name: 'Whole' } });
    const wholeId = setup.json<{ id: string }>().id;
    const people: Client[] = [];
    for (let i = 0; i < 3; i += 1) {
      const token = (await t.as(owner, { method: 'POST', url: `/api/v1/instances/${wholeId}/invites`, payload: {} })).json<{ token: string }>().token;
      people.push(await t.signUpAndLogIn(`whole-${engine}`, { inviteToken: token }));
    }
    const admin = people[0]!;
    assert.equal((await t.as(owner, { method: 'PATCH', url: `/api/v1/instances/${wholeId}/members/${admin.accountId}`, payload: { role: 'admin' } })).statusCode, 204);
    const outsider = await newMember();
    const start = sink.received.length;
    const forced = await t.as(admin, { method: 'POST', url: `/api/v1/instances/${wholeId}/force-password-reset` });
    assert.equal(forced.statusCode, 200, forced.body);
    assert.deepEqual(forced.json(), { accounts: 4, mailsQueued: 4 }, 'three people and the owner who created it');
    for (const person of people) assert.equal((await me(person)).statusCode, 401);
    assert.equal((await me(outsider)).statusCode, 200, 'people outside the instance keep their sessions');
    const flagged = await t.ctx.database.db.selectFrom('accounts').select('id').where('reset_required_at', 'is not', null).execute();
    const resets = await t.ctx.database.db.selectFrom('password_resets').select('account_id').where('reason', '=', 'forced').where('created_at', '>=', Date.now() - 60_000).execute();
    for (const person of [...people, owner]) {
      assert.ok(flagged.some((f) => f.id === person.accountId));
      assert.ok(resets.some((r) => r.account_id === person.accountId));
    }
    await deliver();
    for (const person of people) assert.equal(onlyMailTo(person.email, start).subject, 'Choose a new Conclave password');
    // The owner (the operator) completes their reset so the rest of the suite can act as them.
    const ownerToken = resetTokenIn(onlyMailTo(owner.email, start));
    const ownerPassword = newPassword();
    assert.equal((await confirm(ownerToken, ownerPassword)).statusCode, 200);
    owner = await t.login(owner.email, ownerPassword);
  });

  test('an operator forces everyone, in chunks: every account flagged, every session ended, one mail each', async () => {
    const template = await prepareAccount(t.ctx, { email: 'template@example.org', displayName: 'Bulk', password: newPassword() });
    const bulk = Array.from({ length: 450 }, (_, i) => {
      const id = `01900000-0000-7000-8000-${String(i).padStart(12, '0')}`;
      const email = `bulk-${i}-${engine}@example.org`;
      return { ...template, id, email, email_key: emailKeyOf(t.ctx, email) };
    });
    for (const row of bulk) await saveNewAccount(t.ctx, t.ctx.database.db, row);
    const total = (await t.ctx.database.db.selectFrom('accounts').select('id').execute()).length;
    const start = sink.received.length;
    const forced = await t.as(owner, { method: 'POST', url: '/api/v1/server/force-password-reset' });
    assert.equal(forced.statusCode, 200, forced.body);
    assert.deepEqual(forced.json(), { accounts: total, mailsQueued: total });
    assert.equal((await me(owner)).statusCode, 401, 'the operator\'s own session ended too');
    assert.equal((await me(member)).statusCode, 401);
    const unflagged = await t.ctx.database.db.selectFrom('accounts').select('id').where('reset_required_at', 'is', null).execute();
    assert.deepEqual(unflagged, []);
    await deliver();
    const arrived = sink.received.slice(start);
    assert.equal(arrived.length, total);
    assert.equal(new Set(arrived.map((m) => m.to)).size, total, 'one mail per person');
    assert.equal(new Set(arrived.map((m) => m.messageId)).size, total);
    const right = await login(member.email, member.password);
    assert.equal(errorOf(right).code, 'PASSWORD_RESET_REQUIRED');
    for (const m of arrived) recordSecret(m.to);
  });
});

describeEachEngine('password reset rate limits', (engine) => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp(engine, { PASSWORD_RESET_RATE_LIMIT_EMAIL: '2/1m', PASSWORD_RESET_RATE_LIMIT_IP: '4/1m' });
  });
  after(() => t.close());

  test('per email (known or not, the same) and per address', async () => {
    const { owner } = await t.setUp();
    const ask = (email: string, remoteAddress: string) => t.inject({ method: 'POST', url: RESET, payload: { email }, remoteAddress });
    for (const email of [owner.email, newEmail('nobody')]) {
      const statuses = [];
      for (let i = 0; i < 3; i += 1) statuses.push((await ask(email.toUpperCase(), `10.2.0.${i + 1}`)).statusCode);
      assert.deepEqual(statuses, [202, 202, 429], `per email, whatever the address and case: ${email}`);
    }
    const spray = [];
    for (let i = 0; i < 5; i += 1) spray.push(await ask(newEmail('spray'), '10.3.0.1'));
    assert.deepEqual(spray.map((r) => r.statusCode), [202, 202, 202, 202, 429], 'per address');
    assert.equal(errorOf(spray[4]!).code, 'RATE_LIMITED');
    const queued = await t.ctx.database.db.selectFrom('mail_outbox').select('id').execute();
    assert.equal(queued.length, 2, 'the two accepted requests for the known email queued two mails, nothing else');
  });
});
