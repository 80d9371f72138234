// Notice queuing: queueNotices for every account of a server of BENCH_ACCOUNTS (1,000,000) accounts, on
// SQLite and PostgreSQL, each repetition on a fresh database. Two plans: everyone (no scope: one mailing,
// "precautionary" to all) and a scope (1% affected, 9% possibly affected, the rest not: three mailings).
// Baseline in the same run: the same rows written by one bare INSERT ... SELECT with no chunks, cursor,
// idempotency check or schedule (the floor for writing a million outbox rows on that engine). Also
// measured: the longest the event loop was blocked while queuing (a 10 ms timer's worst lateness).
//
// BENCH_ACCOUNTS (1000000), BENCH_REPS (3), BENCH_ENGINES (sqlite,postgres), BENCH_DATABASE_URL.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { createServices, loadConfig, type Services } from '@conclave/server';
import { newId } from '../packages/server/src/crypto/index.ts';
import { createLogger } from '../packages/server/src/http/logger.ts';
import { queueNotices } from '../packages/server/src/incidents/index.ts';
import { emptyNotice, sealIncidentDetails, sealIncidentTitle, sealSelectors } from '../packages/server/src/incidents/incident.seal.ts';
import { describeMachine, median } from './lib/machine.ts';

const ACCOUNTS = Number(process.env['BENCH_ACCOUNTS'] ?? 1_000_000);
const REPS = Number(process.env['BENCH_REPS'] ?? 3);
const ENGINES = (process.env['BENCH_ENGINES'] ?? 'sqlite,postgres').split(',').map((e) => e.trim());
const DATABASE_URL = process.env['BENCH_DATABASE_URL'] ?? process.env['TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/conclave_test';

interface Fresh {
  ctx: Services;
  done(): Promise<void>;
}

/** A fresh database with ACCOUNTS accounts (ids in order; email and name are placeholders: queuing never reads them). */
const freshDatabase = async (engine: string): Promise<Fresh> => {
  const dir = await mkdtemp(join(tmpdir(), `conclave-bench-queue-${engine}-`));
  const env: Record<string, string> = { CONCLAVE_DATA_DIR: join(dir, 'data'), CONCLAVE_KEYS_DIR: join(dir, 'keys'), CONCLAVE_AUDIT_WITNESS: join(dir, 'witness.log'), LOG_LEVEL: 'warn' };
  let schema: string | undefined;
  if (engine === 'postgres') {
    schema = `bench_queue_${process.pid}_${Date.now()}`;
    const admin = new pg.Client({ connectionString: DATABASE_URL });
    await admin.connect();
    await admin.query(`create schema ${schema}`);
    await admin.end();
    env['DATABASE_URL'] = DATABASE_URL;
  }
  const ctx = await createServices(loadConfig(env), { logger: createLogger('warn'), lazyBlocklist: true, ...(schema ? { pgSchema: schema } : {}) });
  const db = ctx.database.db;
  if (engine === 'sqlite') {
    await sql`with recursive n(i) as (select 1 union all select i + 1 from n where i < ${ACCOUNTS})
      insert into accounts (id, email, email_key, display_name, password_hash, is_operator, not_before, created_at, updated_at)
      select '01900000-0000-7000-8000-' || printf('%012d', i), 'placeholder', 'k' || i, 'placeholder', 'placeholder', 0, 0, 0, 0 from n`.execute(db);
  } else {
    await sql`insert into accounts (id, email, email_key, display_name, password_hash, is_operator, not_before, created_at, updated_at)
      select '01900000-0000-7000-8000-' || lpad(i::text, 12, '0'), 'placeholder', 'k' || i, 'placeholder', 'placeholder', 0, 0, 0, 0 from generate_series(1, ${ACCOUNTS}::int) i`.execute(db);
    await sql`analyze accounts`.execute(db);
  }
  return {
    ctx,
    done: async () => {
      await ctx.close();
      if (schema) {
        const admin = new pg.Client({ connectionString: DATABASE_URL });
        await admin.connect();
        await admin.query(`drop schema ${schema} cascade`);
        await admin.end();
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
};

const declare = async (ctx: Services, scoped: boolean): Promise<{ incidentId: string; scopeId: string | null }> => {
  const db = ctx.database.db;
  const incidentId = newId();
  const now = Date.now();
  await db
    .insertInto('incidents')
    .values({
      id: incidentId,
      number: 1,
      title: sealIncidentTitle(ctx.keyring, incidentId, 'Bench'),
      severity: 'SEV1',
      status: 'identified',
      aware_at: now,
      declared_at: now,
      declared_by: null,
      resolved_at: null,
      details: sealIncidentDetails(ctx.keyring, incidentId, { components: [], notice: emptyNotice() }),
      published_at: null,
      postmortem: null,
      postmortem_published_at: null,
      updated_at: now,
    })
    .execute();
  if (!scoped) return { incidentId, scopeId: null };
  const scopeId = newId();
  await db
    .insertInto('incident_scopes')
    .values({ id: scopeId, incident_id: incidentId, created_at: now, created_by: null, selectors: sealSelectors(ctx.keyring, scopeId, {}), checkpoint_size: 0, checkpoint_root: 'bench', verified: 1, default_segment: 'not_affected', counts: '{}' })
    .execute();
  // Accounts whose number ends in 0x: 1% affected (x = 7), 9% possibly affected.
  const tail = ctx.database.engine === 'sqlite' ? sql`substr(id, -2, 1) = '0'` : sql`substr(id, 35, 1) = '0'`;
  const last = ctx.database.engine === 'sqlite' ? sql`substr(id, -1)` : sql`right(id, 1)`;
  await sql`insert into incident_scope_accounts (scope_id, account_id, segment, reason)
    select ${scopeId}, id, case when ${last} = '7' then 'affected' else 'possibly_affected' end, 'read' from accounts where ${tail}`.execute(db);
  if (ctx.database.engine === 'postgres') await sql`analyze incident_scope_accounts`.execute(db);
  return { incidentId, scopeId };
};

/** Runs `work` and measures the event loop's worst lateness meanwhile. */
const timed = async <T>(work: () => Promise<T>): Promise<{ value: T; ms: number; maxStallMs: number }> => {
  let maxStallMs = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    maxStallMs = Math.max(maxStallMs, now - last - 10);
    last = now;
  }, 10);
  const started = performance.now();
  try {
    const value = await work();
    // Work that never yielded (one statement on SQLite) shows here, not in the timer.
    maxStallMs = Math.max(maxStallMs, performance.now() - last - 10);
    return { value, ms: Math.round(performance.now() - started), maxStallMs: Math.round(Math.max(0, maxStallMs)) };
  } finally {
    clearInterval(timer);
  }
};

interface Run {
  ms: number;
  maxStallMs: number;
  queued: number;
}

const queueRun = async (engine: string, scoped: boolean): Promise<Run> => {
  const fresh = await freshDatabase(engine);
  try {
    const { incidentId, scopeId } = await declare(fresh.ctx, scoped);
    const plan = scoped
      ? ({ affected: 'action-required', possibly_affected: 'precautionary', not_affected: 'reassurance' } as const)
      : ({ affected: 'precautionary', possibly_affected: 'none', not_affected: 'none' } as const);
    const result = await timed(() => queueNotices(fresh.ctx, { incidentId, scopeId, plan, adminReports: false, ratePerSecond: 10_000 }));
    return { ms: result.ms, maxStallMs: result.maxStallMs, queued: result.value.reduce((n, m) => n + m.added, 0) };
  } finally {
    await fresh.done();
  }
};

const baselineRun = async (engine: string): Promise<Run> => {
  const fresh = await freshDatabase(engine);
  try {
    const db = fresh.ctx.database.db;
    const mailingId = newId();
    const key = `incident:${newId()}:precautionary:`;
    const id = engine === 'sqlite' ? sql`'01900000-0000-7000-9000-' || substr(id, 25)` : sql`'01900000-0000-7000-9000-' || right(id, 12)`;
    const result = await timed(() =>
      sql`insert into mail_outbox (id, idempotency_key, kind, account_id, recipient, content, status, attempts, next_attempt_at, expires_at, claimed_by, claimed_at, last_error, created_at, updated_at, sent_at, mailing_id)
        select ${id}, ${key} || id, 'incident_notice', id, null, null, 'queued', 0, 0, null, null, null, null, 0, 0, null, ${mailingId} from accounts`.execute(db),
    );
    return { ms: result.ms, maxStallMs: result.maxStallMs, queued: Number(result.value.numAffectedRows ?? 0) };
  } finally {
    await fresh.done();
  }
};

export const run = async (): Promise<void> => {
  const machine = describeMachine(['better-sqlite3', 'pg', 'kysely']);
  const figures: Record<string, { everyone: Run[]; scoped: Run[]; baseline: Run[] }> = {};
  for (const engine of ENGINES) {
    figures[engine] = { everyone: [], scoped: [], baseline: [] };
    for (let rep = 0; rep < REPS; rep += 1) {
      for (const [name, runOne] of [
        ['everyone', () => queueRun(engine, false)],
        ['scoped', () => queueRun(engine, true)],
        ['baseline', () => baselineRun(engine)],
      ] as const) {
        const r = await runOne();
        figures[engine]![name].push(r);
        console.log(`[${engine}] rep ${rep + 1} ${name}: ${r.queued} mails in ${r.ms} ms, event loop blocked at most ${r.maxStallMs} ms`);
      }
    }
  }
  const summary = Object.fromEntries(
    Object.entries(figures).map(([engine, f]) => [
      engine,
      Object.fromEntries(Object.entries(f).map(([name, runs]) => [name, { runs, msMedian: median(runs.map((r) => r.ms)), maxStallMsMedian: median(runs.map((r) => r.maxStallMs)) }])),
    ]),
  );
  const overrides = Object.entries({ BENCH_ACCOUNTS: process.env['BENCH_ACCOUNTS'], BENCH_REPS: process.env['BENCH_REPS'], BENCH_ENGINES: process.env['BENCH_ENGINES'] })
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${v}`);
  const command = `${overrides.length ? `${overrides.join(' ')} ` : ''}npm run bench -- notice-queue`;
  console.log(JSON.stringify({ machine, summary }, null, 2));
  const stamp = machine.date.slice(0, 19).replaceAll(':', '-');
  const row = (engine: string, name: string, label: string): string => {
    const s = (summary[engine] as Record<string, { runs: Run[]; msMedian: number; maxStallMsMedian: number }>)[name]!;
    return `| ${engine}: ${label} | ${s.msMedian} ms (runs ${s.runs.map((r) => r.ms).join(', ')}; ${s.runs[0]?.queued} mails) | ${s.maxStallMsMedian} ms |`;
  };
  const report = [
    `# Notice queuing benchmark, ${machine.date}`,
    '',
    `Command: \`${command}\` (commit ${machine.commit}). Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}, load average before the run ${machine.loadAverage.join(' / ')}.`,
    `Packages: ${Object.entries(machine.packages).map(([k, v]) => `${k} ${v}`).join(', ')}. SQLite synchronous=normal (the default); PostgreSQL on the same machine.`,
    `Each figure: queueNotices on a fresh database of ${ACCOUNTS.toLocaleString('en')} accounts, rate 10,000/s, chunks of 5,000 accounts (each one INSERT ... SELECT committed with its mailing's cursor). Everyone: no scope, one mailing. Scope: 1% affected (action required), 9% possibly affected (precautionary), 90% not affected (reassurance), three mailings. Baseline, same run: the same number of outbox rows written by one bare INSERT ... SELECT (no chunks, cursor, idempotency check or schedule). Medians of ${REPS}; "blocked" is the worst lateness of a 10 ms timer meanwhile (SQLite runs on the event loop's thread).`,
    '',
    '| figure | time | event loop blocked at most |',
    '|---|---|---|',
    ...ENGINES.flatMap((engine) => [
      row(engine, 'everyone', 'queueNotices, everyone'),
      row(engine, 'scoped', 'queueNotices, a scope (three segments)'),
      row(engine, 'baseline', 'baseline: one bare INSERT ... SELECT of as many rows'),
    ]),
    '',
  ].join('\n');
  await writeFile(join('bench', 'results', `notice-queue-${stamp}.md`), report);
  await writeFile(join('bench', 'results', `notice-queue-${stamp}.json`), `${JSON.stringify({ command, machine, summary }, null, 2)}\n`);
  console.log(`\nwrote bench/results/notice-queue-${stamp}.md`);
};
