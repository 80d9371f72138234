import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { databaseUrlFor } from '../testing/cli-process.ts';
import { startSmtpSink, type SmtpSink } from '../testing/smtp-sink.ts';
import { closeTestPools, createTestApp, describeEachEngine, newEmail, type TestApp } from '../testing/test-app.ts';
import { testLogDir } from '../testing/test-env.ts';
import { scanStorage } from '../crypto/index.ts';
import { createBatcher } from './mail.batcher.ts';
import { countMailsByStatus, createMailWorker, createSmtpTransport, escapeHtml, findOutboxMail, notifyMailQueued, prepareMail, queueMail, renderPasswordChanged, renderPasswordReset, retryDelayMs } from './index.ts';

after(closeTestPools);

const WORKER = fileURLToPath(new URL('../testing/mail-worker-process.ts', import.meta.url));

describe('mail templates', () => {
  test('everything interpolated into HTML is escaped; the text keeps the link whole', () => {
    const link = 'http://chat.example.org/reset-password#token=cnv_r_x"><script>alert(1)</script>';
    const mail = renderPasswordReset({ origin: 'http://chat.example.org', displayName: '<img src=x onerror=alert(1)> & "Bob"', link, ttlMs: 3_600_000, reason: 'requested' });
    assert.doesNotMatch(mail.html, /<script>|<img /);
    assert.match(mail.html, /&lt;img src=x onerror=alert\(1\)&gt; &amp; &quot;Bob&quot;/);
    assert.ok(mail.html.includes(`href="${escapeHtml(link)}"`));
    assert.ok(mail.text.includes(link));
    assert.match(mail.text, /works once, for 1 hour/);
    const forced = renderPasswordReset({ origin: 'http://x.org', displayName: 'A\r\nBcc: evil@example.org', link: 'http://x.org/r#token=t', ttlMs: 3 * 86_400_000, reason: 'forced' });
    assert.match(forced.text, /Hello A {2}Bcc/, 'line breaks in a name do not make lines');
    assert.match(forced.text, /3 days/);
    assert.equal(forced.subject, 'Choose a new Conclave password');
    const changed = renderPasswordChanged({ origin: 'http://x.org', displayName: '<b>', changedAt: Date.UTC(2026, 0, 2, 3, 4) });
    assert.match(changed.text, /2026-01-02 03:04 UTC/);
    assert.match(changed.html, /&lt;b&gt;/);
  });

  test('group commit: calls in one turn go together, calls during a flush go in the next one, errors reach each caller', async () => {
    const groups: number[][] = [];
    let release: (() => void) | undefined;
    const batched = createBatcher(async (items: number[]) => {
      groups.push(items);
      if (items.includes(99)) throw new Error('the write failed');
      if (groups.length === 1) await new Promise<void>((resolve) => (release = resolve));
      return items.map((n) => n * 2);
    });
    const first = [batched(1), batched(2), batched(3)];
    await new Promise((resolve) => setImmediate(resolve));
    const during = [batched(4), batched(5)];
    release?.();
    assert.deepEqual(await Promise.all([...first, ...during]), [2, 4, 6, 8, 10]);
    assert.deepEqual(groups, [[1, 2, 3], [4, 5]]);
    await assert.rejects(batched(99), /the write failed/);
    assert.equal(await batched(7), 14, 'a failed group does not stop the next');
  });

  test('retry delays grow exponentially, capped, with jitter', () => {
    for (const [attempt, base] of [[1, 1000], [2, 2000], [3, 4000], [10, 60_000]] as const) {
      const delay = retryDelayMs(attempt, 1000, 60_000);
      assert.ok(delay >= base * 0.8 && delay <= base * 1.2, `${attempt}: ${delay}`);
    }
  });
});

describeEachEngine('mail outbox and worker', (engine) => {
  let t: TestApp;
  let sink: SmtpSink;
  /** Address → SMTP refusal, changeable per test. */
  const refusals = new Map<string, { code: number; message: string }>();

  before(async () => {
    sink = await startSmtpSink({ rejectRecipient: (address) => refusals.get(address) });
    t = await createTestApp(engine, { SMTP_URL: sink.url });
  });
  after(async () => {
    await t.close();
    await sink.close();
  });

  const queue = async (count: number, options: { expiresAt?: number; to?: () => string } = {}): Promise<Array<{ id: string; to: string }>> => {
    const made: Array<{ id: string; to: string }> = [];
    for (let i = 0; i < count; i += 1) {
      const to = options.to?.() ?? newEmail('mail');
      const row = prepareMail(t.ctx, {
        kind: 'password_changed',
        accountId: null,
        to,
        idempotencyKey: `test:${to}`,
        expiresAt: options.expiresAt,
        rendered: { subject: `Test ${i}`, text: `Hello ${i}`, html: `<p>Hello ${i}</p>` },
      });
      assert.equal(await queueMail(t.ctx.database.db, row), true);
      assert.equal(await queueMail(t.ctx.database.db, { ...row, id: `${row.id.slice(0, -4)}ffff` }), false, 'one cause, one mail');
      made.push({ id: row.id, to });
    }
    return made;
  };
  const worker = (options: Partial<Parameters<typeof createMailWorker>[1]> = {}) =>
    createMailWorker(t.ctx, { transport: createSmtpTransport(new URL(sink.url), { maxConnections: 3 }), concurrency: 3, pollMs: 20, ...options });
  const statusOf = async (id: string) => (await findOutboxMail(t.ctx, id))!;

  test('the running worker delivers a queued mail at once, with the From and Message-ID it should carry', async () => {
    const w = worker({ pollMs: 60_000 });
    w.start();
    try {
      const [mail] = await queue(1);
      notifyMailQueued();
      await sink.waitFor(1, 5_000);
      const got = sink.to(mail!.to);
      assert.equal(got.length, 1);
      assert.equal(got[0]!.messageId, `<${mail!.id}@localhost>`);
      assert.match(got[0]!.from, /^"?Conclave"? <conclave@localhost>$/);
      assert.equal(got[0]!.headers.get('auto-submitted'), 'auto-generated');
    } finally {
      await w.stop();
    }
  });

  test('a temporary refusal is retried with backoff; a permanent one fails with its reason; an expired link is never sent', async () => {
    const [temp, perm] = await queue(2);
    refusals.set(temp!.to, { code: 451, message: 'Try again later' });
    refusals.set(perm!.to, { code: 550, message: 'No such mailbox' });
    const [stale] = await queue(1, { expiresAt: Date.now() - 1 });
    const w = worker({ retryBaseMs: 50, retryMaxMs: 100 });
    const passStarted = Date.now();
    await w.runOnce();
    const tempRow = await statusOf(temp!.id);
    assert.equal(tempRow.status, 'queued');
    assert.equal(tempRow.attempts, 1);
    // 50 ms ± 20% after the refusal, which came after the pass started (not compared with the clock now: a
    // busy machine may take longer than that to get here).
    assert.ok(tempRow.nextAttemptAt >= passStarted + 40, 'backoff');
    assert.match(tempRow.lastError ?? '', /^451/);
    const permRow = await statusOf(perm!.id);
    assert.equal(permRow.status, 'failed');
    assert.match(permRow.lastError ?? '', /^550 .*No such mailbox/);
    const stored = await t.ctx.database.db.selectFrom('mail_outbox').select('last_error').where('id', '=', perm!.id).executeTakeFirstOrThrow();
    assert.match(stored.last_error ?? '', /^cv1\./, 'the SMTP error (it may name the recipient) is sealed');
    assert.equal((await statusOf(stale!.id)).status, 'failed');
    assert.equal(sink.to(stale!.to).length, 0);

    refusals.delete(temp!.to);
    await new Promise((resolve) => setTimeout(resolve, 150));
    await w.runOnce();
    const delivered = await statusOf(temp!.id);
    assert.equal(delivered.status, 'sent');
    assert.equal(delivered.attempts, 2);
    assert.equal(sink.to(temp!.to).length, 1);
    await w.stop();
  });

  test('stopped mid-batch and started again, each mail is sent exactly once', async () => {
    const slow = await startSmtpSink({ dataDelayMs: 150 });
    try {
      const mails = await queue(9);
      const transport = () => createSmtpTransport(new URL(slow.url), { maxConnections: 3 });
      const first = createMailWorker(t.ctx, { transport: transport(), concurrency: 3, pollMs: 20 });
      first.start();
      await slow.waitFor(1);
      await first.stop();
      const after = slow.received.length;
      assert.ok(after < mails.length, `stopped mid-batch (${after} of ${mails.length} sent)`);
      const counts = await countMailsByStatus(t.ctx.database.db);
      assert.equal(counts.sending, 0, 'the stop let the mails in flight finish; nothing is left claimed');
      const second = createMailWorker(t.ctx, { transport: transport(), concurrency: 3, pollMs: 20 });
      await second.runOnce();
      await second.stop();
      const ids = slow.received.map((m) => m.messageId);
      for (const mail of mails) assert.equal(ids.filter((id) => id === `<${mail.id}@localhost>`).length, 1, `${mail.id} sent once`);
      assert.equal(slow.received.length, mails.length);
    } finally {
      await slow.close();
    }
  });

  test('a mail goes out whole: encoded subject, name and address, both parts, lines that start with a dot', async () => {
    const to = newEmail('mime');
    const text = `Grüße — ${'long line '.repeat(40)}\n.\n..two dots\nend`;
    const html = '<p>Grüße &amp; <b>bold</b></p>\n.\n';
    const row = prepareMail(t.ctx, { kind: 'password_changed', accountId: null, to, idempotencyKey: `test:${to}`, rendered: { subject: '[INC-1] Ünïcode — a subject long enough to be folded over more than one header line', text, html } });
    assert.equal(await queueMail(t.ctx.database.db, row), true);
    const start = sink.received.length;
    const w = worker();
    await w.runOnce();
    await w.stop();
    const [got] = sink.received.slice(start);
    assert.equal(got?.subject, '[INC-1] Ünïcode — a subject long enough to be folded over more than one header line');
    assert.equal(got?.to, to);
    assert.equal(got?.text, text);
    assert.equal(got?.html.trimEnd(), html.trimEnd());
    assert.equal(got?.messageId, `<${row.id}@localhost>`);
  });

  test('with claims and outcomes grouped, a worker never holds more claimed, unsent mails than it has slots', async () => {
    const slow = await startSmtpSink({ dataDelayMs: 40 });
    try {
      const mails = await queue(9);
      let holding = 0;
      let most = 0;
      const w = createMailWorker(t.ctx, {
        transport: createSmtpTransport(new URL(slow.url), { maxConnections: 3 }),
        concurrency: 3,
        hooks: {
          afterClaim: async () => {
            holding += 1;
            most = Math.max(most, holding);
          },
          afterAccepted: async () => {
            holding -= 1;
          },
        },
      });
      await w.runOnce();
      await w.stop();
      assert.equal(slow.received.length, mails.length);
      assert.ok(most <= 3, `at most one claimed, unsent mail per slot (saw ${most})`);
      for (const mail of mails) assert.equal((await statusOf(mail.id)).status, 'sent');
    } finally {
      await slow.close();
    }
  });

  const runWorkerProcess = (args: string[], expectHung: number): Promise<{ kill(): Promise<void> }> =>
    new Promise((resolve, reject) => {
      const env: Record<string, string> = { ...t.env, CONCLAVE_TEST_LOG_DIR: testLogDir(), PATH: process.env['PATH'] ?? '' };
      if (t.pgSchema) env['DATABASE_URL'] = databaseUrlFor(t.pgSchema);
      const child = spawn(process.execPath, ['--import', 'tsx', WORKER, ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] });
      const exited = new Promise<void>((done) => child.once('exit', () => done()));
      let hung = 0;
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`the worker process hung on ${hung} of ${expectHung} mails in time`));
      }, 30_000);
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (line.includes('"hung"')) hung += 1;
        if (hung === expectHung) {
          clearTimeout(timer);
          resolve({
            kill: async () => {
              child.kill('SIGKILL');
              await exited;
            },
          });
        }
      });
    });

  test('a worker process killed with SIGKILL after claiming: after restart every mail is sent exactly once', async () => {
    const start = sink.received.length;
    const mails = await queue(8);
    // Two go through, then three are claimed and the process dies holding them.
    const sentBefore = (await countMailsByStatus(t.ctx.database.db)).sent;
    const child = await runWorkerProcess(['--pass', '2', '--hang-at', 'claim', '--concurrency', '3'], 3);
    await sink.waitFor(start + 2);
    // A slot commits a mail's outcome while it claims its next one: wait for the two to be recorded.
    for (let i = 0; i < 200 && (await countMailsByStatus(t.ctx.database.db)).sent < sentBefore + 2; i += 1) await new Promise((resolve) => setTimeout(resolve, 25));
    await child.kill();
    const counts = await countMailsByStatus(t.ctx.database.db);
    assert.equal(counts.sending, 3, 'three claims outlived their process');
    assert.equal(sink.received.length, start + 2);
    const restarted = worker({ leaseMs: 0 });
    await restarted.runOnce();
    await restarted.stop();
    assert.equal(restarted.stats.recovered, 3);
    const ids = sink.received.slice(start).map((m) => m.messageId);
    for (const mail of mails) assert.equal(ids.filter((id) => id === `<${mail.id}@localhost>`).length, 1, `${mail.id} sent exactly once`);
    assert.equal(ids.length, mails.length);
    for (const mail of mails) assert.equal((await statusOf(mail.id)).status, 'sent');
  });

  test('ended mails are pruned after the retention, in passes at most so often; queued mails and an incident mailing\'s stay', async () => {
    const [sent, failed, mailing] = await queue(3);
    refusals.set(failed!.to, { code: 550, message: 'No such mailbox' });
    await worker().runOnce();
    refusals.delete(failed!.to);
    const [waiting] = await queue(1);
    const db = t.ctx.database.db;
    const ids = [sent!.id, failed!.id, mailing!.id, waiting!.id];
    // As if they had ended two days ago; one belongs to a mailing (the record of an incident's notices).
    await db.updateTable('mail_outbox').set({ updated_at: Date.now() - 2 * 86_400_000 }).where('id', 'in', ids).execute();
    await db.updateTable('mail_outbox').set({ mailing_id: 'mailing-under-test' }).where('id', '=', mailing!.id).execute();
    await db.updateTable('mail_outbox').set({ next_attempt_at: Date.now() + 86_400_000 }).where('id', '=', waiting!.id).execute();
    assert.deepEqual([(await statusOf(sent!.id)).status, (await statusOf(failed!.id)).status], ['sent', 'failed']);

    const keeping = worker({ retentionMs: 3 * 86_400_000, pruneEveryMs: 0 });
    await keeping.runOnce();
    assert.equal(keeping.stats.pruned, 0, 'younger than the retention');

    const pruning = worker({ retentionMs: 86_400_000, pruneEveryMs: 3_600_000 });
    await pruning.runOnce();
    const left = await db.selectFrom('mail_outbox').select(['id', 'status']).where('id', 'in', ids).orderBy('id').execute();
    assert.deepEqual(left.map((row) => row.id).sort(), [mailing!.id, waiting!.id].sort());
    assert.ok(pruning.stats.pruned >= 2);

    await db.updateTable('mail_outbox').set({ mailing_id: null, status: 'sent' }).where('id', '=', mailing!.id).execute();
    await pruning.runOnce();
    assert.ok(await findOutboxMail(t.ctx, mailing!.id), 'the next pass waits for pruneEveryMs');
    await db.updateTable('mail_outbox').set({ mailing_id: 'mailing-under-test' }).where('id', '=', mailing!.id).execute();
  });

  test('the storage scan knows the outbox and finds its recipients, contents and errors sealed', async () => {
    const findings = await scanStorage(t.ctx.database.db, t.ctx.database.engine);
    const failures = findings.filter((f) => f.level === 'fail');
    assert.deepEqual(failures, []);
    const rows = await t.ctx.database.db.selectFrom('mail_outbox').selectAll().execute();
    assert.ok(rows.length > 10 && rows.some((r) => r.last_error !== null), 'the scan had sealed values to check');
    // And it would see one left in clear.
    await t.ctx.database.db.updateTable('mail_outbox').set({ recipient: 'someone@example.org' }).where('id', '=', rows[0]!.id).execute();
    const after = await scanStorage(t.ctx.database.db, t.ctx.database.engine);
    assert.ok(after.some((f) => f.level === 'fail' && f.message.includes('mail_outbox.recipient')), JSON.stringify(after));
    await t.ctx.database.db.updateTable('mail_outbox').set({ recipient: rows[0]!.recipient }).where('id', '=', rows[0]!.id).execute();
  });

  test('killed after the SMTP server accepted but before the commit: sent again with the same Message-ID (at-least-once)', async () => {
    const start = sink.received.length;
    const [mail] = await queue(1);
    const child = await runWorkerProcess(['--pass', '0', '--hang-at', 'accepted'], 1);
    await child.kill();
    assert.equal(sink.received.length, start + 1);
    assert.equal((await statusOf(mail!.id)).status, 'sending', 'the outcome is unknown to the outbox');
    const fresh = worker({ leaseMs: 60_000 });
    await fresh.runOnce();
    assert.equal(sink.received.length, start + 1, 'not before the lease expires');
    await fresh.stop();
    const recovering = worker({ leaseMs: 0 });
    await recovering.runOnce();
    await recovering.stop();
    const copies = sink.received.slice(start);
    assert.equal(copies.length, 2, 'the documented duplicate window (decision 0014)');
    assert.equal(copies[0]!.messageId, copies[1]!.messageId, 'recognizable as one mail');
    const row = await statusOf(mail!.id);
    assert.equal(row.status, 'sent');
    assert.equal(row.attempts, 2);
  });
});
