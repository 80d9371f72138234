// Encryption at rest: what sealing costs message posting and history reading. For each engine, two servers in
// this process, built up front and given the same data through the HTTP API (app.inject): one seals every
// name, topic, body and event payload with AES-256-GCM (the default), the other stores values as given
// (`encrypt: false`). Blind indexes (search terms, room-name keys) are computed by both. Measured rounds
// alternate on/off (on, off, off, on, …) so drift on this shared machine falls on both sides.
import { execSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { buildApp, createServices, loadConfig } from '@conclave/server';
import type { Services } from '@conclave/server';
import { createLogger } from '../packages/server/src/http/logger.ts';
import type { App } from '../packages/server/src/http/types.ts';
import { issueSetupToken } from '../packages/server/src/instances/index.ts';
import { describeMachine, median, percentile } from './lib/machine.ts';

type Engine = 'sqlite' | 'postgres';
type Mode = 'on' | 'off';
type Operation = 'post' | 'history';

const ENGINES: readonly Engine[] = ['sqlite', 'postgres'];
const ROUND_MS = Number(process.env['BENCH_ROUND_MS'] ?? 5_000);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 5);
const WARMUP_MS = Number(process.env['BENCH_WARMUP_MS'] ?? 1_500);
const CONCURRENCY = Number(process.env['BENCH_CONCURRENCY'] ?? 16);
/**
 * Messages posted to each room before the history rounds. A page is the latest 50 by index, so depth matters
 * little; 1,000 keeps both engines under ~6 minutes on two busy cores (pre-fill runs at ~400 posts/s).
 */
const HISTORY_FILL = Number(process.env['BENCH_HISTORY_FILL'] ?? 1_000);
const ROOMS = 8;
const POSTERS = 4;
const PAGE = 50;
const PG_URL = process.env['BENCH_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/conclave_test';
/** The encrypting server's cache of opened values, in characters: unset is the production default; 0 measures cold reads. */
const PLAINTEXT_CACHE_CHARS = process.env['BENCH_PLAINTEXT_CACHE_CHARS'] === undefined ? undefined : Number(process.env['BENCH_PLAINTEXT_CACHE_CHARS']);
const TARGET_OVERHEAD_PERCENT = 10;

// ---- message bodies: 80–300 characters of varied words, the same sequence for both servers ----

const WORDS = (
  'the a to and of in is it for on that we this with be are you not have at can was do if but will should just ' +
  'deploy release build pipeline staging production rollback migration schema index query latency throughput cache ' +
  'review merge branch commit rebase conflict hotfix ticket backlog sprint standup retro roadmap estimate deadline ' +
  'customer invoice contract onboarding support escalation outage incident postmortem alert dashboard metrics ' +
  'lunch coffee tomorrow today yesterday morning afternoon meeting calendar holiday weekend vacation office remote ' +
  'Ada Grace Alan Linus Barbara Edsger Margaret Dennis Ken Frances Tuesday Friday Q3 v2.4 #1287 PR-512 eu-west-1 ' +
  'looks good thanks sorry maybe probably definitely agreed blocked waiting done shipped broken flaky fixed ' +
  'café naïve jalapeño Zürich São Paulo 東京 ✓ 🚀 👍 ~2ms 99.9% 3x 404 500 OK'
).split(' ');

const rng = (seed: number): (() => number) => {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

const makeBodies = (count: number): string[] => {
  const random = rng(20261122);
  const bodies: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const target = 80 + Math.floor(random() * 221);
    const words: string[] = [];
    let length = 0;
    while (length < target) {
      const word = WORDS[Math.floor(random() * WORDS.length)] ?? 'ok';
      words.push(word);
      length += word.length + 1;
      if (random() < 0.08) words[words.length - 1] += random() < 0.5 ? '.' : ',';
    }
    let body = words.join(' ');
    if (body.length > 300) body = body.slice(0, 300).trimEnd();
    bodies.push(body.charAt(0).toUpperCase() + body.slice(1));
  }
  return bodies;
};

const BODIES = makeBodies(4_096);
const BODY_SET = new Set(BODIES);

// ---- servers ----

interface Person {
  accountId: string;
  headers: Record<string, string>;
}

interface Server {
  engine: Engine;
  mode: Mode;
  app: App;
  services: Services;
  instanceId: string;
  rooms: string[];
  people: Person[];
  /** Request counters: which body, poster and room come next (the same sequence on both servers). */
  posted: number;
  read: number;
  close(): Promise<void>;
}

const expect = (what: string, status: number, wanted: number, body: string): void => {
  if (status !== wanted) throw new Error(`${what}: expected ${wanted}, got ${status} ${body.slice(0, 300)}`);
};

const buildServer = async (engine: Engine, mode: Mode, admin: () => pg.Pool): Promise<Server> => {
  const dir = await mkdtemp(join(tmpdir(), `conclave-bench-enc-${mode}-`));
  let pgSchema: string | undefined;
  if (engine === 'postgres') {
    pgSchema = `bench_enc_${mode}_${process.pid}_${randomBytes(3).toString('hex')}`;
    await admin().query(`create schema ${pgSchema}`);
  }
  const dropStorage = async (): Promise<void> => {
    if (pgSchema) await admin().query(`drop schema if exists ${pgSchema} cascade`);
    await rm(dir, { recursive: true, force: true });
  };
  let services: Services | undefined;
  let app: App | undefined;
  try {
    const config = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      CONCLAVE_DATA_DIR: join(dir, 'data'),
      CONCLAVE_KEYS_DIR: join(dir, 'keys'),
      CONCLAVE_AUDIT_WITNESS: join(dir, 'witness.log'),
      AUTH_RATE_LIMIT_IP: '100000000/1m',
      AUTH_RATE_LIMIT_ACCOUNT: '100000000/1m',
      MESSAGE_RATE_LIMIT: '100000000/1m',
      ...(engine === 'postgres' ? { DATABASE_URL: PG_URL } : {}),
      ...(process.env['SQLITE_SYNCHRONOUS'] ? { SQLITE_SYNCHRONOUS: process.env['SQLITE_SYNCHRONOUS'] } : {}),
    });
    services = await createServices(config, {
      logger: createLogger('warn'),
      encrypt: mode === 'on',
      ...(PLAINTEXT_CACHE_CHARS !== undefined ? { plaintextCacheChars: PLAINTEXT_CACHE_CHARS } : {}),
      ...(pgSchema ? { pgSchema } : {}),
    });
    if (services.keyring.encrypt !== (mode === 'on')) throw new Error(`the keyring of the ${mode} server has encrypt=${services.keyring.encrypt}`);
    app = await buildApp(services);
    await app.ready();
    const theApp = app;
    const inject = (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object, headers: Record<string, string> = {}) =>
      theApp.inject({ method, url, headers, ...(payload ? { payload: payload as unknown as string } : {}) });

    const password = `bench-${randomBytes(12).toString('base64url')}`;
    const login = async (email: string): Promise<Person> => {
      const response = await inject('POST', '/api/v1/auth/login', { email, password, mode: 'bearer' });
      expect('log-in', response.statusCode, 200, response.body);
      const body = response.json<{ account: { id: string }; token: string }>();
      return { accountId: body.account.id, headers: { authorization: `Bearer ${body.token}` } };
    };

    const setupToken = await issueSetupToken(services);
    if (!setupToken) throw new Error('no setup token: the database is not fresh');
    const slug = `bench-${randomBytes(3).toString('hex')}`;
    const setup = await inject('POST', '/api/v1/setup', {
      setupToken,
      instance: { slug, name: 'Encryption bench' },
      owner: { email: 'owner@example.org', displayName: 'Owner', password },
    });
    expect('setup', setup.statusCode, 201, setup.body);
    const instanceId = setup.json<{ instance: { id: string } }>().instance.id;
    const owner = await login('owner@example.org');
    const open = await inject('PATCH', `/api/v1/instances/${instanceId}`, { signupMode: 'open' }, owner.headers);
    expect('open sign-up', open.statusCode, 200, open.body);
    const people = [owner];
    for (let i = 1; i < POSTERS; i += 1) {
      const email = `poster-${i}@example.org`;
      const signup = await inject('POST', '/api/v1/auth/signup', { email, password, displayName: `Poster ${i}`, instance: slug });
      expect('sign-up', signup.statusCode, 202, signup.body);
      people.push(await login(email));
    }
    const rooms: string[] = [];
    for (let r = 0; r < ROOMS; r += 1) {
      const created = await inject('POST', `/api/v1/instances/${instanceId}/rooms`, { name: `Room ${r}`, topic: `Bench room ${r}: ${BODIES[r] ?? ''}`.slice(0, 200), privacy: 'public' }, owner.headers);
      expect('create room', created.statusCode, 201, created.body);
      const roomId = created.json<{ id: string }>().id;
      for (const person of people.slice(1)) {
        const joined = await inject('POST', `/api/v1/rooms/${roomId}/join`, undefined, person.headers);
        expect('join room', joined.statusCode, 204, joined.body);
      }
      rooms.push(roomId);
    }
    const built = { services, app };
    return {
      engine,
      mode,
      app,
      services,
      instanceId,
      rooms,
      people,
      posted: 0,
      read: 0,
      close: async () => {
        await built.app.close();
        await built.services.close();
        await dropStorage();
      },
    };
  } catch (error) {
    await app?.close();
    await services?.close();
    await dropStorage();
    throw error;
  }
};

// ---- load ----

interface Round {
  mode: Mode;
  operation: Operation;
  round: number;
  ok: number;
  perSecond: number;
  elapsedMs: number;
  statuses: Record<string, number>;
  latencyMs: { p50: number; p99: number };
  /** CPU time of this process (server, and the inject client) per successful request. */
  cpuMicrosPerOp: number;
  latencies: number[];
}

/** The n-th post of a server: poster n mod 4, then the next room, bodies in order. */
const postRequest = (server: Server, n: number) => {
  const person = server.people[n % server.people.length] as Person;
  const roomId = server.rooms[Math.floor(n / server.people.length) % server.rooms.length] as string;
  const body = BODIES[n % BODIES.length] as string;
  return server.app.inject({ method: 'POST', url: `/api/v1/rooms/${roomId}/messages`, headers: person.headers, payload: { body } as unknown as string });
};

const historyRequest = (server: Server, n: number) => {
  const person = server.people[n % server.people.length] as Person;
  const roomId = server.rooms[Math.floor(n / server.people.length) % server.rooms.length] as string;
  return server.app.inject({ method: 'GET', url: `/api/v1/rooms/${roomId}/messages?limit=${PAGE}`, headers: person.headers });
};

/** CONCURRENCY requests in flight until the deadline (or until `count` are issued). */
const drive = async (server: Server, operation: Operation, limit: { ms?: number; count?: number }): Promise<Omit<Round, 'mode' | 'operation' | 'round'>> => {
  const wanted = operation === 'post' ? 201 : 200;
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const deadline = limit.ms === undefined ? Infinity : started + limit.ms;
  let issued = 0;
  const more = (): boolean => performance.now() < deadline && (limit.count === undefined || issued < limit.count);
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (more()) {
        issued += 1;
        const n = operation === 'post' ? server.posted++ : server.read++;
        const sent = performance.now();
        const response = await (operation === 'post' ? postRequest(server, n) : historyRequest(server, n));
        const took = performance.now() - sent;
        statuses[response.statusCode] = (statuses[response.statusCode] ?? 0) + 1;
        if (response.statusCode === wanted) latencies.push(took);
        else if ((statuses[response.statusCode] ?? 0) === 1) console.warn(`  ${server.mode}/${operation}: ${response.statusCode} ${response.body.slice(0, 200)}`);
      }
    }),
  );
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const ok = latencies.length;
  latencies.sort((a, b) => a - b);
  return {
    ok,
    perSecond: ok / (elapsedMs / 1000),
    elapsedMs,
    statuses,
    latencyMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99) },
    cpuMicrosPerOp: ok === 0 ? NaN : (cpu.user + cpu.system) / ok,
    latencies,
  };
};

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** on, off, off, on, on, off, …: ROUNDS of each, alternating which goes first. */
const interleaved = async (servers: Record<Mode, Server>, operation: Operation): Promise<Round[]> => {
  const rounds: Round[] = [];
  for (let i = 0; i < ROUNDS; i += 1) {
    const order: Mode[] = i % 2 === 0 ? ['on', 'off'] : ['off', 'on'];
    for (const mode of order) {
      await pause(200);
      const result = await drive(servers[mode], operation, { ms: ROUND_MS });
      rounds.push({ mode, operation, round: i + 1, ...result });
      console.log(
        `  ${operation} round ${i + 1} ${mode.padEnd(3)}: ${result.perSecond.toFixed(0).padStart(6)} /s, p50 ${result.latencyMs.p50.toFixed(1)} ms, p99 ${result.latencyMs.p99.toFixed(1)} ms, ${result.cpuMicrosPerOp.toFixed(0)} µs CPU/op`,
      );
    }
  }
  return rounds;
};

// ---- figures ----

const round1 = (n: number): number => Number(n.toFixed(1));
const round2 = (n: number): number => Number(n.toFixed(2));
const round3 = (n: number): number => Number(n.toFixed(3));

interface Side {
  perSecond: { median: number; min: number; max: number; rounds: number[] };
  latencyMs: { p50: number; p99: number };
  cpuMicrosPerOp: number;
  requests: number;
  statuses: Record<string, number>;
}

interface Comparison {
  engine: Engine;
  operation: Operation;
  on: Side;
  off: Side;
  /** median on ÷ median off, throughput. */
  ratio: number;
  overheadPercent: number;
  /** Each on round ÷ the off round next to it (same pair), min and max: the spread the noise leaves. */
  pairedRatio: { median: number; min: number; max: number };
  latencyP50Ratio: number;
  cpuPerOpRatio: number;
  meetsTarget: boolean;
}

const side = (rounds: Round[]): Side => {
  const rates = rounds.map((r) => r.perSecond);
  const pooled = rounds.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const statuses: Record<string, number> = {};
  for (const r of rounds) for (const [status, count] of Object.entries(r.statuses)) statuses[status] = (statuses[status] ?? 0) + count;
  return {
    perSecond: { median: round1(median(rates)), min: round1(Math.min(...rates)), max: round1(Math.max(...rates)), rounds: rates.map(round1) },
    latencyMs: { p50: round2(percentile(pooled, 50)), p99: round2(percentile(pooled, 99)) },
    cpuMicrosPerOp: round1(median(rounds.map((r) => r.cpuMicrosPerOp))),
    requests: pooled.length,
    statuses,
  };
};

const compare = (engine: Engine, operation: Operation, rounds: Round[]): Comparison => {
  const on = rounds.filter((r) => r.mode === 'on');
  const off = rounds.filter((r) => r.mode === 'off');
  const onSide = side(on);
  const offSide = side(off);
  const ratio = median(on.map((r) => r.perSecond)) / median(off.map((r) => r.perSecond));
  const paired = on.map((r) => r.perSecond / (off.find((o) => o.round === r.round)?.perSecond ?? NaN));
  return {
    engine,
    operation,
    on: onSide,
    off: offSide,
    ratio: round3(ratio),
    overheadPercent: round1((1 - ratio) * 100),
    pairedRatio: { median: round3(median(paired)), min: round3(Math.min(...paired)), max: round3(Math.max(...paired)) },
    latencyP50Ratio: round3(onSide.latencyMs.p50 / offSide.latencyMs.p50),
    cpuPerOpRatio: round3(onSide.cpuMicrosPerOp / offSide.cpuMicrosPerOp),
    meetsTarget: (1 - ratio) * 100 < TARGET_OVERHEAD_PERCENT,
  };
};

/** The raw cipher cost in the same process: seal and open of the bench bodies under one room's key. */
const cipherCost = async (server: Server): Promise<{ sealMicros: number; openMicros: number; bodyChars: number }> => {
  const roomId = server.rooms[0] as string;
  const cipher = await server.services.keyring.owner(roomId);
  const sealed = BODIES.map((body, i) => cipher.seal('messages.body', `bench-${i}`, body));
  const times = (fn: () => void): number => {
    const samples: number[] = [];
    for (let s = 0; s < 5; s += 1) {
      const started = performance.now();
      fn();
      samples.push(((performance.now() - started) * 1000) / BODIES.length);
    }
    return median(samples);
  };
  const sealMicros = times(() => BODIES.forEach((body, i) => cipher.seal('messages.body', `bench-${i}`, body)));
  const openMicros = times(() => sealed.forEach((value, i) => cipher.open('messages.body', `bench-${i}`, value)));
  const bodyChars = BODIES.reduce((sum, body) => sum + body.length, 0) / BODIES.length;
  return { sealMicros: round2(sealMicros), openMicros: round2(openMicros), bodyChars: round1(bodyChars) };
};

/** Average stored size of a body, and one stored value: sealed on the on server, as given on the off server. */
const storage = async (server: Server): Promise<{ messages: number; avgStoredBodyChars: number; plaintextOfSample: string }> => {
  const db = server.services.database.db;
  const row = await db
    .selectFrom('messages')
    .select([sql<number | string>`count(*)`.as('count'), sql<number | string>`avg(length(body))`.as('avg')])
    .executeTakeFirstOrThrow();
  const sample = await db.selectFrom('messages').select('body').where('deleted_at', 'is', null).limit(200).execute();
  const plaintext = sample.filter((m) => BODY_SET.has(m.body)).length;
  return { messages: Number(row.count), avgStoredBodyChars: round1(Number(row.avg)), plaintextOfSample: `${plaintext}/${sample.length}` };
};

/** Both servers answer history with the bodies that were posted: the switch changes storage, not content. */
const checkHistory = async (server: Server): Promise<void> => {
  const response = await historyRequest(server, 0);
  expect('history', response.statusCode, 200, response.body);
  const page = response.json<{ messages: Array<{ body: string }> }>();
  if (page.messages.length !== PAGE) throw new Error(`history of the ${server.mode} server: ${page.messages.length} messages, expected ${PAGE}`);
  if (!page.messages.every((m) => BODY_SET.has(m.body))) throw new Error(`history of the ${server.mode} server returned a body that was never posted`);
};

interface EngineResult {
  engine: Engine;
  comparisons: Comparison[];
  prefill: Record<Mode, { messages: number; seconds: number; perSecond: number }>;
  cipher: { sealMicros: number; openMicros: number; bodyChars: number };
  storage: Record<Mode, { messages: number; avgStoredBodyChars: number; plaintextOfSample: string }>;
  rounds: Array<Omit<Round, 'latencies'>>;
  seconds: number;
}

const benchEngine = async (engine: Engine, admin: () => pg.Pool): Promise<EngineResult> => {
  const started = performance.now();
  console.log(`\n[${engine}] building two servers (encryption on and off)…`);
  const built: Server[] = [];
  try {
    for (const mode of ['on', 'off'] as const) built.push(await buildServer(engine, mode, admin));
    const servers: Record<Mode, Server> = { on: built[0] as Server, off: built[1] as Server };

    // Pre-fill: HISTORY_FILL messages in each room, through the API (also the post warm-up).
    const prefill = {} as EngineResult['prefill'];
    for (const mode of ['on', 'off'] as const) {
      const fill = await drive(servers[mode], 'post', { count: HISTORY_FILL * ROOMS });
      if (fill.ok !== HISTORY_FILL * ROOMS) throw new Error(`pre-fill of the ${mode} server stored ${fill.ok} of ${HISTORY_FILL * ROOMS}: ${JSON.stringify(fill.statuses)}`);
      prefill[mode] = { messages: fill.ok, seconds: round1(fill.elapsedMs / 1000), perSecond: round1(fill.perSecond) };
      console.log(`  pre-filled ${mode}: ${fill.ok} messages in ${(fill.elapsedMs / 1000).toFixed(1)} s (${fill.perSecond.toFixed(0)} /s)`);
    }
    for (const server of built) await checkHistory(server);
    // Fresh planner statistics for both schemas: otherwise autovacuum analyzes whichever server it reaches
    // first, and the two compare query plans, not encryption (seen: "off" 43% slower on an unanalyzed schema).
    if (engine === 'postgres') await admin().query('analyze');

    // History first, while both servers hold exactly the same messages; then posts.
    for (const server of built) await drive(server, 'history', { ms: WARMUP_MS });
    const historyRounds = await interleaved(servers, 'history');
    for (const server of built) await drive(server, 'post', { ms: WARMUP_MS });
    const postRounds = await interleaved(servers, 'post');

    const cipher = await cipherCost(servers.on);
    const stored = { on: await storage(servers.on), off: await storage(servers.off) };
    if (stored.on.plaintextOfSample !== '0/200' || stored.off.plaintextOfSample !== '200/200') throw new Error(`storage check failed: ${JSON.stringify(stored)}`);
    const rounds = [...historyRounds, ...postRounds];
    return {
      engine,
      comparisons: [compare(engine, 'post', postRounds), compare(engine, 'history', historyRounds)],
      prefill,
      cipher,
      storage: stored,
      rounds: rounds.map(({ latencies: _latencies, ...r }) => ({
        ...r,
        perSecond: round1(r.perSecond),
        elapsedMs: round1(r.elapsedMs),
        latencyMs: { p50: round2(r.latencyMs.p50), p99: round2(r.latencyMs.p99) },
        cpuMicrosPerOp: round1(r.cpuMicrosPerOp),
      })),
      seconds: 0,
    };
  } finally {
    for (const server of built) await server.close();
    console.log(`[${engine}] done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  }
};

// ---- report ----

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const pct = (n: number): string => `${n > 0 ? '+' : ''}${n.toFixed(1)}%`;
const spreadPct = (paired: Comparison['pairedRatio']): string => `${pct((1 - paired.max) * 100)} to ${pct((1 - paired.min) * 100)}`;

const reading = (c: Comparison, cipher: EngineResult['cipher']): string => {
  const label = `${c.engine === 'sqlite' ? 'SQLite' : 'PostgreSQL'}, ${c.operation === 'post' ? 'posting' : 'history'}`;
  const lowest = (1 - c.pairedRatio.max) * 100;
  const highest = (1 - c.pairedRatio.min) * 100;
  const verdict =
    highest < TARGET_OVERHEAD_PERCENT
      ? `under the ${TARGET_OVERHEAD_PERCENT}% target in every round pair`
      : lowest >= TARGET_OVERHEAD_PERCENT
        ? `over the ${TARGET_OVERHEAD_PERCENT}% target in every round pair`
        : c.meetsTarget
          ? `under the ${TARGET_OVERHEAD_PERCENT}% target by the medians, but the round pairs range past it`
          : `over the ${TARGET_OVERHEAD_PERCENT}% target by the medians, but some round pairs fall under it`;
  const zero = lowest <= 0 && highest >= 0 ? ' The pairs straddle zero: the difference is within this machine\'s noise.' : '';
  const addedCpu = c.on.cpuMicrosPerOp - c.off.cpuMicrosPerOp;
  const raw =
    c.operation === 'history'
      ? `${PAGE} opens at ${cipher.openMicros} µs each, measured alone, make ${fmt(PAGE * cipher.openMicros)} µs of it`
      : `sealing the body alone takes ${cipher.sealMicros} µs; the event payload, holding the message, is sealed too`;
  return `- **${label}**: overhead ${pct(c.overheadPercent)} by the medians (round pairs ${spreadPct(c.pairedRatio)}), ${verdict}. CPU per request on ÷ off: ${c.cpuPerOpRatio} (${addedCpu >= 0 ? '+' : ''}${fmt(addedCpu)} µs; ${raw}).${zero}`;
};

export const run = async (args: string[]): Promise<void> => {
  const wanted = args[0];
  if (wanted !== undefined && !ENGINES.includes(wanted as Engine)) {
    console.error(`usage: npm run bench -- encryption [sqlite|postgres]   (default: both)`);
    process.exitCode = 2;
    return;
  }
  const engines: Engine[] = wanted ? [wanted as Engine] : [...ENGINES];
  const machine = describeMachine(['fastify', 'better-sqlite3', 'pg', 'kysely']);
  let uncommitted = 'unknown';
  try {
    uncommitted = String(execSync('git status --porcelain --untracked-files=no', { encoding: 'utf8' }).split('\n').filter(Boolean).length);
  } catch {
    // not a checkout
  }
  const overrides = ['BENCH_ROUND_MS', 'BENCH_ROUNDS', 'BENCH_WARMUP_MS', 'BENCH_CONCURRENCY', 'BENCH_HISTORY_FILL', 'BENCH_DATABASE_URL', 'BENCH_PLAINTEXT_CACHE_CHARS', 'SQLITE_SYNCHRONOUS']
    .filter((name) => process.env[name] !== undefined)
    .map((name) => `${name}=${process.env[name] as string} `)
    .join('');
  const command = `${overrides}npm run bench -- encryption${args.length > 0 ? ` ${args.join(' ')}` : ''}`;
  const settings = { roundMs: ROUND_MS, roundsEach: ROUNDS, warmupMs: WARMUP_MS, concurrency: CONCURRENCY, rooms: ROOMS, posters: POSTERS, historyFillPerRoom: HISTORY_FILL, historyPage: PAGE, bodies: BODIES.length, sqliteSynchronous: process.env['SQLITE_SYNCHRONOUS'] ?? 'normal (default)', plaintextCacheChars: PLAINTEXT_CACHE_CHARS ?? 'default (16M)' };
  console.log(`encryption at rest, on vs off: ${engines.join(', ')}; ${ROUNDS} rounds of ${ROUND_MS / 1000} s each way, ${CONCURRENCY} in flight`);

  let pool: pg.Pool | undefined;
  const admin = (): pg.Pool => (pool ??= new pg.Pool({ connectionString: PG_URL, max: 2 }));
  const results: EngineResult[] = [];
  const started = performance.now();
  try {
    for (const engine of engines) {
      const engineStarted = performance.now();
      const result = await benchEngine(engine, admin);
      result.seconds = round1((performance.now() - engineStarted) / 1000);
      results.push(result);
    }
  } finally {
    await pool?.end();
  }
  const loadAfter = loadavg().map((n) => Number(n.toFixed(2)));
  const comparisons = results.flatMap((r) => r.comparisons);

  const header = '| engine | operation | on: median /s (min–max) | off: median /s (min–max) | on ÷ off | overhead | p50 ms on / off | p99 ms on / off | CPU µs/request on / off |';
  const rows = comparisons.map(
    (c) =>
      `| ${c.engine} | ${c.operation === 'post' ? 'post a message' : `read latest ${PAGE}`} | ${fmt(c.on.perSecond.median)} (${fmt(c.on.perSecond.min)}–${fmt(c.on.perSecond.max)}) | ${fmt(c.off.perSecond.median)} (${fmt(c.off.perSecond.min)}–${fmt(c.off.perSecond.max)}) | ${c.ratio} | ${pct(c.overheadPercent)} (pairs ${spreadPct(c.pairedRatio)}) | ${c.on.latencyMs.p50} / ${c.off.latencyMs.p50} | ${c.on.latencyMs.p99} / ${c.off.latencyMs.p99} | ${fmt(c.on.cpuMicrosPerOp)} / ${fmt(c.off.cpuMicrosPerOp)} |`,
  );
  const table = [header, '|---|---|---|---|---|---|---|---|---|', ...rows];

  console.log(`\n${table.join('\n')}\n`);

  const stamp = machine.date.slice(0, 19).replaceAll(':', '-');
  const report = [
    `# Encryption at rest benchmark, ${machine.date}`,
    '',
    `Command: \`${command}\` (commit ${machine.commit}, ${uncommitted} tracked file(s) with uncommitted changes). Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}, load average before the run ${machine.loadAverage.join(' / ')}, after ${loadAfter.join(' / ')}.`,
    `Packages: ${Object.entries(machine.packages).map(([k, v]) => `${k} ${v}`).join(', ')}. SQLite synchronous=${settings.sqliteSynchronous}; PostgreSQL at ${PG_URL.replace(/\/\/[^@]*@/, '//')}, a fresh schema per server.`,
    '',
    `Per engine, two servers in this process, built up front with the same data through the HTTP API (app.inject):`,
    `encryption on (AES-256-GCM on every name, topic, body, edit and event payload) and off (\`encrypt: false\`,`,
    `values stored as given; blind indexes the same). ${POSTERS} people in ${ROOMS} public rooms, ${HISTORY_FILL.toLocaleString('en-US')} messages`,
    `posted to each room first (bodies ${BODIES.length.toLocaleString('en-US')} varied texts of 80–300 characters, the same sequence on both servers),`,
    `then ${ROUNDS} measured rounds of ${ROUND_MS / 1000} s each way, ${CONCURRENCY} requests in flight, in the order on, off, off, on, …,`,
    `after ${WARMUP_MS / 1000} s unmeasured per server: first reads of a room's latest ${PAGE} messages (both servers holding the same`,
    `messages), then posts (201 = stored).`,
    `Throughput: median of rounds (min–max). Latency: p50/p99 over every request of the rounds. CPU: this`,
    `process's user+system time per request (server and inject client; PostgreSQL's own CPU is not in it).`,
    '',
    ...table,
    '',
    `Overhead = (1 − on ÷ off) × 100 of the medians; "pairs" is the range of the same figure over the ${ROUNDS} adjacent on/off round pairs.`,
    '',
    '| engine | pre-fill on | pre-fill off | seal / open of one body (µs, in process) | stored body chars on / off | messages at the end on / off |',
    '|---|---|---|---|---|---|',
    ...results.map(
      (r) =>
        `| ${r.engine} | ${fmt(r.prefill.on.perSecond)} /s (${r.prefill.on.seconds} s) | ${fmt(r.prefill.off.perSecond)} /s (${r.prefill.off.seconds} s) | ${r.cipher.sealMicros} / ${r.cipher.openMicros} (${r.cipher.bodyChars} chars avg) | ${r.storage.on.avgStoredBodyChars} / ${r.storage.off.avgStoredBodyChars} | ${fmt(r.storage.on.messages)} / ${fmt(r.storage.off.messages)} |`,
    ),
    '',
    '## Reading',
    '',
    ...results.flatMap((r) => r.comparisons.map((c) => reading(c, r.cipher))),
    '',
    'Pre-fill runs once per server, on first then off, and is not interleaved: it is not a comparison. The on server',
    'stores sealed bodies and the off server plaintext (checked on 200 stored rows of each after the run); both',
    'return the posted text. Client, servers and (for PostgreSQL) the database share the two cores, and the machine',
    'is shared, so single rounds move by several percent; the round-pair range is the honest error bar.',
    '',
  ].join('\n');

  const json = {
    command,
    machine: { ...machine, uncommittedTrackedFiles: uncommitted, loadAverageAfter: loadAfter },
    settings,
    targetOverheadPercent: TARGET_OVERHEAD_PERCENT,
    totalSeconds: round1((performance.now() - started) / 1000),
    comparisons,
    engines: results,
  };
  await writeFile(join('bench', 'results', `encryption-${stamp}.md`), report);
  await writeFile(join('bench', 'results', `encryption-${stamp}.json`), `${JSON.stringify(json, null, 2)}\n`);
  console.log(`wrote bench/results/encryption-${stamp}.md and .json (${json.totalSeconds} s)`);
};
