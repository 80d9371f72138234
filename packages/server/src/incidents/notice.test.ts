import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { newId, scanStorage } from '../crypto/index.ts';
import type { IncidentSegment } from '../db/index.ts';
import { isAppError } from '../errors.ts';
import { emailKeyOf, prepareAccount, saveNewAccount } from '../identity/index.ts';
import { createMailWorker, createSmtpTransport, type MailWorker } from '../mail/index.ts';
import { resetTokenIn, startSmtpSink, type ReceivedMail, type SmtpSink } from '../testing/smtp-sink.ts';
import { closeTestPools, createTestApp, describeEachEngine, newEmail, newPassword, type TestApp } from '../testing/test-app.ts';
import { emptyNotice, sealIncidentDetails, sealIncidentTitle, sealSelectors, type BreachNotice } from './incident.seal.ts';
import {
  incidentMailRenderers,
  listMailingRecipients,
  mailingStatus,
  noticesDeliveredOverTime,
  planFollowUp,
  planNotices,
  queueFollowUp,
  queueNotices,
  resumeMailings,
  type NoticePlan,
} from './index.ts';
import { renderActionRequired, renderAdminReport, renderFollowUp, renderReassurance, type NoticeContext } from './notice.templates.ts';

after(closeTestPools);

const HOST = 'chat.example.org';
const ALL: NoticePlan = { affected: 'action-required', possibly_affected: 'precautionary', not_affected: 'reassurance' };

const notice = (overrides: Partial<BreachNotice> = {}): BreachNotice => ({
  ...emptyNotice(),
  whatHappened: 'A flaw in a third-party library on one web server exposed account data.',
  categories: ['names', 'email addresses', 'password hashes'],
  consequences: 'Your password hash was copied; it is peppered, but choose a new password anyway.',
  measures: 'We replaced the server, rotated keys and signed everyone out.',
  contact: 'security@example.org',
  ...overrides,
});

describe('incident notice templates', () => {
  const c: NoticeContext = { ref: 'INC-7', host: HOST, origin: `http://${HOST}`, notice: notice({ whatHappened: 'They ran <script>alert(1)</script> & "more"' }) };

  test('the operator\'s text and people\'s names are escaped in HTML, and the subject carries the ref and the host', () => {
    const mail = renderActionRequired(c, { displayName: '<img src=x onerror=alert(1)>' }, { link: `http://${HOST}/reset-password#token=abc"><b>`, ttlMs: 72 * 3_600_000 });
    assert.equal(mail.subject, `[INC-7] Action required: choose a new password for ${HOST}`);
    assert.doesNotMatch(mail.html, /<script>|<img |"><b>/);
    assert.match(mail.html, /&lt;script&gt;alert\(1\)&lt;\/script&gt; &amp; &quot;more&quot;/);
    assert.match(mail.text, /works once, for 3 days/);
    assert.ok(mail.text.includes(`http://${HOST}/reset-password#token=abc"><b>`), 'the text keeps the link whole');
    assert.match(mail.text, /security@example\.org/);
  });

  test('a follow-up is the operator\'s plain text, escaped; its subject stays one line', () => {
    const mail = renderFollowUp(c, { displayName: 'Bo' }, { subject: 'Update\r\nBcc: evil@example.org', body: 'Line one <b>bold</b>\n\nSecond paragraph' });
    assert.equal(mail.subject, `[INC-7] Update Bcc: evil@example.org (${HOST})`);
    assert.match(mail.html, /Line one &lt;b&gt;bold&lt;\/b&gt;/);
    assert.match(mail.text, /Second paragraph/);
  });

  test('reassurance is short and asks nothing; an admin report gives the instance figures', () => {
    const mail = renderReassurance(c, { displayName: 'Bo' });
    assert.match(mail.text, /were not affected\. There is nothing you need to do/);
    assert.doesNotMatch(mail.text, /password/i);
    assert.ok(mail.text.length < 600, `${mail.text.length} characters`);
    const report = renderAdminReport(c, { displayName: 'Ada' }, { instanceName: 'Acme <&> Co', segment: 'affected', summary: { roomsRead: 3, affected: 12, possiblyAffected: 40 } });
    assert.equal(report.subject, `[INC-7] Incident report for Acme <&> Co on ${HOST}`);
    assert.match(report.text, /Rooms whose content was read: 3\nPeople affected: 12 .*\nPeople possibly affected: 40/);
    assert.match(report.html, /Acme &lt;&amp;&gt; Co/);
  });
});

describeEachEngine('incident notices', (engine) => {
  let t: TestApp;
  let sink: SmtpSink;
  let worker: MailWorker;
  let instanceId: string;
  let ownerEmail: string;
  let template: Awaited<ReturnType<typeof prepareAccount>>;
  let incidentNumber = 0;
  /** Address → SMTP refusal. */
  const refusals = new Map<string, { code: number; message: string }>();
  const db = () => t.ctx.database.db;

  before(async () => {
    sink = await startSmtpSink({ rejectRecipient: (address) => refusals.get(address) });
    t = await createTestApp(engine, { SMTP_URL: sink.url, PUBLIC_URL: `http://${HOST}` });
    worker = createMailWorker(t.ctx, { transport: createSmtpTransport(new URL(sink.url), { maxConnections: 4 }), concurrency: 4, renderers: incidentMailRenderers() });
    const setup = await t.setUp();
    instanceId = setup.instanceId;
    ownerEmail = setup.owner.email;
    template = await prepareAccount(t.ctx, { email: 'template@example.org', displayName: 'Template', password: newPassword() });
  });
  after(async () => {
    await worker.stop();
    await t.close();
    await sink.close();
  });

  interface Person {
    id: string;
    email: string;
    name: string;
  }

  /** Accounts made directly (one password hash for all). */
  const people = async (count: number, label: string): Promise<Person[]> => {
    const made: Person[] = [];
    for (let i = 0; i < count; i += 1) {
      const email = newEmail(label);
      const id = newId();
      const name = `${label} ${i}`;
      await saveNewAccount(t.ctx, db(), { ...template, id, email, email_key: emailKeyOf(t.ctx, email), display_name: name });
      made.push({ id, email, name });
    }
    return made;
  };

  const declare = async (overrides: Partial<BreachNotice> = {}): Promise<{ id: string; ref: string }> => {
    const id = newId();
    const number = (incidentNumber += 1) + (engine === 'postgres' ? 100 : 0);
    const now = Date.now();
    await db()
      .insertInto('incidents')
      .values({
        id,
        number,
        title: sealIncidentTitle(t.ctx.keyring, id, 'Web tier compromise'),
        severity: 'SEV1',
        status: 'identified',
        aware_at: now,
        declared_at: now,
        declared_by: null,
        resolved_at: null,
        details: sealIncidentDetails(t.ctx.keyring, id, { components: ['web'], notice: notice(overrides) }),
        published_at: null,
        postmortem: null,
        postmortem_published_at: null,
        updated_at: now,
      })
      .execute();
    return { id, ref: `INC-${number}` };
  };

  /** A saved scope, written as the scope computation would: listed accounts and instances, the rest default. */
  const saveScope = async (
    incidentId: string,
    input: { accounts: Array<[Person, IncidentSegment]>; instances?: Array<[string, IncidentSegment, { roomsRead: number; affected: number; possiblyAffected: number }]>; defaultSegment?: IncidentSegment },
  ): Promise<string> => {
    const id = newId();
    await db()
      .insertInto('incident_scopes')
      .values({
        id,
        incident_id: incidentId,
        created_at: Date.now(),
        created_by: null,
        selectors: sealSelectors(t.ctx.keyring, id, { test: true }),
        checkpoint_size: 0,
        checkpoint_root: 'test',
        verified: 1,
        default_segment: input.defaultSegment ?? 'not_affected',
        counts: '{}',
      })
      .execute();
    if (input.accounts.length > 0) {
      await db()
        .insertInto('incident_scope_accounts')
        .values(input.accounts.map(([person, segment]) => ({ scope_id: id, account_id: person.id, segment, reason: 'read' })))
        .execute();
    }
    for (const [instance, segment, summary] of input.instances ?? []) {
      await db().insertInto('incident_scope_instances').values({ scope_id: id, instance_id: instance, segment, summary: JSON.stringify(summary) }).execute();
    }
    return id;
  };

  /** Delivers everything due, waiting out the rate's spacing, until the outbox holds nothing queued. */
  const deliver = async (timeoutMs = 20_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while ((await worker.runOnce()) > 0);
      const waiting = await db().selectFrom('mail_outbox').select('next_attempt_at').where('status', '=', 'queued').orderBy('next_attempt_at').limit(1).executeTakeFirst();
      if (!waiting) return;
      if (Date.now() > deadline) throw new Error('mail still queued after the timeout');
      await new Promise((resolve) => setTimeout(resolve, Math.max(5, Math.min(200, waiting.next_attempt_at - Date.now()))));
    }
  };

  const mailsTo = (person: { email: string }, from: number): ReceivedMail[] => sink.received.slice(from).filter((m) => m.to.toLowerCase() === person.email.toLowerCase());
  const accountCount = async (): Promise<number> => Number((await db().selectFrom('accounts').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  const tableCounts = async () => {
    const count = async (table: 'mail_outbox' | 'incident_mailings' | 'password_resets' | 'audit_entries') => Number((await db().selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    return { outbox: await count('mail_outbox'), mailings: await count('incident_mailings'), resets: await count('password_resets'), audit: await count('audit_entries') };
  };
  const codeOf = async (work: Promise<unknown>): Promise<string> => {
    try {
      await work;
    } catch (error) {
      if (isAppError(error)) return error.code;
      throw error;
    }
    return 'no error';
  };

  test('each segment gets its own template once, admins their report; a second run adds nobody; the link works', async () => {
    const incident = await declare();
    const affected = await people(3, 'affected');
    const possibly = await people(2, 'possibly');
    const unlisted = await people(2, 'unlisted');
    const listedNot = await people(1, 'listed-not');
    const scopeId = await saveScope(incident.id, {
      accounts: [...affected.map((p) => [p, 'affected'] as [Person, IncidentSegment]), ...possibly.map((p) => [p, 'possibly_affected'] as [Person, IncidentSegment]), [listedNot[0]!, 'not_affected']],
      instances: [[instanceId, 'affected', { roomsRead: 4, affected: 3, possiblyAffected: 2 }]],
    });
    const everyone = await accountCount();
    const start = sink.received.length;
    const progress: number[] = [];
    const first = await queueNotices(t.ctx, { incidentId: incident.id, scopeId, plan: ALL, adminReports: true, ratePerSecond: 10_000, onProgress: (p) => progress.push(p.queued) });
    assert.deepEqual(
      first.map((m) => [m.target, m.template, m.added]),
      [
        ['admins', 'admin-report', 1],
        ['affected', 'action-required', 3],
        ['possibly_affected', 'precautionary', 2],
        ['not_affected', 'reassurance', everyone - 5],
      ],
      'admins first, then by how much it concerns people',
    );
    assert.ok(progress.length >= 4);
    await deliver();

    for (const person of affected) {
      const mails = mailsTo(person, start);
      assert.equal(mails.length, 1, `${person.name}: one mail`);
      assert.equal(mails[0]!.subject, `[${incident.ref}] Action required: choose a new password for ${HOST}`);
      assert.match(mails[0]!.text, new RegExp(`Hello ${person.name},`));
      assert.match(mails[0]!.text, /A flaw in a third-party library/);
      resetTokenIn(mails[0]!);
    }
    for (const person of possibly) {
      const mails = mailsTo(person, start);
      assert.equal(mails.length, 1, `${person.name}: one mail`);
      assert.equal(mails[0]!.subject, `[${incident.ref}] Security incident on ${HOST}: what it may mean for you`);
      assert.doesNotMatch(mails[0]!.text, /cnv_r_/);
    }
    for (const person of [...unlisted, ...listedNot]) {
      const mails = mailsTo(person, start);
      assert.equal(mails.length, 1, `${person.name}: one mail`);
      assert.equal(mails[0]!.subject, `[${incident.ref}] Security incident on ${HOST}: your account was not affected`);
    }
    const toOwner = mailsTo({ email: ownerEmail }, start).map((m) => m.subject).sort();
    assert.deepEqual(toOwner, [`[${incident.ref}] Incident report for Test instance on ${HOST}`, `[${incident.ref}] Security incident on ${HOST}: your account was not affected`]);
    const report = mailsTo({ email: ownerEmail }, start).find((m) => m.subject.includes('report'))!;
    assert.match(report.text, /Rooms whose content was read: 4\nPeople affected: 3 .*\nPeople possibly affected: 2/);
    assert.equal(sink.received.length - start, everyone + 1, 'one notice per account, and one report');

    // The same plan again: nothing new, nobody twice.
    const outboxBefore = (await tableCounts()).outbox;
    const second = await queueNotices(t.ctx, { incidentId: incident.id, scopeId, plan: ALL, adminReports: true, ratePerSecond: 10_000 });
    assert.deepEqual(second.map((m) => m.added), [0, 0, 0, 0]);
    assert.deepEqual(second.map((m) => m.id), first.map((m) => m.id), 'the same mailings');
    assert.equal((await tableCounts()).outbox, outboxBefore);
    await deliver();
    assert.equal(sink.received.length - start, everyone + 1);

    const statuses = await mailingStatus(t.ctx, incident.id);
    assert.deepEqual(
      statuses.map((s) => [s.template, s.status, s.queued, s.mails.sent, s.mails.failed]),
      [
        ['admin-report', 'queued', 1, 1, 0],
        ['action-required', 'queued', 3, 3, 0],
        ['precautionary', 'queued', 2, 2, 0],
        ['reassurance', 'queued', everyone - 5, everyone - 5, 0],
      ],
    );
    const curve = await noticesDeliveredOverTime(t.ctx, incident.id, 1000);
    assert.equal(curve.at(-1)?.delivered, everyone + 1);
    assert.ok(curve.every((p, i) => i === 0 || (p.at > curve[i - 1]!.at && p.delivered >= curve[i - 1]!.delivered)));

    // The link works: a new password, once.
    const token = resetTokenIn(mailsTo(affected[0]!, start)[0]!);
    const fresh = newPassword();
    const confirmed = await t.inject({ method: 'POST', url: '/api/v1/auth/password-reset/confirm', payload: { token, newPassword: fresh } });
    assert.equal(confirmed.statusCode, 200, confirmed.body);
    assert.equal((await t.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: affected[0]!.email, password: fresh } })).statusCode, 200);
    const reset = await db().selectFrom('password_resets').selectAll().where('account_id', '=', affected[0]!.id).executeTakeFirstOrThrow();
    assert.equal(reset.reason, 'forced');
    assert.equal(reset.expires_at - reset.created_at, 72 * 3_600_000);
    assert.equal(reset.token_hash, createHash('sha256').update(token).digest('hex'));
    const beforeChanged = sink.received.length;
    await deliver();
    assert.deepEqual(mailsTo(affected[0]!, beforeChanged).map((m) => m.subject), ['Your Conclave password was changed']);

    // At rest: no address, no token, no body with a link.
    const mailingIds = first.map((m) => m.id);
    const rows = await db().selectFrom('mail_outbox').selectAll().where('mailing_id', 'in', mailingIds).execute();
    assert.equal(rows.length, everyone + 1);
    const stored = JSON.stringify(rows) + JSON.stringify(await db().selectFrom('password_resets').selectAll().execute()) + JSON.stringify(await db().selectFrom('incident_mailings').selectAll().execute());
    for (const person of [...affected, ...possibly, ...unlisted]) assert.ok(!stored.toLowerCase().includes(person.email.toLowerCase()), 'no address in clear');
    assert.ok(!stored.includes(token) && !stored.includes(token.slice(6, 30)), 'no reset token');
    for (const row of rows) {
      assert.match(row.recipient ?? '', /^cv1\./, 'the address it went to, sealed');
      assert.match(row.content ?? '', /^cv1\./);
    }
    assert.deepEqual((await scanStorage(db(), t.ctx.database.engine)).filter((f) => f.level === 'fail'), [], 'the storage scan finds the outbox sealed');
    const audit = await db().selectFrom('audit_entries').select(['action', 'detail']).where('action', '=', 'incident.notify').execute();
    assert.ok(audit.some((e) => e.detail.includes(incident.id)));
    assert.ok(audit.every((e) => !e.detail.includes('@')), 'no address in the audit log');
  });

  test('a segment can get nothing: the not affected, when so chosen, are not mailed', async () => {
    const incident = await declare();
    const [hit] = await people(1, 'hit');
    const bystanders = await people(2, 'bystander');
    const scopeId = await saveScope(incident.id, { accounts: [[hit!, 'affected']] });
    const start = sink.received.length;
    const result = await queueNotices(t.ctx, { incidentId: incident.id, scopeId, plan: { affected: 'precautionary', possibly_affected: 'none', not_affected: 'none' }, adminReports: false, ratePerSecond: 100 });
    assert.deepEqual(result.map((m) => [m.target, m.template, m.added]), [['affected', 'precautionary', 1]]);
    await deliver();
    assert.equal(mailsTo(hit!, start).length, 1);
    for (const person of bystanders) assert.equal(mailsTo(person, start).length, 0);
    assert.equal(sink.received.length - start, 1);
  });

  test('a run stopped mid-queue resumes from its cursor and nobody gets a notice twice', async () => {
    const incident = await declare();
    const hit = await people(7, 'resume');
    const scopeId = await saveScope(incident.id, { accounts: hit.map((p) => [p, 'affected'] as [Person, IncidentSegment]) });
    const plan: NoticePlan = { affected: 'action-required', possibly_affected: 'none', not_affected: 'none' };
    let chunks = 0;
    const crash = async () =>
      queueNotices(t.ctx, {
        incidentId: incident.id,
        scopeId,
        plan,
        adminReports: false,
        ratePerSecond: 10_000,
        chunkSize: 2,
        onProgress: () => {
          chunks += 1;
          if (chunks === 2) throw new Error('the process died');
        },
      });
    await assert.rejects(crash(), /the process died/);
    const [mailing] = await db().selectFrom('incident_mailings').selectAll().where('incident_id', '=', incident.id).execute();
    assert.equal(mailing!.status, 'queuing');
    assert.equal(Number(mailing!.queued), 4, 'two chunks of two committed, with their cursor');
    assert.equal(mailing!.cursor, hit[3]!.id);
    assert.equal(Number((await db().selectFrom('mail_outbox').select((eb) => eb.fn.countAll<number>().as('n')).where('mailing_id', '=', mailing!.id).executeTakeFirstOrThrow()).n), 4);

    // Half of those go out before the rerun.
    const start = sink.received.length;
    await deliver();
    assert.equal(sink.received.length - start, 4);
    // The rerun (resumeMailings, as the CLI's resume does; queueNotices with the same plan would do the same).
    const resumed = await resumeMailings(t.ctx, incident.id, { chunkSize: 2 });
    assert.deepEqual(resumed.map((m) => [m.id, m.queued, m.added]), [[mailing!.id, 7, 3]]);
    assert.deepEqual((await queueNotices(t.ctx, { incidentId: incident.id, scopeId, plan, adminReports: false, ratePerSecond: 10_000 })).map((m) => m.added), [0]);
    await deliver();
    for (const person of hit) assert.equal(mailsTo(person, start).length, 1, `${person.name} once`);
    assert.equal(sink.received.length - start, 7);
  });

  test('a follow-up reaches only its segment, with the operator\'s subject and text', async () => {
    const incident = await declare();
    const possibly = await people(2, 'follow-possibly');
    const affected = await people(1, 'follow-affected');
    const scopeId = await saveScope(incident.id, { accounts: [...possibly.map((p) => [p, 'possibly_affected'] as [Person, IncidentSegment]), [affected[0]!, 'affected']] });
    const request = { incidentId: incident.id, scopeId, segment: 'possibly_affected' as const, subject: 'What we found since', body: 'We finished the review.\n\nNo <messages> were read.' };
    const planned = await planFollowUp(t.ctx, request);
    assert.equal(planned.people, 2);
    assert.equal(planned.sample.subject, `[${incident.ref}] What we found since (${HOST})`);
    const start = sink.received.length;
    const first = await queueFollowUp(t.ctx, { ...request, ratePerSecond: 50 });
    const second = await queueFollowUp(t.ctx, { ...request, subject: 'And one more thing', ratePerSecond: 50 });
    assert.notEqual(first.id, second.id, 'each follow-up is its own mailing');
    assert.deepEqual([first.added, second.added], [2, 2]);
    await deliver();
    assert.equal(mailsTo(affected[0]!, start).length, 0, 'not the other segment');
    for (const person of possibly) {
      const subjects = mailsTo(person, start).map((m) => m.subject).sort();
      assert.deepEqual(subjects, [`[${incident.ref}] And one more thing (${HOST})`, `[${incident.ref}] What we found since (${HOST})`]);
      const mail = mailsTo(person, start)[0]!;
      assert.match(mail.html, /No &lt;messages&gt; were read\./);
      assert.match(mail.text, /No <messages> were read\./);
    }
    const status = await mailingStatus(t.ctx, incident.id);
    assert.deepEqual(status.map((s) => [s.template, s.subject, s.mails.sent]), [['follow-up', 'What we found since', 2], ['follow-up', 'And one more thing', 2]]);
  });

  test('per-recipient status: sent, refused by the SMTP server, and an account that is gone', async () => {
    const incident = await declare();
    const group = await people(3, 'status');
    const scopeId = await saveScope(incident.id, { accounts: group.map((p) => [p, 'affected'] as [Person, IncidentSegment]) });
    const [mailing] = await queueNotices(t.ctx, { incidentId: incident.id, scopeId, plan: { affected: 'action-required', possibly_affected: 'none', not_affected: 'none' }, adminReports: false, ratePerSecond: 1000 });
    refusals.set(group[1]!.email, { code: 550, message: 'No such mailbox' });
    await db().deleteFrom('accounts').where('id', '=', group[2]!.id).execute();
    const start = sink.received.length;
    await deliver();
    refusals.clear();
    assert.equal(sink.received.length - start, 1);
    const page = await listMailingRecipients(t.ctx, mailing!.id, { limit: 10 });
    assert.equal(page.next, null);
    assert.deepEqual(
      page.recipients.map((r) => [r.accountId, r.email, r.status, r.attempts]),
      [
        [group[0]!.id, group[0]!.email, 'sent', 1],
        [group[1]!.id, group[1]!.email, 'failed', 1],
        [group[2]!.id, null, 'failed', 1],
      ],
    );
    assert.ok(page.recipients[0]!.sentAt !== null && page.recipients[0]!.lastError === null);
    assert.match(page.recipients[1]!.lastError ?? '', /^550 .*No such mailbox/);
    assert.match(page.recipients[2]!.lastError ?? '', /account no longer exists/);
    assert.equal((await db().selectFrom('password_resets').selectAll().where('account_id', '=', group[2]!.id).execute()).length, 0, 'no link made for nobody');
    const failed = await listMailingRecipients(t.ctx, mailing!.id, { status: 'failed', limit: 1 });
    assert.deepEqual(failed.recipients.map((r) => r.accountId), [group[1]!.id]);
    const rest = await listMailingRecipients(t.ctx, mailing!.id, { status: 'failed', limit: 1, after: failed.next! });
    assert.deepEqual(rest.recipients.map((r) => r.accountId), [group[2]!.id]);
  });

  test('the rate spreads the mails: next_attempt_at steps by 1000/rate ms, mailing after mailing', async () => {
    const incident = await declare();
    const affected = await people(4, 'rate-a');
    const possibly = await people(3, 'rate-p');
    const scopeId = await saveScope(incident.id, { accounts: [...affected.map((p) => [p, 'affected'] as [Person, IncidentSegment]), ...possibly.map((p) => [p, 'possibly_affected'] as [Person, IncidentSegment])] });
    const before = Date.now();
    const result = await queueNotices(t.ctx, { incidentId: incident.id, scopeId, plan: { affected: 'precautionary', possibly_affected: 'precautionary', not_affected: 'none' }, adminReports: false, ratePerSecond: 4 });
    const times: number[] = [];
    for (const mailing of result) {
      const rows = await db().selectFrom('mail_outbox').select(['account_id', 'next_attempt_at']).where('mailing_id', '=', mailing.id).orderBy('id').execute();
      times.push(...rows.map((r) => r.next_attempt_at));
      assert.deepEqual(rows.map((r) => r.account_id), (mailing.target === 'affected' ? affected : possibly).map((p) => p.id), 'in account order');
    }
    assert.ok(times[0]! >= before && times[0]! <= Date.now());
    assert.deepEqual(times.map((at) => at - times[0]!), [0, 250, 500, 750, 1000, 1250, 1500]);
    // Only what is due goes out: the first now, the rest as their time comes.
    const start = sink.received.length;
    while ((await worker.runOnce()) > 0);
    const sentNow = sink.received.length - start;
    assert.ok(sentNow >= 1 && sentNow <= 3, `${sentNow} sent at once`);
    await deliver();
    assert.equal(sink.received.length - start, 7);
  });

  test('everyone: without a scope every account gets the affected template; with a scope that says everyone, too', async () => {
    const incident = await declare();
    await people(2, 'everyone');
    const everyone = await accountCount();
    const planned = await planNotices(t.ctx, { incidentId: incident.id, scopeId: null, plan: { affected: 'precautionary', possibly_affected: 'none', not_affected: 'none' }, adminReports: false });
    assert.deepEqual(planned.segments, [{ segment: 'everyone', people: everyone, template: 'precautionary', alreadyQueued: 0 }]);
    const scopeId = await saveScope(incident.id, { accounts: [], defaultSegment: 'affected' });
    const scoped = await planNotices(t.ctx, { incidentId: incident.id, scopeId, plan: ALL, adminReports: true });
    assert.deepEqual(scoped.segments.map((s) => [s.segment, s.people]), [['affected', everyone], ['possibly_affected', 0], ['not_affected', 0]]);
    assert.ok((scoped.adminReports?.recipients ?? 0) >= 1, 'every instance is in the default segment: its admins get a report');
    const [mailing] = await queueNotices(t.ctx, { incidentId: incident.id, scopeId: null, plan: { affected: 'precautionary', possibly_affected: 'none', not_affected: 'none' }, adminReports: false, ratePerSecond: 10_000 });
    assert.equal(mailing!.target, 'everyone');
    assert.equal(mailing!.added, everyone);
    await db().deleteFrom('mail_outbox').where('mailing_id', '=', mailing!.id).execute();
  });

  test('the dry run counts each segment and renders one sample of each mail, writing nothing', async () => {
    const incident = await declare({ whatHappened: 'Someone read <b>rooms</b>.' });
    const affected = await people(2, 'dry-a');
    const scopeId = await saveScope(incident.id, { accounts: affected.map((p) => [p, 'affected'] as [Person, IncidentSegment]), instances: [[instanceId, 'possibly_affected', { roomsRead: 0, affected: 0, possiblyAffected: 1 }]] });
    const everyone = await accountCount();
    const before = await tableCounts();
    const plan = await planNotices(t.ctx, { incidentId: incident.id, scopeId, plan: ALL, adminReports: true });
    assert.deepEqual(await tableCounts(), before, 'nothing written');
    assert.deepEqual(plan.incident, { id: incident.id, ref: incident.ref });
    assert.deepEqual(
      plan.segments.map((s) => [s.segment, s.people, s.template]),
      [
        ['affected', 2, 'action-required'],
        ['possibly_affected', 0, 'precautionary'],
        ['not_affected', everyone - 2, 'reassurance'],
      ],
    );
    assert.deepEqual(plan.adminReports, { instances: 1, recipients: 1, alreadyQueued: 0 });
    assert.deepEqual(plan.samples.map((s) => s.template), ['admin-report', 'action-required', 'precautionary', 'reassurance']);
    for (const sample of plan.samples) {
      assert.ok(sample.rendered.subject.startsWith(`[${incident.ref}] `) && sample.rendered.subject.includes(HOST), sample.rendered.subject);
      assert.match(sample.rendered.text, /Hello Alex Example,/, 'a made-up recipient, no real person');
    }
    assert.match(plan.samples[1]!.rendered.html, /Someone read &lt;b&gt;rooms&lt;\/b&gt;\./);
    assert.doesNotMatch(plan.samples[1]!.rendered.text, /cnv_r_[A-Za-z0-9_-]{43}/, 'no usable token in a sample');
    assert.deepEqual(await planNotices(t.ctx, { incidentId: incident.id, scopeId, plan: ALL, adminReports: true }), plan, 'deterministic');
  });

  test('bad input answers its code and changes nothing', async () => {
    const incident = await declare();
    const other = await declare();
    const scopeId = await saveScope(incident.id, { accounts: [] });
    const otherScope = await saveScope(other.id, { accounts: [] });
    const before = await tableCounts();
    const base = { incidentId: incident.id, scopeId, plan: ALL, adminReports: false, ratePerSecond: 100 };
    assert.equal(await codeOf(queueNotices(t.ctx, { ...base, incidentId: newId() })), 'INCIDENT_NOT_FOUND');
    assert.equal(await codeOf(planNotices(t.ctx, { ...base, incidentId: 'nonsense' })), 'INCIDENT_NOT_FOUND');
    assert.equal(await codeOf(queueNotices(t.ctx, { ...base, scopeId: otherScope })), 'INCIDENT_SCOPE_NOT_FOUND', "another incident's scope");
    assert.equal(await codeOf(queueNotices(t.ctx, { ...base, scopeId: newId() })), 'INCIDENT_SCOPE_NOT_FOUND');
    for (const rate of [0, 10_001, 1.5, Number.NaN]) assert.equal(await codeOf(queueNotices(t.ctx, { ...base, ratePerSecond: rate })), 'VALIDATION_FAILED', `rate ${rate}`);
    assert.equal(await codeOf(queueNotices(t.ctx, { ...base, plan: { ...ALL, not_affected: 'action-required' as 'none' } })), 'VALIDATION_FAILED', 'not affected never get a reset link');
    assert.equal(await codeOf(queueNotices(t.ctx, { ...base, scopeId: null, adminReports: true })), 'VALIDATION_FAILED', 'admin reports need a scope');
    const followUp = { incidentId: incident.id, scopeId, segment: 'affected' as const, subject: 'Update', body: 'Text', ratePerSecond: 10 };
    assert.equal(await codeOf(queueFollowUp(t.ctx, { ...followUp, subject: '  ' })), 'VALIDATION_FAILED');
    assert.equal(await codeOf(queueFollowUp(t.ctx, { ...followUp, subject: 'Two\nlines' })), 'VALIDATION_FAILED');
    assert.equal(await codeOf(queueFollowUp(t.ctx, { ...followUp, body: 'x'.repeat(20_001) })), 'VALIDATION_FAILED');
    assert.equal(await codeOf(queueFollowUp(t.ctx, { ...followUp, segment: 'bystanders' as 'affected' })), 'VALIDATION_FAILED');
    assert.equal(await codeOf(queueFollowUp(t.ctx, { ...followUp, scopeId: null })), 'VALIDATION_FAILED', 'a segment needs its scope');
    assert.equal(await codeOf(queueFollowUp(t.ctx, { ...followUp, incidentId: newId() })), 'INCIDENT_NOT_FOUND');
    assert.equal(await codeOf(listMailingRecipients(t.ctx, newId(), { limit: 10 })), 'MAILING_NOT_FOUND');
    assert.equal(await codeOf(listMailingRecipients(t.ctx, newId(), { limit: 0 })), 'VALIDATION_FAILED');
    assert.equal(await codeOf(mailingStatus(t.ctx, newId())), 'INCIDENT_NOT_FOUND');
    assert.equal(await codeOf(noticesDeliveredOverTime(t.ctx, incident.id, 0)), 'VALIDATION_FAILED');
    assert.equal(await codeOf(resumeMailings(t.ctx, newId())), 'INCIDENT_NOT_FOUND');
    assert.deepEqual(await tableCounts(), before, 'nothing written');
  });
});
