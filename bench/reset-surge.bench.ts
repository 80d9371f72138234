// Reset surge: 200 password-reset requests a second for 30 s against one `conclave serve` process (SQLite),
// half for known emails and half for unknown ones, with SMTP pointed at a local smtp-server sink in this
// process. Baseline in the same run: GET /healthz at the same rate. The reset rate limits are raised through
// the environment (PASSWORD_RESET_RATE_LIMIT_IP/EMAIL): one client address sends everything.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SMTPServer } from 'smtp-server';
import { createServices, loadConfig } from '@conclave/server';
import { createLogger } from '../packages/server/src/http/logger.ts';
import { emailKeyOf, prepareAccount, saveNewAccount } from '../packages/server/src/identity/index.ts';
import { spawnJsonChild } from './lib/children.ts';
import { describeMachine } from './lib/machine.ts';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 30);
const RATE = Number(process.env['BENCH_RATE'] ?? 200);
const ACCOUNTS = 1_000;
const BIN = fileURLToPath(new URL('../packages/server/bin/conclave.js', import.meta.url));

interface RateResult {
  sent: number;
  statuses: Record<string, number>;
  errors: number;
  skipped: number;
  unfinished: number;
  elapsedMs: number;
  latencyMs: Record<string, { p50: number; p99: number; max: number; n: number }>;
  errorSamples: string[];
}

const startServe = (env: Record<string, string>): Promise<{ port: number; stop(): Promise<number | null> }> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'serve'], { env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<number | null>((done) => child.once('close', (code) => done(code)));
    let output = '';
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${output}`)), 60_000);
    child.stdout.on('data', (data: Buffer) => {
      output += data.toString();
      const match = /listening on 127\.0\.0\.1:(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({
          port: Number(match[1]),
          stop: async () => {
            child.kill('SIGTERM');
            return exited;
          },
        });
      }
    });
  });

const runRate = async (job: Record<string, unknown>): Promise<RateResult> => {
  const client = spawnJsonChild('./rate-client.mjs', job);
  await client.next('ready');
  client.send('start');
  return client.next<RateResult>('result', 120_000);
};

export const run = async (): Promise<void> => {
  const machine = describeMachine(['fastify', 'better-sqlite3', 'kysely', 'nodemailer', 'smtp-server']);
  const dir = await mkdtemp(join(tmpdir(), 'conclave-bench-reset-'));
  // The sink: a real SMTP server that counts what it accepts (and when).
  const deliveredAt: number[] = [];
  const sink = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      stream.on('data', () => undefined);
      stream.on('end', () => {
        deliveredAt.push(Date.now());
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  const smtpPort = (sink.server.address() as AddressInfo).port;
  const env: Record<string, string> = {
    CONCLAVE_DATA_DIR: join(dir, 'data'),
    CONCLAVE_KEYS_DIR: join(dir, 'keys'),
    CONCLAVE_AUDIT_WITNESS: join(dir, 'witness.log'),
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
    // Raised for the bench: every request comes from one address, and each known email is asked for 3 times.
    PASSWORD_RESET_RATE_LIMIT_IP: '10000000/1m',
    PASSWORD_RESET_RATE_LIMIT_EMAIL: '10000000/1m',
    ...Object.fromEntries(['SQLITE_SYNCHRONOUS'].flatMap((name) => (process.env[name] ? [[name, process.env[name] as string]] : []))),
  };
  try {
    console.log(`seeding ${ACCOUNTS} accounts…`);
    const known: string[] = [];
    {
      const services = await createServices(loadConfig(env), { logger: createLogger('warn') });
      const template = await prepareAccount(services, { email: 'template@example.org', displayName: 'Template', password: `bench-${randomBytes(8).toString('hex')}` });
      await services.database.db.transaction().execute(async (trx) => {
        for (let i = 0; i < ACCOUNTS; i += 1) {
          const email = `known-${i}@example.org`;
          const id = `01900000-0000-7000-8000-${String(i).padStart(12, '0')}`;
          await saveNewAccount(services, trx, { ...template, id, email, email_key: emailKeyOf(services, email), display_name: `Person ${i}` });
          known.push(email);
        }
      });
      await services.close();
    }
    const server = await startServe(env);
    const base = `http://127.0.0.1:${server.port}`;
    const durationMs = SECONDS * 1000;
    let baseline: RateResult;
    let surge: RateResult;
    let surgeStarted = 0;
    let surgeEnded = 0;
    let drainedAt = 0;
    try {
      // Warm up (JIT, statement cache, SMTP pool) for 3 s at the same rate; not measured.
      const warmBodies = Array.from({ length: 20 }, (_, i) => ({ label: 'warm', json: { email: `warm-${i}@example.net` } }));
      await runRate({ url: `${base}/api/v1/auth/password-reset`, method: 'POST', bodies: warmBodies, ratePerSecond: RATE, durationMs: 3_000 });
      console.log(`baseline: GET /healthz at ${RATE}/s for ${SECONDS} s…`);
      baseline = await runRate({ url: `${base}/healthz`, method: 'GET', ratePerSecond: RATE, durationMs });
      const bodies = Array.from({ length: 2 * ACCOUNTS }, (_, i) =>
        i % 2 === 0 ? { label: 'known', json: { email: known[(i / 2) % known.length] } } : { label: 'unknown', json: { email: `nobody-${i}@example.net` } },
      );
      console.log(`surge: POST /api/v1/auth/password-reset at ${RATE}/s for ${SECONDS} s (half known, half unknown)…`);
      const deliveredBefore = deliveredAt.length;
      surgeStarted = Date.now();
      surge = await runRate({ url: `${base}/api/v1/auth/password-reset`, method: 'POST', bodies, ratePerSecond: RATE, durationMs });
      surgeEnded = surgeStarted + surge.elapsedMs;
      const expected = deliveredBefore + (surge.statuses['202'] ?? 0) / 2;
      const deadline = Date.now() + 120_000;
      while (deliveredAt.length < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      drainedAt = Date.now();
    } finally {
      await server.stop();
    }
    const services = await createServices(loadConfig(env), { logger: createLogger('warn') });
    const queuedRows = await services.database.db.selectFrom('mail_outbox').select(['created_at', 'status']).where('created_at', '>=', surgeStarted).execute();
    await services.close();
    const queuedInWindow = queuedRows.filter((r) => r.created_at <= surgeEnded).length;
    const deliveredInWindow = deliveredAt.filter((t) => t >= surgeStarted && t <= surgeEnded).length;
    const deliveredAfter = deliveredAt.filter((t) => t >= surgeStarted).length;
    const knownRequests = surge.latencyMs['known']?.n ?? 0;
    const errorCount = surge.errors + surge.skipped + surge.unfinished + Object.entries(surge.statuses).filter(([s]) => s !== '202').reduce((n, [, c]) => n + c, 0);
    const figures = {
      ratePerSecond: RATE,
      seconds: SECONDS,
      baseline: { statuses: baseline.statuses, latencyMs: baseline.latencyMs['all'], errors: baseline.errors },
      surge: { statuses: surge.statuses, errors: surge.errors, skipped: surge.skipped, unfinished: surge.unfinished, errorSamples: surge.errorSamples, latencyMs: surge.latencyMs },
      errorsTotal: errorCount,
      knownRequests,
      mailsQueued: queuedRows.length,
      mailsQueuedPerSecond: Number((queuedInWindow / (surge.elapsedMs / 1000)).toFixed(1)),
      mailsDeliveredPerSecondDuringSurge: Number((deliveredInWindow / (surge.elapsedMs / 1000)).toFixed(1)),
      mailsDelivered: deliveredAfter,
      lastMailAfterSurgeEndMs: Math.round(Math.max(0, drainedAt - surgeEnded)),
      outboxStatusesAfter: queuedRows.reduce<Record<string, number>>((acc, r) => ({ ...acc, [r.status]: (acc[r.status] ?? 0) + 1 }), {}),
    };
    const command = `npm run bench -- reset-surge${process.env['BENCH_SECONDS'] ? ` (BENCH_SECONDS=${SECONDS})` : ''}`;
    console.log(JSON.stringify({ machine, figures }, null, 2));
    const l = (k: string) => surge.latencyMs[k] ?? { p50: NaN, p99: NaN, max: NaN, n: 0 };
    const stamp = machine.date.slice(0, 19).replaceAll(':', '-');
    const report = [
      `# Reset surge benchmark, ${machine.date}`,
      '',
      `Command: \`${command}\` (commit ${machine.commit}). Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}, load average before the run ${machine.loadAverage.join(' / ')}.`,
      `Packages: ${Object.entries(machine.packages).map(([k, v]) => `${k} ${v}`).join(', ')}. One \`conclave serve\` process on SQLite (synchronous=${env['SQLITE_SYNCHRONOUS'] ?? 'normal'}), SMTP to an smtp-server sink in the bench process, the HTTP client in a third process; all on the same 2 cores.`,
      'Rate limits raised through the environment for the run (PASSWORD_RESET_RATE_LIMIT_IP and _EMAIL = 10000000/1m): one client address sends everything and each of the 1,000 known emails is asked for about three times.',
      '',
      '| figure | value |',
      '|---|---|',
      `| baseline, same run: GET /healthz at ${RATE}/s for ${SECONDS} s, p50 / p99 | ${figures.baseline.latencyMs?.p50} / ${figures.baseline.latencyMs?.p99} ms (${JSON.stringify(baseline.statuses)}) |`,
      `| reset requests at ${RATE}/s for ${SECONDS} s, p50 / p99 / max | ${l('all').p50} / ${l('all').p99} / ${l('all').max} ms (${JSON.stringify(surge.statuses)}) |`,
      `| known emails p50 / p99 (${l('known').n} requests) | ${l('known').p50} / ${l('known').p99} ms |`,
      `| unknown emails p50 / p99 (${l('unknown').n} requests) | ${l('unknown').p50} / ${l('unknown').p99} ms |`,
      `| errors (non-202, network, skipped, unfinished) | ${errorCount} |`,
      `| mails queued (one per known request) | ${figures.mailsQueued}, ${figures.mailsQueuedPerSecond} /s during the surge |`,
      `| mails delivered to the SMTP sink during the surge | ${figures.mailsDeliveredPerSecondDuringSurge} /s |`,
      `| mails delivered in all / last one after the surge ended | ${figures.mailsDelivered} / ${figures.lastMailAfterSurgeEndMs} ms |`,
      `| outbox afterwards | ${JSON.stringify(figures.outboxStatusesAfter)} |`,
      '',
    ].join('\n');
    await writeFile(join('bench', 'results', `reset-surge-${stamp}.md`), report);
    await writeFile(join('bench', 'results', `reset-surge-${stamp}.json`), `${JSON.stringify({ command, machine, figures }, null, 2)}\n`);
    console.log(`\nwrote bench/results/reset-surge-${stamp}.md`);
  } finally {
    await new Promise<void>((resolve) => sink.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  }
};
