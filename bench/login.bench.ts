// Log-in throughput against the ceiling the argon2id cost sets, and the event loop's delay while 50 log-ins
// run at once. Server in this thread (its loop is what we measure), HTTP client in a worker thread.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { buildApp, createServices, loadConfig } from '@conclave/server';
import { createAccount } from '../packages/server/src/identity/index.ts';
import { createLogger } from '../packages/server/src/http/logger.ts';
import { describeMachine, median, percentile } from './lib/machine.ts';

const CONCURRENCY = 50;
const LOAD_MS = Number(process.env['BENCH_LOAD_MS'] ?? 15_000);

const ms = (ns: number): number => Number((ns / 1e6).toFixed(2));

export const run = async (): Promise<void> => {
  const machine = describeMachine(['fastify', '@node-rs/argon2', 'better-sqlite3', 'kysely']);
  const dir = await mkdtemp(join(tmpdir(), 'conclave-bench-'));
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    CONCLAVE_DATA_DIR: join(dir, 'data'),
    CONCLAVE_KEYS_DIR: join(dir, 'keys'),
    CONCLAVE_AUDIT_WITNESS: join(dir, 'witness.log'),
    AUTH_RATE_LIMIT_IP: '1000000/1m',
    AUTH_RATE_LIMIT_ACCOUNT: '1000000/1m',
    // Pass-throughs for comparing settings in one session.
    ...Object.fromEntries(['SQLITE_SYNCHRONOUS', 'PASSWORD_HASH_CONCURRENCY'].flatMap((name) => (process.env[name] ? [[name, process.env[name] as string]] : []))),
  });
  const services = await createServices(config, { logger: createLogger('warn') });
  const app = await buildApp(services);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  try {
    console.log(`seeding ${CONCURRENCY} accounts…`);
    const accounts: Array<{ email: string; password: string }> = [];
    for (let i = 0; i < CONCURRENCY; i += 1) {
      const account = { email: `bench-${i}@example.org`, password: `bench-${randomBytes(9).toString('base64url')}` };
      await createAccount(services, { ...account, displayName: `Bench ${i}` });
      accounts.push(account);
    }
    const stored = (await services.database.db.selectFrom('accounts').select('password_hash').executeTakeFirstOrThrow()).password_hash;

    // Baseline 1: one verification at a time, the cost of a hash.
    const single: number[] = [];
    for (let i = 0; i < 40; i += 1) {
      const started = performance.now();
      await services.hasher.verify(stored, 'not-the-password');
      single.push(performance.now() - started);
    }
    const hashMs = median(single);
    const cores = availableParallelism();
    const ceiling = cores / (hashMs / 1000);

    // Baseline 2: raw verifications, 50 at once, no HTTP: what the hash alone allows on this machine now.
    let rawCount = 0;
    const rawDeadline = performance.now() + 5_000;
    const rawStarted = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (performance.now() < rawDeadline) {
          await services.hasher.verify(stored, 'not-the-password');
          rawCount += 1;
        }
      }),
    );
    const rawPerSecond = rawCount / ((performance.now() - rawStarted) / 1000);

    // No enumeration: a wrong password for a known email vs any password for an unknown one, interleaved,
    // one at a time, over HTTP. The two medians should match to within the noise.
    const timeLogin = async (email: string): Promise<number> => {
      const started = performance.now();
      const response = await fetch(`http://127.0.0.1:${port}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password: 'definitely-wrong-password' }),
      });
      await response.arrayBuffer();
      if (response.status !== 401) throw new Error(`expected 401, got ${response.status}`);
      return performance.now() - started;
    };
    const knownTimes: number[] = [];
    const unknownTimes: number[] = [];
    for (let i = 0; i < 100; i += 1) {
      knownTimes.push(await timeLogin(accounts[i % accounts.length]?.email ?? ''));
      unknownTimes.push(await timeLogin(`nobody-${i}@example.org`));
    }

    // Event loop delay idle, then under load.
    const idle = monitorEventLoopDelay({ resolution: 1 });
    idle.enable();
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    idle.disable();

    const loaded = monitorEventLoopDelay({ resolution: 1 });
    loaded.enable();
    const result = await new Promise<{ latencies: number[]; statuses: Record<string, number>; elapsedMs: number }>((resolve, reject) => {
      const worker = new Worker(new URL('./lib/login-client.mjs', import.meta.url), {
        workerData: { url: `http://127.0.0.1:${port}/api/v1/auth/login`, accounts, concurrency: CONCURRENCY, durationMs: LOAD_MS },
      });
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    loaded.disable();

    const latencies = [...result.latencies].sort((a, b) => a - b);
    const ok = result.statuses['200'] ?? 0;
    const loginsPerSecond = ok / (result.elapsedMs / 1000);
    const figures = {
      hashMedianMs: Number(hashMs.toFixed(2)),
      ceilingLoginsPerSecond: Math.round(ceiling),
      rawVerificationsPerSecond: Math.round(rawPerSecond),
      loginsPerSecond: Math.round(loginsPerSecond),
      loginsVsRawHashes: Number((loginsPerSecond / rawPerSecond).toFixed(3)),
      loginsVsCeiling: Number((loginsPerSecond / ceiling).toFixed(3)),
      statuses: result.statuses,
      loginLatencyMs: { p50: Number(percentile(latencies, 50).toFixed(1)), p99: Number(percentile(latencies, 99).toFixed(1)) },
      eventLoopDelayIdleMs: { p50: ms(idle.percentile(50)), p99: ms(idle.percentile(99)), max: ms(idle.max) },
      eventLoopDelayLoadedMs: { p50: ms(loaded.percentile(50)), p99: ms(loaded.percentile(99)), max: ms(loaded.max) },
      wrongPasswordMedianMs: Number(median(knownTimes).toFixed(2)),
      unknownEmailMedianMs: Number(median(unknownTimes).toFixed(2)),
      unknownVsKnownRatio: Number((median(unknownTimes) / median(knownTimes)).toFixed(3)),
      concurrency: CONCURRENCY,
      loadSeconds: LOAD_MS / 1000,
      argon2: services.hasher.parameters,
    };
    const command = 'npm run bench -- login';
    console.log(JSON.stringify({ machine, figures }, null, 2));
    const stamp = machine.date.slice(0, 19).replaceAll(':', '-');
    const report = [
      `# Log-in benchmark, ${machine.date}`,
      '',
      `Command: \`${command}\` (commit ${machine.commit}). Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}, load average before the run ${machine.loadAverage.join(' / ')}.`,
      `Packages: ${Object.entries(machine.packages).map(([k, v]) => `${k} ${v}`).join(', ')}. argon2id m=${figures.argon2.memoryKib} KiB, t=${figures.argon2.iterations}, p=${figures.argon2.parallelism}; SQLite.`,
      '',
      '| figure | value |',
      '|---|---|',
      `| one verification, median of 40 | ${figures.hashMedianMs} ms |`,
      `| ceiling: cores ÷ time per hash | ${figures.ceilingLoginsPerSecond} /s |`,
      `| baseline, same run: raw verifications, 50 at once, no HTTP | ${figures.rawVerificationsPerSecond} /s |`,
      `| refused log-in, known email + wrong password, median of 100 (sequential) | ${figures.wrongPasswordMedianMs} ms |`,
      `| refused log-in, unknown email, median of 100 (interleaved with the above) | ${figures.unknownEmailMedianMs} ms (ratio ${figures.unknownVsKnownRatio}) |`,
      `| log-ins over HTTP, 50 at once for ${figures.loadSeconds} s | ${figures.loginsPerSecond} /s (${JSON.stringify(figures.statuses)}) |`,
      `| log-ins ÷ raw verifications | ${figures.loginsVsRawHashes} |`,
      `| log-ins ÷ ceiling | ${figures.loginsVsCeiling} |`,
      `| log-in latency p50 / p99 | ${figures.loginLatencyMs.p50} / ${figures.loginLatencyMs.p99} ms |`,
      `| event-loop delay idle p50 / p99 / max | ${figures.eventLoopDelayIdleMs.p50} / ${figures.eventLoopDelayIdleMs.p99} / ${figures.eventLoopDelayIdleMs.max} ms |`,
      `| event-loop delay under 50 log-ins p50 / p99 / max (target p99 < 20 ms) | ${figures.eventLoopDelayLoadedMs.p50} / ${figures.eventLoopDelayLoadedMs.p99} / ${figures.eventLoopDelayLoadedMs.max} ms |`,
      '',
      'The HTTP client runs in a worker thread of the same process and shares the two cores with the server and the',
      'hashing threads, so the ratio to the raw-hash baseline (measured in the same run) is the figure to compare across runs.',
      '',
    ].join('\n');
    await writeFile(join('bench', 'results', `login-${stamp}.md`), report);
    await writeFile(join('bench', 'results', `login-${stamp}.json`), `${JSON.stringify({ command, machine, figures }, null, 2)}\n`);
    console.log(`\nwrote bench/results/login-${stamp}.md`);
  } finally {
    await app.close();
    await services.close();
    await rm(dir, { recursive: true, force: true });
  }
};
