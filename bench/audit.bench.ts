// The audit log: what recording every read of room content costs history reads, and how fast a log of a
// million entries verifies.
// Part 1 (reads): for each engine, two servers in this process, built up front and given the same data through
// the HTTP API (app.inject): one records an audit entry for every history page before answering (the default),
// the other records nothing (`audit: false`). Both encrypt at rest (the default). Measured rounds alternate
// on/off (on, off, off, on, …) so drift on this shared machine falls on both sides.
// Part 2 (verify): one server's database given N realistic `room.read` entries straight through the audit
// queries (as AuditLog.flush builds them), a signed and witnessed checkpoint over all of them, then
// `verifyAuditLog` end to end, the row loading alone, and the in-memory work (leaves and tree) alone.
import { execSync } from 'node:child_process';
import { hash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import SQLite from 'better-sqlite3';
import { sql } from 'kysely';
import pg from 'pg';
import { buildApp, createServices, loadConfig } from '@conclave/server';
import type { Services } from '@conclave/server';
import { canonicalEntry, canonicalJson, entryLeaf, findHeadSeq, listEntriesAfter, verifyAuditLog } from '../packages/server/src/audit/index.ts';
import type { AuditRow, VerifyReport } from '../packages/server/src/audit/index.ts';
import { insertEntries } from '../packages/server/src/audit/audit.queries.ts';
import { leafHash, TreeBuilder } from '../packages/server/src/audit/merkle.ts';
import { createLogger } from '../packages/server/src/http/logger.ts';
import type { App } from '../packages/server/src/http/types.ts';
import { issueSetupToken } from '../packages/server/src/instances/index.ts';
import { describeMachine, median, percentile } from './lib/machine.ts';

type Engine = 'sqlite' | 'postgres';
type Mode = 'on' | 'off';
type Part = 'reads' | 'verify';

const ENGINES: readonly Engine[] = ['sqlite', 'postgres'];
const PARTS: readonly Part[] = ['reads', 'verify'];
const ROUND_MS = Number(process.env['BENCH_ROUND_MS'] ?? 5_000);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 5);
const WARMUP_MS = Number(process.env['BENCH_WARMUP_MS'] ?? 1_500);
const CONCURRENCY = Number(process.env['BENCH_CONCURRENCY'] ?? 16);
/** Messages posted to each room before the rounds: a page is the latest 50 by index, so depth matters little. */
const HISTORY_FILL = Number(process.env['BENCH_HISTORY_FILL'] ?? 300);
const ROOMS = 8;
const POSTERS = 4;
const PAGE = 50;
const PG_URL = process.env['BENCH_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/conclave_test';
/** Entries in the log that part 2 verifies. */
const VERIFY_ENTRIES = Number(process.env['BENCH_VERIFY_ENTRIES'] ?? 1_000_000);
const VERIFY_RUNS = Number(process.env['BENCH_VERIFY_RUNS'] ?? 3);
/** Entries per insert transaction, and per INSERT statement inside it (SQLite and PostgreSQL bound the parameters of one statement). */
const INSERT_TRANSACTION = 10_000;
const INSERT_STATEMENT = 2_000;
/** The page size verifyAuditLog reads with; the load-alone figure pages the same way. */
const VERIFY_PAGE = 5_000;
/** Entries the per-step breakdown of the in-memory work runs over (a prefix of the loaded rows). */
const BREAKDOWN_ENTRIES = Math.min(VERIFY_ENTRIES, Number(process.env['BENCH_BREAKDOWN_ENTRIES'] ?? 200_000));
const TARGET_OVERHEAD_PERCENT = 20;
const TARGET_VERIFY_PER_SECOND = 500_000;

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

// ---- storage: a temp dir per server, and a PostgreSQL schema ----

interface Storage {
  dir: string;
  pgSchema: string | undefined;
  drop(): Promise<void>;
}

const makeStorage = async (engine: Engine, label: string, admin: () => pg.Pool): Promise<Storage> => {
  const dir = await mkdtemp(join(tmpdir(), `conclave-bench-audit-${label}-`));
  let pgSchema: string | undefined;
  if (engine === 'postgres') {
    pgSchema = `bench_audit_${label}_${process.pid}_${randomBytes(3).toString('hex')}`;
    await admin().query(`create schema ${pgSchema}`);
  }
  return {
    dir,
    pgSchema,
    drop: async () => {
      if (pgSchema) await admin().query(`drop schema if exists ${pgSchema} cascade`);
      await rm(dir, { recursive: true, force: true });
    },
  };
};

const openServices = async (engine: Engine, storage: Storage, audit: boolean): Promise<Services> => {
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    CONCLAVE_DATA_DIR: join(storage.dir, 'data'),
    CONCLAVE_KEYS_DIR: join(storage.dir, 'keys'),
    CONCLAVE_AUDIT_WITNESS: join(storage.dir, 'witness.log'),
    AUTH_RATE_LIMIT_IP: '100000000/1m',
    AUTH_RATE_LIMIT_ACCOUNT: '100000000/1m',
    MESSAGE_RATE_LIMIT: '100000000/1m',
    ...(engine === 'postgres' ? { DATABASE_URL: PG_URL } : {}),
    ...(process.env['SQLITE_SYNCHRONOUS'] ? { SQLITE_SYNCHRONOUS: process.env['SQLITE_SYNCHRONOUS'] } : {}),
  });
  return createServices(config, { logger: createLogger('warn'), audit, ...(storage.pgSchema ? { pgSchema: storage.pgSchema } : {}) });
};

/** Entries in the log; `readCommits`: distinct `at` of the room.read entries, one per group commit (two in the same millisecond count once). */
const countEntries = async (services: Services): Promise<{ total: number; roomReads: number; readCommits: number }> => {
  const row = await services.database.db
    .selectFrom('audit_entries')
    .select([
      sql<number | string>`count(*)`.as('total'),
      sql<number | string>`sum(case when action = 'room.read' then 1 else 0 end)`.as('reads'),
      sql<number | string>`count(distinct case when action = 'room.read' then at end)`.as('commits'),
    ])
    .executeTakeFirstOrThrow();
  return { total: Number(row.total), roomReads: Number(row.reads ?? 0), readCommits: Number(row.commits) };
};

const verifyOptions = (services: Services) => ({ keyName: services.audit.keyName, publicKey: services.audit.publicKey, witnessPath: services.config.auditWitnessPath });

// ---- part 1: servers ----

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
  /** History pages answered 200: each one an audit entry on the on server. */
  pagesServed: number;
  close(): Promise<void>;
}

const expect = (what: string, status: number, wanted: number, body: string): void => {
  if (status !== wanted) throw new Error(`${what}: expected ${wanted}, got ${status} ${body.slice(0, 300)}`);
};

const buildServer = async (engine: Engine, mode: Mode, admin: () => pg.Pool): Promise<Server> => {
  const storage = await makeStorage(engine, mode, admin);
  let services: Services | undefined;
  let app: App | undefined;
  try {
    services = await openServices(engine, storage, mode === 'on');
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
      instance: { slug, name: 'Audit bench' },
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
      pagesServed: 0,
      close: async () => {
        await built.app.close();
        await built.services.close();
        await storage.drop();
      },
    };
  } catch (error) {
    await app?.close();
    await services?.close();
    await storage.drop();
    throw error;
  }
};

// ---- part 1: load ----

type Operation = 'post' | 'history';

interface Round {
  mode: Mode;
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
const drive = async (server: Server, operation: Operation, limit: { ms?: number; count?: number }): Promise<Omit<Round, 'mode' | 'round'>> => {
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
        if (response.statusCode === wanted) {
          latencies.push(took);
          if (operation === 'history') server.pagesServed += 1;
        } else if ((statuses[response.statusCode] ?? 0) === 1) console.warn(`  ${server.mode}/${operation}: ${response.statusCode} ${response.body.slice(0, 200)}`);
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
const interleaved = async (servers: Record<Mode, Server>): Promise<Round[]> => {
  const rounds: Round[] = [];
  for (let i = 0; i < ROUNDS; i += 1) {
    const order: Mode[] = i % 2 === 0 ? ['on', 'off'] : ['off', 'on'];
    for (const mode of order) {
      await pause(200);
      const result = await drive(servers[mode], 'history', { ms: ROUND_MS });
      rounds.push({ mode, round: i + 1, ...result });
      console.log(
        `  history round ${i + 1} ${mode.padEnd(3)}: ${result.perSecond.toFixed(0).padStart(6)} /s, p50 ${result.latencyMs.p50.toFixed(1)} ms, p99 ${result.latencyMs.p99.toFixed(1)} ms, ${result.cpuMicrosPerOp.toFixed(0)} µs CPU/op`,
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

const compare = (engine: Engine, rounds: Round[]): Comparison => {
  const on = rounds.filter((r) => r.mode === 'on');
  const off = rounds.filter((r) => r.mode === 'off');
  const onSide = side(on);
  const offSide = side(off);
  const ratio = median(on.map((r) => r.perSecond)) / median(off.map((r) => r.perSecond));
  const paired = on.map((r) => r.perSecond / (off.find((o) => o.round === r.round)?.perSecond ?? NaN));
  return {
    engine,
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

/** Both servers answer history with the bodies that were posted. */
const checkHistory = async (server: Server): Promise<void> => {
  const response = await historyRequest(server, 0);
  expect('history', response.statusCode, 200, response.body);
  server.pagesServed += 1;
  const page = response.json<{ messages: Array<{ body: string }> }>();
  if (page.messages.length !== PAGE) throw new Error(`history of the ${server.mode} server: ${page.messages.length} messages, expected ${PAGE}`);
  if (!page.messages.every((m) => BODY_SET.has(m.body))) throw new Error(`history of the ${server.mode} server returned a body that was never posted`);
};

interface AuditCount {
  /** History pages answered 200 over the server's life (pre-fill check, warm-up and rounds). */
  pagesServed: number;
  roomReadEntries: number;
  totalEntries: number;
  /** Group commits that wrote them (distinct commit times), and entries per commit. */
  readCommits: number;
  entriesPerCommit: number;
}

interface ReadsResult {
  engine: Engine;
  comparison: Comparison;
  prefill: Record<Mode, { messages: number; seconds: number; perSecond: number }>;
  audit: Record<Mode, AuditCount>;
  /** verifyAuditLog over the on server's log after the rounds (a checkpoint made first). */
  onVerify: { ok: boolean; entries: number; seconds: number; problems: string[] };
  rounds: Array<Omit<Round, 'latencies'>>;
  seconds: number;
}

const benchReads = async (engine: Engine, admin: () => pg.Pool): Promise<ReadsResult> => {
  const started = performance.now();
  console.log(`\n[${engine}, reads] building two servers (audit on and off)…`);
  const built: Server[] = [];
  try {
    for (const mode of ['on', 'off'] as const) built.push(await buildServer(engine, mode, admin));
    const servers: Record<Mode, Server> = { on: built[0] as Server, off: built[1] as Server };
    const before = { on: await countEntries(servers.on.services), off: await countEntries(servers.off.services) };
    if (before.on.total === 0 || before.off.total !== 0) throw new Error(`the switch did not take: entries after setup on ${before.on.total}, off ${before.off.total}`);

    // Pre-fill: HISTORY_FILL messages in each room, through the API.
    const prefill = {} as ReadsResult['prefill'];
    for (const mode of ['on', 'off'] as const) {
      const fill = await drive(servers[mode], 'post', { count: HISTORY_FILL * ROOMS });
      if (fill.ok !== HISTORY_FILL * ROOMS) throw new Error(`pre-fill of the ${mode} server stored ${fill.ok} of ${HISTORY_FILL * ROOMS}: ${JSON.stringify(fill.statuses)}`);
      prefill[mode] = { messages: fill.ok, seconds: round1(fill.elapsedMs / 1000), perSecond: round1(fill.perSecond) };
      console.log(`  pre-filled ${mode}: ${fill.ok} messages in ${(fill.elapsedMs / 1000).toFixed(1)} s (${fill.perSecond.toFixed(0)} /s)`);
    }
    for (const server of built) await checkHistory(server);
    // Fresh planner statistics for both schemas: otherwise autovacuum analyzes whichever server it reaches first.
    if (engine === 'postgres') await admin().query('analyze');

    for (const server of built) await drive(server, 'history', { ms: WARMUP_MS });
    const rounds = await interleaved(servers);

    const audit = {} as ReadsResult['audit'];
    for (const mode of ['on', 'off'] as const) {
      const counted = await countEntries(servers[mode].services);
      audit[mode] = {
        pagesServed: servers[mode].pagesServed,
        roomReadEntries: counted.roomReads,
        totalEntries: counted.total,
        readCommits: counted.readCommits,
        entriesPerCommit: counted.readCommits === 0 ? 0 : round1(counted.roomReads / counted.readCommits),
      };
    }
    console.log(`  audit entries: on ${audit.on.roomReadEntries} room.read for ${audit.on.pagesServed} pages served (${audit.on.totalEntries} in all; ${audit.on.entriesPerCommit} per group commit); off ${audit.off.totalEntries}`);
    if (audit.on.roomReadEntries !== audit.on.pagesServed) throw new Error(`the on server served ${audit.on.pagesServed} pages but recorded ${audit.on.roomReadEntries} reads`);
    if (audit.off.totalEntries !== 0) throw new Error(`the off server recorded ${audit.off.totalEntries} entries`);

    await servers.on.services.audit.checkpoint();
    const verifyStarted = performance.now();
    const report = await verifyAuditLog(servers.on.services.database.db, verifyOptions(servers.on.services));
    const onVerify = { ok: report.ok, entries: report.entries, seconds: round3((performance.now() - verifyStarted) / 1000), problems: report.problems.map((p) => `${p.seq}: ${p.message}`) };
    if (!report.ok || report.entries !== audit.on.totalEntries) throw new Error(`the on server's log does not verify: ${JSON.stringify(onVerify)}`);

    return {
      engine,
      comparison: compare(engine, rounds),
      prefill,
      audit,
      onVerify,
      rounds: rounds.map(({ latencies: _latencies, ...r }) => ({
        ...r,
        perSecond: round1(r.perSecond),
        elapsedMs: round1(r.elapsedMs),
        latencyMs: { p50: round2(r.latencyMs.p50), p99: round2(r.latencyMs.p99) },
        cpuMicrosPerOp: round1(r.cpuMicrosPerOp),
      })),
      seconds: round1((performance.now() - started) / 1000),
    };
  } finally {
    for (const server of built) await server.close();
    console.log(`[${engine}, reads] done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  }
};

// ---- part 2: a million entries ----

const hex = (random: () => number, chars: number): string => {
  let out = '';
  while (out.length < chars) out += Math.floor(random() * 2 ** 32).toString(16).padStart(8, '0');
  return out.slice(0, chars);
};

/** A UUIDv7-shaped id at `ms` (the form newId gives), random bits from the seeded generator. */
const v7 = (ms: number, random: () => number): string => {
  const time = ms.toString(16).padStart(12, '0');
  const rest = hex(random, 19);
  const variant = (8 + Math.floor(random() * 4)).toString(16);
  return `${time.slice(0, 8)}-${time.slice(8)}-7${rest.slice(0, 3)}-${variant}${rest.slice(3, 6)}-${rest.slice(6, 18)}`;
};

interface Pools {
  instances: string[];
  rooms: Array<{ id: string; instance: string }>;
  sessions: Array<{ id: string; actor: string }>;
  ipHashes: string[];
  uaHashes: string[];
}

const makePools = (random: () => number, base: number): Pools => {
  const instances = Array.from({ length: 3 }, (_, i) => v7(base - 9e8 + i, random));
  const actors = Array.from({ length: 60 }, (_, i) => v7(base - 8e8 + i, random));
  return {
    instances,
    rooms: Array.from({ length: 40 }, (_, i) => ({ id: v7(base - 7e8 + i, random), instance: instances[i % instances.length] as string })),
    sessions: Array.from({ length: 150 }, (_, i) => ({ id: v7(base - 6e8 + i, random), actor: actors[i % actors.length] as string })),
    ipHashes: Array.from({ length: 100 }, () => hex(random, 64)),
    uaHashes: Array.from({ length: 20 }, () => hex(random, 64)),
  };
};

const pick = <T>(values: T[], random: () => number): T => values[Math.floor(random() * values.length)] as T;

/** Entries `from`..`from + count - 1`, built as AuditLog.flush builds them; `at` 5 ms apart (no silences). */
const makeRows = (from: number, count: number, pools: Pools, startAt: number, random: () => number): AuditRow[] => {
  const rows: AuditRow[] = [];
  for (let seq = from; seq < from + count; seq += 1) {
    const at = startAt + seq * 5;
    const room = pick(pools.rooms, random);
    const session = pick(pools.sessions, random);
    const newest = at - Math.floor(random() * 86_400_000);
    const entry = {
      seq,
      at,
      action: 'room.read',
      instance_id: room.instance,
      actor_id: session.actor,
      session_id: session.id,
      room_id: room.id,
      detail: canonicalJson({ kind: 'history', count: PAGE, first: v7(newest - 3_600_000, random), last: v7(newest, random) }),
      ip_hash: pick(pools.ipHashes, random),
      ua_hash: pick(pools.uaHashes, random),
    };
    rows.push({ ...entry, leaf_hash: entryLeaf(entry).toString('hex') });
  }
  return rows;
};

/** The rows as verifyAuditLog reads them: pages of VERIFY_PAGE in sequence order. */
const loadAll = async (services: Services): Promise<AuditRow[]> => {
  const rows: AuditRow[] = [];
  for (;;) {
    const page = await listEntriesAfter(services.database.db, rows.length, VERIFY_PAGE);
    if (page.length === 0) break;
    for (const row of page) rows.push(row);
  }
  return rows;
};

/** The rows as verifyAuditLog reads them, each page dropped once counted (what verify keeps alive); returns the count. */
const loadPages = async (services: Services): Promise<number> => {
  let count = 0;
  for (;;) {
    const page = await listEntriesAfter(services.database.db, count, VERIFY_PAGE);
    if (page.length === 0) break;
    count += page.length;
  }
  return count;
};

// A full garbage collection before each timed step, so that one step's garbage (a million loaded rows is about
// a gigabyte) is not collected during the next: without it the three runs slowed down one after the other.
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

/** What verifyAuditLog does per entry once loaded: the leaf, its comparison with the stored one, the tree. */
const leavesAndTree = (rows: AuditRow[]): Buffer => {
  const tree = new TreeBuilder();
  let altered = 0;
  for (const row of rows) {
    const leaf = entryLeaf(row);
    if (leaf.toString('hex') !== row.leaf_hash) altered += 1;
    tree.push(leaf);
  }
  if (altered > 0) throw new Error(`${altered} leaves do not match their entries`);
  return tree.root();
};

interface Timed {
  seconds: number[];
  medianSeconds: number;
  perSecond: number;
  /** This process's CPU time ÷ wall time, median (below 1: waiting on the database or the machine). */
  cpuShare: number;
}

const timed = (seconds: number[], cpu: number[], entries: number): Timed => {
  const medianSeconds = median(seconds);
  return { seconds: seconds.map(round3), medianSeconds: round3(medianSeconds), perSecond: Math.round(entries / medianSeconds), cpuShare: round2(median(cpu.map((c, i) => c / (seconds[i] as number)))) };
};

const measure = async <T>(fn: () => Promise<T> | T): Promise<{ value: T; seconds: number; cpuSeconds: number }> => {
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const value = await fn();
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  return { value, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
};

interface Breakdown {
  entries: number;
  /** µs per entry of each step, measured alone over the same rows. */
  micros: { canonicalEntry: number; leafHash: number; hexCompare: number; treePush: number; sum: number; together: number };
  /** The same steps with one-shot hashing (crypto.hash over the prefixed bytes) instead of createHash().update().update().digest(). */
  oneShotMicros: { leafHash: number; treePush: number };
}

const NODE = Buffer.from([1]);
const oneShotLeaf = (data: string): Buffer => hash('sha256', `\u0000${data}`, 'buffer') as unknown as Buffer;
const oneShotNode = (left: Buffer, right: Buffer): Buffer => hash('sha256', Buffer.concat([NODE, left, right]), 'buffer') as unknown as Buffer;

const oneShotRoot = (leaves: Buffer[]): Buffer => {
  const stack: Buffer[] = [];
  let count = 0;
  for (const leaf of leaves) {
    let node = leaf;
    let size = count;
    while (size & 1) {
      node = oneShotNode(stack.pop() as Buffer, node);
      size >>= 1;
    }
    stack.push(node);
    count += 1;
  }
  let root = stack[stack.length - 1] as Buffer;
  for (let i = stack.length - 2; i >= 0; i -= 1) root = oneShotNode(stack[i] as Buffer, root);
  return root;
};

/** The in-memory work split into its steps, each timed alone over the first BREAKDOWN_ENTRIES rows (median of 3). */
const breakdown = (subset: AuditRow[]): Breakdown => {
  const n = subset.length;
  const per = (fn: () => void): number => {
    const samples: number[] = [];
    for (let s = 0; s < 3; s += 1) {
      collect();
      const started = performance.now();
      fn();
      samples.push(((performance.now() - started) * 1000) / n);
    }
    return median(samples);
  };
  let texts: string[] = [];
  let leaves: Buffer[] = [];
  const canonical = per(() => {
    texts = subset.map((row) => canonicalEntry(row));
  });
  const leafMicros = per(() => {
    leaves = texts.map((text) => leafHash(text));
  });
  let mismatched = 0;
  const hexMicros = per(() => {
    mismatched = 0;
    for (let i = 0; i < n; i += 1) if ((leaves[i] as Buffer).toString('hex') !== (subset[i] as AuditRow).leaf_hash) mismatched += 1;
  });
  if (mismatched > 0) throw new Error(`breakdown: ${mismatched} leaves differ`);
  let root: Buffer = Buffer.alloc(0);
  const treeMicros = per(() => {
    const tree = new TreeBuilder();
    for (const leaf of leaves) tree.push(leaf);
    root = tree.root();
  });
  const together = per(() => {
    leavesAndTree(subset);
  });
  let oneShotLeaves: Buffer[] = [];
  const oneShotLeafMicros = per(() => {
    oneShotLeaves = texts.map(oneShotLeaf);
  });
  if (!oneShotLeaves.every((leaf, i) => leaf.equals(leaves[i] as Buffer))) throw new Error('one-shot leaves differ');
  let oneShot: Buffer = Buffer.alloc(0);
  const oneShotTreeMicros = per(() => {
    oneShot = oneShotRoot(leaves);
  });
  if (!oneShot.equals(root)) throw new Error('one-shot root differs');
  return {
    entries: n,
    micros: {
      canonicalEntry: round3(canonical),
      leafHash: round3(leafMicros),
      hexCompare: round3(hexMicros),
      treePush: round3(treeMicros),
      sum: round3(canonical + leafMicros + hexMicros + treeMicros),
      together: round3(together),
    },
    oneShotMicros: { leafHash: round3(oneShotLeafMicros), treePush: round3(oneShotTreeMicros) },
  };
};

interface VerifyResult {
  engine: Engine;
  entries: number;
  insert: { seconds: number; perSecond: number };
  /** services.audit.checkpoint() over all entries: reads every leaf hash, builds the tree, signs, witnesses. */
  checkpointSeconds: number;
  report: Pick<VerifyReport, 'ok' | 'entries' | 'checkpoints' | 'witnessed'> & { problems: number; silences: number };
  verify: Timed;
  /** The rows read as verify reads them, each page dropped once read. */
  load: Timed;
  /** The same, every row kept (the input of inMemory): the extra over `load` is the cost of keeping a million rows alive. */
  loadRetained: Timed;
  inMemory: Timed;
  /** SQLite only: every row through one better-sqlite3 statement (`iterate`), no Kysely and no paging: as objects, and as arrays (`raw`). */
  directFetch?: Timed;
  directFetchRaw?: Timed;
  heapAfterLoadMiB: number;
  breakdown: Breakdown;
  seconds: number;
}

const benchVerify = async (engine: Engine, admin: () => pg.Pool): Promise<VerifyResult> => {
  const started = performance.now();
  console.log(`\n[${engine}, verify] ${VERIFY_ENTRIES.toLocaleString('en-US')} entries…`);
  const storage = await makeStorage(engine, 'verify', admin);
  let services: Services | undefined;
  try {
    services = await openServices(engine, storage, true);
    const db = services.database.db;
    const existing = await countEntries(services);
    if (existing.total !== 0 || (await findHeadSeq(db)) !== 0) throw new Error(`a fresh database holds ${existing.total} audit entries`);

    // Insert: seq 1..N in transactions of INSERT_TRANSACTION, then the head, then a signed checkpoint.
    const random = rng(20261124);
    const startAt = Date.now() - VERIFY_ENTRIES * 5 - 60_000;
    const pools = makePools(random, startAt);
    const inserted = await measure(async () => {
      for (let from = 1; from <= VERIFY_ENTRIES; from += INSERT_TRANSACTION) {
        const rows = makeRows(from, Math.min(INSERT_TRANSACTION, VERIFY_ENTRIES - from + 1), pools, startAt, random);
        await db.transaction().execute(async (trx) => {
          for (let i = 0; i < rows.length; i += INSERT_STATEMENT) await insertEntries(trx, rows.slice(i, i + INSERT_STATEMENT));
        });
        if ((from - 1) % 200_000 === 0 && from > 1) console.log(`  ${(from - 1).toLocaleString('en-US')} inserted…`);
      }
      await db.updateTable('audit_head').set({ seq: VERIFY_ENTRIES }).where('id', '=', 1).execute();
    });
    console.log(`  inserted ${VERIFY_ENTRIES.toLocaleString('en-US')} in ${inserted.seconds.toFixed(1)} s (${Math.round(VERIFY_ENTRIES / inserted.seconds).toLocaleString('en-US')} /s, building rows included)`);
    // Hint bits and statistics now rather than during the first verify run.
    if (engine === 'postgres') await admin().query(`vacuum (analyze) ${storage.pgSchema as string}.audit_entries`);
    const theServices = services;
    const checkpoint = await measure(() => theServices.audit.checkpoint());
    if (!checkpoint.value || Number(checkpoint.value.size) !== VERIFY_ENTRIES) throw new Error(`no checkpoint at size ${VERIFY_ENTRIES}: ${JSON.stringify(checkpoint.value)}`);
    console.log(`  checkpoint at ${VERIFY_ENTRIES.toLocaleString('en-US')} signed and witnessed in ${checkpoint.seconds.toFixed(1)} s`);
    const signedRoot = Buffer.from(checkpoint.value.root_hash, 'hex');

    const runs = { verify: [] as number[], verifyCpu: [] as number[], load: [] as number[], loadCpu: [] as number[], retained: [] as number[], retainedCpu: [] as number[], memory: [] as number[], memoryCpu: [] as number[] };
    let report: VerifyReport | undefined;
    let rows: AuditRow[] = [];
    let heapAfterLoad = 0;
    // Interleaved: verify, load, in-memory, then again, so drift falls on all of them.
    for (let run = 1; run <= VERIFY_RUNS; run += 1) {
      rows = [];
      collect();
      const verified = await measure(() => verifyAuditLog(db, verifyOptions(theServices)));
      report = verified.value;
      if (!report.ok || report.entries !== VERIFY_ENTRIES || report.checkpoints !== 1 || report.witnessed !== 1) {
        throw new Error(`verification did not pass: ${JSON.stringify({ ...report, problems: report.problems.slice(0, 5) })}`);
      }
      runs.verify.push(verified.seconds);
      runs.verifyCpu.push(verified.cpuSeconds);
      collect();
      const loaded = await measure(() => loadPages(theServices));
      if (loaded.value !== VERIFY_ENTRIES) throw new Error(`loaded ${loaded.value} rows`);
      runs.load.push(loaded.seconds);
      runs.loadCpu.push(loaded.cpuSeconds);
      collect();
      const retained = await measure(() => loadAll(theServices));
      rows = retained.value;
      if (rows.length !== VERIFY_ENTRIES) throw new Error(`loaded ${rows.length} rows`);
      runs.retained.push(retained.seconds);
      runs.retainedCpu.push(retained.cpuSeconds);
      collect();
      heapAfterLoad = Math.max(heapAfterLoad, process.memoryUsage().heapUsed);
      const loadedRows = rows;
      const computed = await measure(() => leavesAndTree(loadedRows));
      if (!computed.value.equals(signedRoot)) throw new Error('the recomputed root is not the signed one');
      runs.memory.push(computed.seconds);
      runs.memoryCpu.push(computed.cpuSeconds);
      console.log(
        `  run ${run}: verify ${verified.seconds.toFixed(2)} s (${Math.round(VERIFY_ENTRIES / verified.seconds).toLocaleString('en-US')} /s), load ${loaded.seconds.toFixed(2)} s (kept: ${retained.seconds.toFixed(2)} s), leaves+tree ${computed.seconds.toFixed(2)} s (${Math.round(VERIFY_ENTRIES / computed.seconds).toLocaleString('en-US')} /s)`,
      );
    }

    const subset = rows.slice(0, BREAKDOWN_ENTRIES);
    rows = [];
    let directFetch: Timed | undefined;
    let directFetchRaw: Timed | undefined;
    if (engine === 'sqlite') {
      const direct = new SQLite(services.database.location, { readonly: true });
      try {
        const fetchAll = async (raw: boolean): Promise<Timed> => {
          const statement = direct.prepare('select * from audit_entries order by seq').raw(raw);
          const seconds: number[] = [];
          const cpu: number[] = [];
          for (let run = 0; run < VERIFY_RUNS; run += 1) {
            collect();
            const fetched = await measure(() => {
              let count = 0;
              for (const _row of statement.iterate()) count += 1;
              return count;
            });
            if (fetched.value !== VERIFY_ENTRIES) throw new Error(`direct fetch saw ${fetched.value} rows`);
            seconds.push(fetched.seconds);
            cpu.push(fetched.cpuSeconds);
          }
          return timed(seconds, cpu, VERIFY_ENTRIES);
        };
        directFetch = await fetchAll(false);
        directFetchRaw = await fetchAll(true);
        console.log(`  direct fetch (one better-sqlite3 statement): objects ${directFetch.medianSeconds} s (${directFetch.perSecond.toLocaleString('en-US')} /s), arrays ${directFetchRaw.medianSeconds} s (${directFetchRaw.perSecond.toLocaleString('en-US')} /s)`);
      } finally {
        direct.close();
      }
    }

    const split = breakdown(subset);
    console.log(`  per entry (µs): ${JSON.stringify(split.micros)}; one-shot hashing ${JSON.stringify(split.oneShotMicros)}`);
    const done = report as VerifyReport;
    return {
      engine,
      entries: VERIFY_ENTRIES,
      insert: { seconds: round1(inserted.seconds), perSecond: Math.round(VERIFY_ENTRIES / inserted.seconds) },
      checkpointSeconds: round2(checkpoint.seconds),
      report: { ok: done.ok, entries: done.entries, checkpoints: done.checkpoints, witnessed: done.witnessed, problems: done.problems.length, silences: done.silences.length },
      verify: timed(runs.verify, runs.verifyCpu, VERIFY_ENTRIES),
      load: timed(runs.load, runs.loadCpu, VERIFY_ENTRIES),
      loadRetained: timed(runs.retained, runs.retainedCpu, VERIFY_ENTRIES),
      inMemory: timed(runs.memory, runs.memoryCpu, VERIFY_ENTRIES),
      ...(directFetch ? { directFetch } : {}),
      ...(directFetchRaw ? { directFetchRaw } : {}),
      heapAfterLoadMiB: Math.round(heapAfterLoad / 2 ** 20),
      breakdown: split,
      seconds: round1((performance.now() - started) / 1000),
    };
  } finally {
    await services?.close();
    await storage.drop();
    console.log(`[${engine}, verify] done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  }
};

// ---- report ----

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const pct = (n: number): string => `${n > 0 ? '+' : ''}${n.toFixed(1)}%`;
const spreadPct = (paired: Comparison['pairedRatio']): string => `${pct((1 - paired.max) * 100)} to ${pct((1 - paired.min) * 100)}`;
const engineName = (engine: Engine): string => (engine === 'sqlite' ? 'SQLite' : 'PostgreSQL');

const readsReading = (r: ReadsResult): string => {
  const c = r.comparison;
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
  const zero = lowest <= 0 && highest >= 0 ? " The pairs straddle zero: the difference is within this machine's noise." : '';
  const addedCpu = c.on.cpuMicrosPerOp - c.off.cpuMicrosPerOp;
  return `- **${engineName(r.engine)}, history**: overhead ${pct(c.overheadPercent)} by the medians (round pairs ${spreadPct(c.pairedRatio)}), ${verdict}. CPU per request on ÷ off: ${c.cpuPerOpRatio} (${addedCpu >= 0 ? '+' : ''}${fmt(addedCpu)} µs). The on server wrote ${fmt(r.audit.on.roomReadEntries)} \`room.read\` entries for ${fmt(r.audit.on.pagesServed)} pages served (one each; ${fmt(r.audit.on.totalEntries)} entries in all, with set-up and log-ins; ${r.audit.on.entriesPerCommit} entries per group commit on average, ${fmt(r.audit.on.readCommits)} commits) and its log verified (${fmt(r.onVerify.entries)} entries in ${r.onVerify.seconds} s); the off server wrote ${fmt(r.audit.off.totalEntries)}.${zero}`;
};

const verifyReading = (v: VerifyResult): string => {
  const meets = v.verify.perSecond > TARGET_VERIFY_PER_SECOND;
  const b = v.breakdown.micros;
  const perEntry = 1e6 / v.verify.perSecond;
  const loadShare = (v.load.medianSeconds / v.verify.medianSeconds) * 100;
  const memoryShare = (v.inMemory.medianSeconds / v.verify.medianSeconds) * 100;
  const step = (name: string, micros: number): string => `${name} ${micros} µs (${Math.round((micros / b.sum) * 100)}%)`;
  return [
    `- **${engineName(v.engine)}**: ${fmt(v.entries)} entries verified (ok, 1 stored and 1 witnessed checkpoint) in ${v.verify.medianSeconds} s median: ${fmt(v.verify.perSecond)} entries/s, ${meets ? 'above' : 'below'} the ${fmt(TARGET_VERIFY_PER_SECOND)}/s target (${perEntry.toFixed(2)} µs per entry, where the target allows 2 µs).`,
    `  Loading the rows alone (the same pages of ${fmt(VERIFY_PAGE)} through Kysely, each dropped once read) takes ${v.load.medianSeconds} s (${fmt(v.load.perSecond)}/s, ${Math.round(loadShare)}% of verify; keeping all ${fmt(v.entries)} rows alive instead: ${v.loadRetained.medianSeconds} s); leaves and tree on rows in memory ${v.inMemory.medianSeconds} s (${fmt(v.inMemory.perSecond)}/s, ${Math.round(memoryShare)}%; heap with the rows loaded ${fmt(v.heapAfterLoadMiB)} MiB).` +
      (v.directFetch && v.directFetchRaw
        ? ` One better-sqlite3 statement iterating every row, no Kysely and no paging: ${v.directFetch.medianSeconds} s (${fmt(v.directFetch.perSecond)}/s) as objects, ${v.directFetchRaw.medianSeconds} s (${fmt(v.directFetchRaw.perSecond)}/s) as arrays (\`raw\`).`
        : ''),
    `  In memory, per entry, each step alone over ${fmt(v.breakdown.entries)} rows: ${step('canonical encoding (JSON.stringify)', b.canonicalEntry)}, ${step('leaf SHA-256 (createHash)', b.leafHash)}, ${step('hex of the leaf and compare', b.hexCompare)}, ${step('tree push (≈1 node SHA-256 each)', b.treePush)}; sum ${b.sum} µs, all together ${b.together} µs. One-shot \`crypto.hash\` instead of createHash().update()…digest(): leaf ${v.breakdown.oneShotMicros.leafHash} µs, tree ${v.breakdown.oneShotMicros.treePush} µs.`,
  ].join('\n');
};

export const run = async (args: string[]): Promise<void> => {
  const unknown = args.filter((a) => !ENGINES.includes(a as Engine) && !PARTS.includes(a as Part));
  if (unknown.length > 0) {
    console.error('usage: npm run bench -- audit [sqlite|postgres] [reads|verify]   (default: both engines, both parts)');
    process.exitCode = 2;
    return;
  }
  const engines = ENGINES.filter((e) => args.includes(e));
  const parts = PARTS.filter((p) => args.includes(p));
  if (engines.length === 0) engines.push(...ENGINES);
  if (parts.length === 0) parts.push(...PARTS);
  const machine = describeMachine(['fastify', 'better-sqlite3', 'pg', 'kysely']);
  let uncommitted = 'unknown';
  try {
    uncommitted = String(execSync('git status --porcelain --untracked-files=no', { encoding: 'utf8' }).split('\n').filter(Boolean).length);
  } catch {
    // not a checkout
  }
  const overrides = [
    'BENCH_ROUND_MS',
    'BENCH_ROUNDS',
    'BENCH_WARMUP_MS',
    'BENCH_CONCURRENCY',
    'BENCH_HISTORY_FILL',
    'BENCH_DATABASE_URL',
    'BENCH_VERIFY_ENTRIES',
    'BENCH_VERIFY_RUNS',
    'BENCH_BREAKDOWN_ENTRIES',
    'SQLITE_SYNCHRONOUS',
  ]
    .filter((name) => process.env[name] !== undefined)
    .map((name) => `${name}=${process.env[name] as string} `)
    .join('');
  const command = `${overrides}npm run bench -- audit${args.length > 0 ? ` ${args.join(' ')}` : ''}`;
  const settings = {
    roundMs: ROUND_MS,
    roundsEach: ROUNDS,
    warmupMs: WARMUP_MS,
    concurrency: CONCURRENCY,
    rooms: ROOMS,
    posters: POSTERS,
    historyFillPerRoom: HISTORY_FILL,
    historyPage: PAGE,
    verifyEntries: VERIFY_ENTRIES,
    verifyRuns: VERIFY_RUNS,
    insertTransaction: INSERT_TRANSACTION,
    insertStatement: INSERT_STATEMENT,
    verifyPage: VERIFY_PAGE,
    breakdownEntries: BREAKDOWN_ENTRIES,
    sqliteSynchronous: process.env['SQLITE_SYNCHRONOUS'] ?? 'normal (default)',
  };
  console.log(`audit log: ${parts.join(' and ')} on ${engines.join(', ')}`);

  let pool: pg.Pool | undefined;
  const admin = (): pg.Pool => (pool ??= new pg.Pool({ connectionString: PG_URL, max: 2 }));
  const reads: ReadsResult[] = [];
  const verifies: VerifyResult[] = [];
  const started = performance.now();
  try {
    if (parts.includes('reads')) for (const engine of engines) reads.push(await benchReads(engine, admin));
    if (parts.includes('verify')) for (const engine of engines) verifies.push(await benchVerify(engine, admin));
  } finally {
    await pool?.end();
  }
  const loadAfter = loadavg().map((n) => Number(n.toFixed(2)));

  const readsTable = [
    '| engine | on: median /s (min–max) | off: median /s (min–max) | on ÷ off | overhead | p50 ms on / off | p99 ms on / off | CPU µs/request on / off | room.read entries on / pages served on | entries per group commit, on | entries off |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...reads.map(({ comparison: c, audit }) =>
      `| ${c.engine} | ${fmt(c.on.perSecond.median)} (${fmt(c.on.perSecond.min)}–${fmt(c.on.perSecond.max)}) | ${fmt(c.off.perSecond.median)} (${fmt(c.off.perSecond.min)}–${fmt(c.off.perSecond.max)}) | ${c.ratio} | ${pct(c.overheadPercent)} (pairs ${spreadPct(c.pairedRatio)}) | ${c.on.latencyMs.p50} / ${c.off.latencyMs.p50} | ${c.on.latencyMs.p99} / ${c.off.latencyMs.p99} | ${fmt(c.on.cpuMicrosPerOp)} / ${fmt(c.off.cpuMicrosPerOp)} | ${fmt(audit.on.roomReadEntries)} / ${fmt(audit.on.pagesServed)} | ${audit.on.entriesPerCommit} | ${fmt(audit.off.totalEntries)} |`,
    ),
  ];
  const range = (t: Timed): string => `${Math.min(...t.seconds)}–${Math.max(...t.seconds)}`;
  const verifyTable = [
    '| engine | entries | insert (rows built + written) | checkpoint | verifyAuditLog: median s (min–max) → entries/s | load rows alone → /s | load, rows kept | leaves + tree in memory → /s | CPU ÷ wall, verify | target > 500k/s |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...verifies.map(
      (v) =>
        `| ${v.engine} | ${fmt(v.entries)} | ${v.insert.seconds} s (${fmt(v.insert.perSecond)}/s) | ${v.checkpointSeconds} s | ${v.verify.medianSeconds} (${range(v.verify)}) → **${fmt(v.verify.perSecond)}** | ${v.load.medianSeconds} s (${range(v.load)}) → ${fmt(v.load.perSecond)} | ${v.loadRetained.medianSeconds} s | ${v.inMemory.medianSeconds} s (${range(v.inMemory)}) → ${fmt(v.inMemory.perSecond)} | ${v.verify.cpuShare} | ${v.verify.perSecond > TARGET_VERIFY_PER_SECOND ? 'met' : 'not met'} |`,
    ),
  ];
  const breakdownTable = [
    '| engine | canonicalEntry (JSON.stringify) | leafHash (createHash) | leaf hex + compare | TreeBuilder.push | sum | together | one-shot crypto.hash: leaf / tree |',
    '|---|---|---|---|---|---|---|---|',
    ...verifies.map((v) => {
      const b = v.breakdown.micros;
      return `| ${v.engine} | ${b.canonicalEntry} | ${b.leafHash} | ${b.hexCompare} | ${b.treePush} | ${b.sum} | ${b.together} | ${v.breakdown.oneShotMicros.leafHash} / ${v.breakdown.oneShotMicros.treePush} |`;
    }),
  ];
  if (reads.length > 0) console.log(`\n${readsTable.join('\n')}`);
  if (verifies.length > 0) console.log(`\n${verifyTable.join('\n')}\n\n${breakdownTable.join('\n')}`);

  const stamp = machine.date.slice(0, 19).replaceAll(':', '-');
  const report = [
    `# Audit log benchmark, ${machine.date}`,
    '',
    `Command: \`${command}\` (commit ${machine.commit}, ${uncommitted} tracked file(s) with uncommitted changes). Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}, load average before the run ${machine.loadAverage.join(' / ')}, after ${loadAfter.join(' / ')}.`,
    `Packages: ${Object.entries(machine.packages).map(([k, v]) => `${k} ${v}`).join(', ')}. SQLite synchronous=${settings.sqliteSynchronous}; PostgreSQL at ${PG_URL.replace(/\/\/[^@]*@/, '//')}, a fresh schema per server.`,
    '',
    ...(reads.length > 0
      ? [
          '## History reads, audit on vs off',
          '',
          `Per engine, two servers in this process, built up front with the same data through the HTTP API (app.inject):`,
          `audit on (the default: every \`GET /api/v1/rooms/:roomId/messages\` page writes one \`room.read\` entry, group-committed,`,
          `before it is answered) and off (\`audit: false\`, nothing recorded). Both encrypt at rest. ${POSTERS} people in ${ROOMS} public rooms,`,
          `${fmt(HISTORY_FILL)} messages posted to each room first, then after ${WARMUP_MS / 1000} s unmeasured per server, ${ROUNDS} measured rounds of`,
          `${ROUND_MS / 1000} s each way of reads of a room's latest ${PAGE} messages, ${CONCURRENCY} requests in flight, in the order on, off, off, on, ….`,
          `Throughput: median of rounds (min–max). Latency: p50/p99 over every request of the rounds. CPU: this process's`,
          `user+system time per request (server and inject client; PostgreSQL's own CPU is not in it). Entries counted in`,
          `\`audit_entries\` after the rounds; pages served counts every 200 history answer of the server's life.`,
          '',
          ...readsTable,
          '',
          `Overhead = (1 − on ÷ off) × 100 of the medians; "pairs" is the range of the same figure over the ${ROUNDS} adjacent on/off round pairs. Target: under ${TARGET_OVERHEAD_PERCENT}%.`,
          '',
        ]
      : []),
    ...(verifies.length > 0
      ? [
          `## Verification of ${fmt(VERIFY_ENTRIES)} entries`,
          '',
          `A fresh server (audit on) per engine; ${fmt(VERIFY_ENTRIES)} \`room.read\` entries built as AuditLog.flush builds them (seq 1..N, 5 ms apart,`,
          `ids from pools of 3 instances, 40 rooms, 60 actors and 150 sessions, detail the canonical JSON of a history page with`,
          `UUIDv7 first/last ids, 64-hex ip/ua hashes, leaf_hash = entryLeaf) inserted through \`insertEntries\` in transactions of`,
          `${fmt(INSERT_TRANSACTION)} (statements of ${fmt(INSERT_STATEMENT)} rows), \`audit_head.seq\` set to N, then \`services.audit.checkpoint()\``,
          `(signed, stored and witnessed).${verifies.some((v) => v.engine === 'postgres') ? ' PostgreSQL: `vacuum (analyze)` of the table before the checkpoint.' : ''} Then ${VERIFY_RUNS} runs, each: \`verifyAuditLog\` end to end (must`,
          `report ok, N entries, 1 stored and 1 witnessed checkpoint), loading the rows alone (pages of ${fmt(VERIFY_PAGE)} through`,
          `\`listEntriesAfter\`, as verify reads them, each page dropped once read), loading them again keeping every row, and on those`,
          `rows in memory the leaves (\`entryLeaf\`, compared with the stored hex) pushed into a \`TreeBuilder\` (root checked against the`,
          `signed one). A full garbage collection before each timed step. Medians of the ${VERIFY_RUNS} runs (min–max).`,
          `CPU ÷ wall: this process's CPU time over the wall time of verify (PostgreSQL's own CPU is not in it; above 1: V8's parallel garbage collection on the second core).`,
          '',
          ...verifyTable,
          '',
          `Per entry, µs, each step of the in-memory work timed alone over the first ${fmt(BREAKDOWN_ENTRIES)} loaded rows (median of 3);`,
          `"together" is the same loop as above; the last column replaces \`createHash().update(prefix).update(data).digest()\` by`,
          'one `crypto.hash` call (leaf: over `"\\u0000" + text`; node: over the concatenated bytes; same hashes, checked):',
          '',
          ...breakdownTable,
          '',
        ]
      : []),
    '## Reading',
    '',
    ...reads.map(readsReading),
    ...verifies.map(verifyReading),
    '',
    'Client, servers and (for PostgreSQL) the database share the two cores, and the machine is shared, so single',
    'rounds move by several percent; the round-pair range is the honest error bar of part 1.',
    '',
  ].join('\n');

  const json = {
    command,
    machine: { ...machine, uncommittedTrackedFiles: uncommitted, loadAverageAfter: loadAfter },
    settings,
    targets: { overheadPercent: TARGET_OVERHEAD_PERCENT, verifyEntriesPerSecond: TARGET_VERIFY_PER_SECOND },
    totalSeconds: round1((performance.now() - started) / 1000),
    reads,
    verify: verifies,
  };
  await writeFile(join('bench', 'results', `audit-${stamp}.md`), report);
  await writeFile(join('bench', 'results', `audit-${stamp}.json`), `${JSON.stringify(json, null, 2)}\n`);
  console.log(`wrote bench/results/audit-${stamp}.md and .json (${json.totalSeconds} s)`);
};
