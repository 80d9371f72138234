// Mail delivery: incident notices queued for seeded accounts (half "action required" with a reset link made
// at send time, half "reassurance"), delivered by the real mail worker as `conclave serve` configures it
// (createConfiguredMailWorker with the incidents' renderers) to an smtp-server sink in another process, on
// SQLite and on PostgreSQL. Baseline in the same run: nodemailer alone, with the same pool, sending mails
// of the same size to the same sink. Also timed: queueNotices for the same accounts.
//
// BENCH_MAILS (20000), BENCH_REPS (3), BENCH_ENGINES (sqlite,postgres), BENCH_DATABASE_URL (else
// TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/conclave_test), BENCH_CONCURRENCY and
// BENCH_BATCH (the worker's; unset: its defaults, what `conclave serve` runs).
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import pg from 'pg';
import { createServices, loadConfig } from '@conclave/server';
import { newId } from '../packages/server/src/crypto/index.ts';
import { createLogger } from '../packages/server/src/http/logger.ts';
import { emailKeyOf, prepareAccount, saveNewAccount } from '../packages/server/src/identity/index.ts';
import { incidentMailRenderers, queueNotices } from '../packages/server/src/incidents/index.ts';
import { emptyNotice, sealIncidentDetails, sealIncidentTitle, sealSelectors } from '../packages/server/src/incidents/incident.seal.ts';
import { createConfiguredMailWorker, createSmtpTransport, type MailWorkerOptions } from '../packages/server/src/mail/index.ts';
import { spawnJsonChild, type JsonChild } from './lib/children.ts';
import { describeMachine, median } from './lib/machine.ts';

const MAILS = Number(process.env['BENCH_MAILS'] ?? 20_000);
const REPS = Number(process.env['BENCH_REPS'] ?? 3);
const ENGINES = (process.env['BENCH_ENGINES'] ?? 'sqlite,postgres').split(',').map((e) => e.trim());
const DATABASE_URL = process.env['BENCH_DATABASE_URL'] ?? process.env['TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/conclave_test';
const workerOptions: Omit<MailWorkerOptions, 'transport'> = {
  ...(process.env['BENCH_CONCURRENCY'] ? { concurrency: Number(process.env['BENCH_CONCURRENCY']) } : {}),
  ...(process.env['BENCH_BATCH'] ? { batchSize: Number(process.env['BENCH_BATCH']) } : {}),
};

interface SinkStats {
  received: number;
  bytes: number;
  firstAt: number;
  lastAt: number;
}

const stats = async (sink: JsonChild): Promise<SinkStats> => {
  sink.send('stats');
  return sink.next<SinkStats>('stats');
};

const waitForMails = async (sink: JsonChild, count: number, timeoutMs: number): Promise<SinkStats> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await stats(sink);
    if (s.received >= count) return s;
    if (Date.now() > deadline) throw new Error(`the sink has ${s.received} of ${count} mails after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};

const resetSink = async (sink: JsonChild): Promise<void> => {
  sink.send('reset');
  await sink.next('reset');
};

const notice = {
  ...emptyNotice(),
  whatHappened: 'A flaw in a third-party library on one of our web servers let an attacker read account records for about two hours.',
  categories: ['names', 'email addresses', 'password hashes'],
  consequences: 'Your password hash was copied. It cannot be attacked without a key that was not taken, but choose a new password anyway.',
  measures: 'We replaced the server, rotated every key and signed everyone out.',
  contact: 'security@example.org',
};

/**
 * The baselines, to the same sink with as many connections: `stock` is nodemailer alone as an application
 * would use it (its own composition, sendMail); `transport` is Conclave's SMTP transport with no outbox,
 * database or rendering (the ceiling the worker can reach here).
 */
const baselineRun = async (kind: 'stock' | 'transport', sinkUrl: URL, sink: JsonChild, concurrency: number, sample: { subject: string; text: string; html: string }): Promise<number> => {
  await resetSink(sink);
  const stock = nodemailer.createTransport({ pool: true, host: sinkUrl.hostname, port: Number(sinkUrl.port), secure: false, maxConnections: concurrency, maxMessages: 100, logger: false });
  const transport = createSmtpTransport(sinkUrl, { maxConnections: concurrency });
  const started = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < MAILS) {
        const i = next++;
        const message = { from: 'Conclave <conclave@localhost>', to: `person-${i}@example.org`, ...sample, messageId: `<${newId()}@localhost>` };
        if (kind === 'stock') await stock.sendMail({ ...message, headers: { 'Auto-Submitted': 'auto-generated' } });
        else await transport.send(message);
      }
    }),
  );
  const s = await waitForMails(sink, MAILS, 120_000);
  stock.close();
  transport.close();
  return (s.received * 1000) / (s.lastAt - started);
};

interface EngineRun {
  queueMs: number;
  deliveredPerSecond: number;
  failed: number;
  resets: number;
}

const engineRuns = async (engine: string, sinkUrl: URL, sink: JsonChild): Promise<{ runs: EngineRun[]; concurrency: number; batchSize: number | 'default' }> => {
  const dir = await mkdtemp(join(tmpdir(), `conclave-bench-mail-${engine}-`));
  let pgSchema: string | undefined;
  const env: Record<string, string> = {
    CONCLAVE_DATA_DIR: join(dir, 'data'),
    CONCLAVE_KEYS_DIR: join(dir, 'keys'),
    CONCLAVE_AUDIT_WITNESS: join(dir, 'witness.log'),
    LOG_LEVEL: 'warn',
    PUBLIC_URL: 'http://chat.example.org',
    SMTP_URL: sinkUrl.toString(),
  };
  const admin = engine === 'postgres' ? new pg.Client({ connectionString: DATABASE_URL }) : undefined;
  if (admin) {
    await admin.connect();
    pgSchema = `bench_mail_${process.pid}`;
    await admin.query(`create schema ${pgSchema}`);
    env['DATABASE_URL'] = DATABASE_URL;
  }
  const ctx = await createServices(loadConfig(env), { logger: createLogger('warn'), lazyBlocklist: true, ...(pgSchema ? { pgSchema } : {}) });
  try {
    console.log(`[${engine}] seeding ${MAILS} accounts…`);
    const template = await prepareAccount(ctx, { email: 'template@example.org', displayName: 'Template', password: `bench-${randomBytes(8).toString('hex')}` });
    const ids: string[] = [];
    await ctx.database.db.transaction().execute(async (trx) => {
      for (let i = 0; i < MAILS; i += 1) {
        const email = `person-${i}@example.org`;
        const id = newId();
        ids.push(id);
        await saveNewAccount(ctx, trx, { ...template, id, email, email_key: emailKeyOf(ctx, email), display_name: `Person ${i}` });
      }
    });
    const runs: EngineRun[] = [];
    let concurrency = 0;
    for (let rep = 0; rep < REPS; rep += 1) {
      // A fresh incident each time: its own idempotency keys.
      const incidentId = newId();
      const now = Date.now();
      await ctx.database.db
        .insertInto('incidents')
        .values({
          id: incidentId,
          number: rep + 1,
          title: sealIncidentTitle(ctx.keyring, incidentId, 'Bench'),
          severity: 'SEV1',
          status: 'identified',
          aware_at: now,
          declared_at: now,
          declared_by: null,
          resolved_at: null,
          details: sealIncidentDetails(ctx.keyring, incidentId, { components: ['web'], notice }),
          published_at: null,
          postmortem: null,
          postmortem_published_at: null,
          updated_at: now,
        })
        .execute();
      const scopeId = newId();
      await ctx.database.db
        .insertInto('incident_scopes')
        .values({ id: scopeId, incident_id: incidentId, created_at: now, created_by: null, selectors: sealSelectors(ctx.keyring, scopeId, {}), checkpoint_size: 0, checkpoint_root: 'bench', verified: 1, default_segment: 'not_affected', counts: '{}' })
        .execute();
      const affected = ids.filter((_, i) => i % 2 === 0);
      for (let i = 0; i < affected.length; i += 1000) {
        await ctx.database.db
          .insertInto('incident_scope_accounts')
          .values(affected.slice(i, i + 1000).map((id) => ({ scope_id: scopeId, account_id: id, segment: 'affected' as const, reason: 'read' })))
          .execute();
      }
      const queueStarted = performance.now();
      const mailings = await queueNotices(ctx, { incidentId, scopeId, plan: { affected: 'action-required', possibly_affected: 'none', not_affected: 'reassurance' }, adminReports: false, ratePerSecond: 10_000 });
      const queueMs = performance.now() - queueStarted;
      const queued = mailings.reduce((n, m) => n + m.added, 0);
      // Everything due before the worker starts: what is measured is the worker, not the rate.
      const lastDue = await ctx.database.db.selectFrom('mail_outbox').select((eb) => eb.fn.max('next_attempt_at').as('at')).where('status', '=', 'queued').executeTakeFirstOrThrow();
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(lastDue.at) - Date.now() + 10)));
      await resetSink(sink);
      const worker = createConfiguredMailWorker(ctx, { ...workerOptions, renderers: incidentMailRenderers() });
      if (!worker) throw new Error('SMTP_URL is set, the worker should exist');
      const started = Date.now();
      worker.start();
      const s = await waitForMails(sink, queued, 600_000);
      await worker.stop();
      concurrency = worker.concurrency;
      const outbox = await ctx.database.db
        .selectFrom('mail_outbox')
        .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
        .where('mailing_id', 'in', mailings.map((m) => m.id))
        .groupBy('status')
        .execute();
      const failed = Number(outbox.find((r) => r.status === 'failed')?.n ?? 0);
      const resets = Number((await ctx.database.db.selectFrom('password_resets').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
      const run = { queueMs: Math.round(queueMs), deliveredPerSecond: Number(((s.received * 1000) / (s.lastAt - started)).toFixed(1)), failed, resets };
      console.log(`[${engine}] rep ${rep + 1}: queued ${queued} in ${run.queueMs} ms; delivered ${s.received} at ${run.deliveredPerSecond}/s; outbox ${JSON.stringify(outbox.map((r) => [r.status, Number(r.n)]))}`);
      runs.push(run);
    }
    return { runs, concurrency, batchSize: workerOptions.batchSize ?? 'default' };
  } finally {
    await ctx.close();
    if (admin) {
      await admin.query(`drop schema if exists ${pgSchema} cascade`);
      await admin.end();
    }
    await rm(dir, { recursive: true, force: true });
  }
};

export const run = async (): Promise<void> => {
  const machine = describeMachine(['nodemailer', 'smtp-server', 'better-sqlite3', 'pg', 'kysely']);
  const sink = spawnJsonChild('./smtp-sink.mjs', {});
  try {
    const { port } = await sink.next<{ port: number }>('ready');
    const sinkUrl = new URL(`smtp://127.0.0.1:${port}`);
    const results: Record<string, Awaited<ReturnType<typeof engineRuns>>> = {};
    for (const engine of ENGINES) results[engine] = await engineRuns(engine, sinkUrl, sink);
    // The baseline with as many connections as the worker used, and mails of the same size.
    const concurrency = Object.values(results)[0]?.concurrency || 5;
    const sample = { subject: '[INC-1] Action required: choose a new password for chat.example.org', text: `${notice.whatHappened}\n${notice.consequences}\n${notice.measures}\n`.repeat(3), html: `<p>${notice.whatHappened}</p>`.repeat(6) };
    const baseline: number[] = [];
    const transportOnly: number[] = [];
    for (let rep = 0; rep < REPS; rep += 1) {
      baseline.push(Number((await baselineRun('stock', sinkUrl, sink, concurrency, sample)).toFixed(1)));
      transportOnly.push(Number((await baselineRun('transport', sinkUrl, sink, concurrency, sample)).toFixed(1)));
    }
    console.log(`baseline (nodemailer alone, ${concurrency} connections): ${baseline.join(', ')} mails/s; Conclave's transport without the outbox: ${transportOnly.join(', ')} mails/s`);

    const figures = {
      mails: MAILS,
      reps: REPS,
      concurrency,
      baselineMailsPerSecond: { runs: baseline, median: median(baseline) },
      transportOnlyMailsPerSecond: { runs: transportOnly, median: median(transportOnly) },
      engines: Object.fromEntries(
        Object.entries(results).map(([engine, r]) => [
          engine,
          {
            runs: r.runs,
            deliveredPerSecondMedian: median(r.runs.map((x) => x.deliveredPerSecond)),
            queueMsMedian: median(r.runs.map((x) => x.queueMs)),
            batchSize: r.batchSize,
          },
        ]),
      ),
    };
    const overrides = Object.entries({ BENCH_MAILS: process.env['BENCH_MAILS'], BENCH_REPS: process.env['BENCH_REPS'], BENCH_ENGINES: process.env['BENCH_ENGINES'], BENCH_CONCURRENCY: process.env['BENCH_CONCURRENCY'], BENCH_BATCH: process.env['BENCH_BATCH'] })
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${v}`);
    const command = `${overrides.length ? `${overrides.join(' ')} ` : ''}npm run bench -- mail-delivery`;
    console.log(JSON.stringify({ machine, figures }, null, 2));
    const stamp = machine.date.slice(0, 19).replaceAll(':', '-');
    const report = [
      `# Mail delivery benchmark, ${machine.date}`,
      '',
      `Command: \`${command}\` (commit ${machine.commit}). Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}, load average before the run ${machine.loadAverage.join(' / ')}.`,
      `Packages: ${Object.entries(machine.packages).map(([k, v]) => `${k} ${v}`).join(', ')}.`,
      `Per engine and repetition: ${MAILS} incident notices queued with queueNotices for ${MAILS} seeded accounts (half "action required", each rendered with a reset link made and stored at send time; half "reassurance"), all due before the worker starts, then delivered by the worker \`conclave serve\` runs (createConfiguredMailWorker with the incidents' renderers, ${concurrency} connections${workerOptions.concurrency || workerOptions.batchSize ? `, overridden: ${JSON.stringify(workerOptions)}` : ': the defaults'}) in the bench process, to an smtp-server sink in a child process; mails/s from the worker's start to the sink's last mail. Baselines in the same run, same sink and connections, mails of the same size: nodemailer alone (its own composition, sendMail), and Conclave's SMTP transport alone (no outbox, no database). Medians of ${REPS}. The sink, the bench and PostgreSQL share the machine's ${machine.cores} cores.`,
      '',
      '| figure | value |',
      '|---|---|',
      `| baseline: nodemailer alone to the sink | ${figures.baselineMailsPerSecond.median} mails/s (runs ${baseline.join(', ')}) |`,
      `| baseline: Conclave's SMTP transport alone (no outbox) | ${figures.transportOnlyMailsPerSecond.median} mails/s (runs ${transportOnly.join(', ')}) |`,
      ...Object.entries(figures.engines).flatMap(([engine, e]) => [
        `| ${engine}: notices delivered by the worker | ${e.deliveredPerSecondMedian} mails/s (runs ${e.runs.map((r) => r.deliveredPerSecond).join(', ')}; failed ${e.runs.map((r) => r.failed).join(', ')}) |`,
        `| ${engine}: queueNotices for ${MAILS} accounts | ${e.queueMsMedian} ms (runs ${e.runs.map((r) => r.queueMs).join(', ')}) |`,
      ]),
      '',
    ].join('\n');
    await writeFile(join('bench', 'results', `mail-delivery-${stamp}.md`), report);
    await writeFile(join('bench', 'results', `mail-delivery-${stamp}.json`), `${JSON.stringify({ command, machine, figures }, null, 2)}\n`);
    console.log(`\nwrote bench/results/mail-delivery-${stamp}.md`);
  } finally {
    sink.stop();
  }
};
