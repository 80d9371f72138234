// What the in-process on/off benchmarks (encryption, audit) share: two servers in this process built through
// createServices/buildApp and seeded through the HTTP API (app.inject), the request driver (concurrency,
// latency, CPU per request), interleaved on/off rounds, the comparison maths, formatting and the report's
// command line. What tells the two servers apart is the caller's: the createServices options of each side.
import { execSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { buildApp, createServices, loadConfig } from '@conclave/server';
import type { Services } from '@conclave/server';
import { createLogger } from '../../packages/server/src/http/logger.ts';
import type { App } from '../../packages/server/src/http/types.ts';
import { issueSetupToken } from '../../packages/server/src/instances/index.ts';
import type { ServiceOptions } from '../../packages/server/src/services.ts';
import { median, percentile } from './machine.ts';
import type { describeMachine } from './machine.ts';

export type Engine = 'sqlite' | 'postgres';
export type Mode = 'on' | 'off';
export type Operation = 'post' | 'history';

export const ENGINES: readonly Engine[] = ['sqlite', 'postgres'];
export const MODES: readonly Mode[] = ['on', 'off'];
export const ROUND_MS = Number(process.env['BENCH_ROUND_MS'] ?? 5_000);
export const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 5);
export const WARMUP_MS = Number(process.env['BENCH_WARMUP_MS'] ?? 1_500);
export const CONCURRENCY = Number(process.env['BENCH_CONCURRENCY'] ?? 16);
export const ROOMS = 8;
export const POSTERS = 4;
export const PAGE = 50;
export const PG_URL = process.env['BENCH_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/conclave_test';
/** SQLite's synchronous setting as the report states it. */
export const SQLITE_SYNCHRONOUS = process.env['SQLITE_SYNCHRONOUS'] ?? 'normal (default)';

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

/** A seeded generator (mulberry32): the same numbers on every run. */
export const rng = (seed: number): (() => number) => {
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

export const BODIES = makeBodies(4_096);
export const BODY_SET = new Set(BODIES);

// ---- PostgreSQL and storage: a temp dir per server, and a schema of its own ----

/** The admin pool, opened on first use (only PostgreSQL runs need it); `end` closes it if it was opened. */
export const adminPool = (): { admin: () => pg.Pool; end: () => Promise<void> } => {
  let pool: pg.Pool | undefined;
  return {
    admin: () => (pool ??= new pg.Pool({ connectionString: PG_URL, max: 2 })),
    end: async () => {
      await pool?.end();
    },
  };
};

export interface Storage {
  dir: string;
  pgSchema: string | undefined;
  drop(): Promise<void>;
}

/** A temp dir `conclave-bench-{bench}-{label}-…` and, for PostgreSQL, a fresh schema `bench_{bench}_{label}_…`. */
export const makeStorage = async (bench: string, engine: Engine, label: string, admin: () => pg.Pool): Promise<Storage> => {
  const dir = await mkdtemp(join(tmpdir(), `conclave-bench-${bench}-${label}-`));
  let pgSchema: string | undefined;
  if (engine === 'postgres') {
    pgSchema = `bench_${bench}_${label}_${process.pid}_${randomBytes(3).toString('hex')}`;
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

/** Services on that storage, rate limits out of the way; `options` is what sets this server apart. */
export const openServices = async (engine: Engine, storage: Storage, options: ServerOptions): Promise<Services> => {
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
  return createServices(config, { logger: createLogger('warn'), ...options, ...(storage.pgSchema ? { pgSchema: storage.pgSchema } : {}) });
};

// ---- servers ----

export interface Person {
  accountId: string;
  headers: Record<string, string>;
}

export interface Server {
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
  /** History pages answered 200 over the server's life. */
  pagesServed: number;
  close(): Promise<void>;
}

export const expect = (what: string, status: number, wanted: number, body: string): void => {
  if (status !== wanted) throw new Error(`${what}: expected ${wanted}, got ${status} ${body.slice(0, 300)}`);
};

/** What sets a server apart: its createServices options, e.g. `{ encrypt: false }` or `{ audit: false }`. */
export type ServerOptions = Omit<ServiceOptions, 'logger' | 'pgSchema'>;

export interface ServerSpec {
  /** Names the temp dir and schema: `enc`, `audit`. */
  bench: string;
  /** The instance's name at setup. */
  instanceName: string;
  options: ServerOptions;
}

/** A server on fresh storage, set up through the API: an owner, POSTERS − 1 more people, ROOMS public rooms all joined. */
export const buildServer = async (engine: Engine, mode: Mode, spec: ServerSpec, admin: () => pg.Pool): Promise<Server> => {
  const storage = await makeStorage(spec.bench, engine, mode, admin);
  let services: Services | undefined;
  let app: App | undefined;
  try {
    services = await openServices(engine, storage, spec.options);
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
      instance: { slug, name: spec.instanceName },
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

/** The on and the off server (built in that order) of one bench, each with its own createServices options; closes what was built if one fails. */
export const buildPair = async (engine: Engine, spec: { bench: string; instanceName: string; on: ServerOptions; off: ServerOptions }, admin: () => pg.Pool): Promise<Record<Mode, Server>> => {
  const built: Server[] = [];
  try {
    for (const mode of MODES) built.push(await buildServer(engine, mode, { bench: spec.bench, instanceName: spec.instanceName, options: spec[mode] }, admin));
  } catch (error) {
    for (const server of built) await server.close();
    throw error;
  }
  return { on: built[0] as Server, off: built[1] as Server };
};

// ---- load ----

export interface Round {
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

export type Driven = Omit<Round, 'mode' | 'operation' | 'round'>;

/** The n-th post of a server: poster n mod 4, then the next room, bodies in order. */
export const postRequest = (server: Server, n: number) => {
  const person = server.people[n % server.people.length] as Person;
  const roomId = server.rooms[Math.floor(n / server.people.length) % server.rooms.length] as string;
  const body = BODIES[n % BODIES.length] as string;
  return server.app.inject({ method: 'POST', url: `/api/v1/rooms/${roomId}/messages`, headers: person.headers, payload: { body } as unknown as string });
};

export const historyRequest = (server: Server, n: number) => {
  const person = server.people[n % server.people.length] as Person;
  const roomId = server.rooms[Math.floor(n / server.people.length) % server.rooms.length] as string;
  return server.app.inject({ method: 'GET', url: `/api/v1/rooms/${roomId}/messages?limit=${PAGE}`, headers: person.headers });
};

/** CONCURRENCY requests in flight until the deadline (or until `count` are issued). */
export const drive = async (server: Server, operation: Operation, limit: { ms?: number; count?: number }): Promise<Driven> => {
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
export const interleaved = async (servers: Record<Mode, Server>, operation: Operation): Promise<Round[]> => {
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

export type Prefill = Record<Mode, { messages: number; seconds: number; perSecond: number }>;

/** `perRoom` messages in each room of both servers, through the API, on first then off. */
export const prefill = async (servers: Record<Mode, Server>, perRoom: number): Promise<Prefill> => {
  const filled = {} as Prefill;
  for (const mode of MODES) {
    const fill = await drive(servers[mode], 'post', { count: perRoom * ROOMS });
    if (fill.ok !== perRoom * ROOMS) throw new Error(`pre-fill of the ${mode} server stored ${fill.ok} of ${perRoom * ROOMS}: ${JSON.stringify(fill.statuses)}`);
    filled[mode] = { messages: fill.ok, seconds: round1(fill.elapsedMs / 1000), perSecond: round1(fill.perSecond) };
    console.log(`  pre-filled ${mode}: ${fill.ok} messages in ${(fill.elapsedMs / 1000).toFixed(1)} s (${fill.perSecond.toFixed(0)} /s)`);
  }
  return filled;
};

/** A server answers history with the bodies that were posted (a page of PAGE, each body one of BODIES). */
export const checkHistory = async (server: Server): Promise<void> => {
  const response = await historyRequest(server, 0);
  expect('history', response.statusCode, 200, response.body);
  server.pagesServed += 1;
  const page = response.json<{ messages: Array<{ body: string }> }>();
  if (page.messages.length !== PAGE) throw new Error(`history of the ${server.mode} server: ${page.messages.length} messages, expected ${PAGE}`);
  if (!page.messages.every((m) => BODY_SET.has(m.body))) throw new Error(`history of the ${server.mode} server returned a body that was never posted`);
};

// ---- figures ----

export const round1 = (n: number): number => Number(n.toFixed(1));
export const round2 = (n: number): number => Number(n.toFixed(2));
export const round3 = (n: number): number => Number(n.toFixed(3));

/** The rounds as results keep them: no latency samples, figures rounded. */
export const roundsForResults = (rounds: Round[]): Array<Omit<Round, 'latencies'>> =>
  rounds.map(({ latencies: _latencies, ...r }) => ({
    ...r,
    perSecond: round1(r.perSecond),
    elapsedMs: round1(r.elapsedMs),
    latencyMs: { p50: round2(r.latencyMs.p50), p99: round2(r.latencyMs.p99) },
    cpuMicrosPerOp: round1(r.cpuMicrosPerOp),
  }));

export interface Side {
  perSecond: { median: number; min: number; max: number; rounds: number[] };
  latencyMs: { p50: number; p99: number };
  cpuMicrosPerOp: number;
  requests: number;
  statuses: Record<string, number>;
}

export interface OnOff {
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

/** On against off over interleaved rounds; `targetPercent`: the overhead (1 − on ÷ off, in %) the medians must stay under. */
export const compareOnOff = (rounds: Round[], targetPercent: number): OnOff => {
  const on = rounds.filter((r) => r.mode === 'on');
  const off = rounds.filter((r) => r.mode === 'off');
  const onSide = side(on);
  const offSide = side(off);
  const ratio = median(on.map((r) => r.perSecond)) / median(off.map((r) => r.perSecond));
  const paired = on.map((r) => r.perSecond / (off.find((o) => o.round === r.round)?.perSecond ?? NaN));
  return {
    on: onSide,
    off: offSide,
    ratio: round3(ratio),
    overheadPercent: round1((1 - ratio) * 100),
    pairedRatio: { median: round3(median(paired)), min: round3(Math.min(...paired)), max: round3(Math.max(...paired)) },
    latencyP50Ratio: round3(onSide.latencyMs.p50 / offSide.latencyMs.p50),
    cpuPerOpRatio: round3(onSide.cpuMicrosPerOp / offSide.cpuMicrosPerOp),
    meetsTarget: (1 - ratio) * 100 < targetPercent,
  };
};

// ---- formatting ----

export const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
export const pct = (n: number): string => `${n > 0 ? '+' : ''}${n.toFixed(1)}%`;
export const spreadPct = (paired: OnOff['pairedRatio']): string => `${pct((1 - paired.max) * 100)} to ${pct((1 - paired.min) * 100)}`;
export const engineName = (engine: Engine): string => (engine === 'sqlite' ? 'SQLite' : 'PostgreSQL');

/** The table cells from "on: median /s (min–max)" to "CPU µs/request on / off", without the outer pipes. */
export const comparisonCells = (c: OnOff): string =>
  `${fmt(c.on.perSecond.median)} (${fmt(c.on.perSecond.min)}–${fmt(c.on.perSecond.max)}) | ${fmt(c.off.perSecond.median)} (${fmt(c.off.perSecond.min)}–${fmt(c.off.perSecond.max)}) | ${c.ratio} | ${pct(c.overheadPercent)} (pairs ${spreadPct(c.pairedRatio)}) | ${c.on.latencyMs.p50} / ${c.off.latencyMs.p50} | ${c.on.latencyMs.p99} / ${c.off.latencyMs.p99} | ${fmt(c.on.cpuMicrosPerOp)} / ${fmt(c.off.cpuMicrosPerOp)}`;

/**
 * The shared words of a comparison's reading: `summary` "overhead … by the medians (round pairs …), <verdict
 * against the target>", `cpuRatio` "CPU per request on ÷ off: r", `addedCpu` "±n µs", and `noise`: the sentence
 * to end with when the round pairs straddle zero, else ''.
 */
export const readOverhead = (c: OnOff, targetPercent: number): { summary: string; cpuRatio: string; addedCpu: string; noise: string } => {
  const lowest = (1 - c.pairedRatio.max) * 100;
  const highest = (1 - c.pairedRatio.min) * 100;
  const verdict =
    highest < targetPercent
      ? `under the ${targetPercent}% target in every round pair`
      : lowest >= targetPercent
        ? `over the ${targetPercent}% target in every round pair`
        : c.meetsTarget
          ? `under the ${targetPercent}% target by the medians, but the round pairs range past it`
          : `over the ${targetPercent}% target by the medians, but some round pairs fall under it`;
  const added = c.on.cpuMicrosPerOp - c.off.cpuMicrosPerOp;
  return {
    summary: `overhead ${pct(c.overheadPercent)} by the medians (round pairs ${spreadPct(c.pairedRatio)}), ${verdict}`,
    cpuRatio: `CPU per request on ÷ off: ${c.cpuPerOpRatio}`,
    addedCpu: `${added >= 0 ? '+' : ''}${fmt(added)} µs`,
    noise: lowest <= 0 && highest >= 0 ? " The pairs straddle zero: the difference is within this machine's noise." : '',
  };
};

// ---- the report: how it was run ----

/** Tracked files with uncommitted changes, as a string ('unknown' outside a checkout). */
export const uncommittedTrackedFiles = (): string => {
  try {
    return String(execSync('git status --porcelain --untracked-files=no', { encoding: 'utf8' }).split('\n').filter(Boolean).length);
  } catch {
    return 'unknown'; // not a checkout
  }
};

/** The command that reproduces this run: the environment overrides among `knobs` that are set, then `npm run bench -- name args`. */
export const benchCommand = (name: string, args: string[], knobs: string[]): string => {
  const overrides = knobs
    .filter((knob) => process.env[knob] !== undefined)
    .map((knob) => `${knob}=${process.env[knob] as string} `)
    .join('');
  return `${overrides}npm run bench -- ${name}${args.length > 0 ? ` ${args.join(' ')}` : ''}`;
};

type Machine = ReturnType<typeof describeMachine>;

/** The report's "Command: …" and "Packages: …" lines. */
export const runLines = (machine: Machine, command: string, uncommitted: string, loadAfter: number[]): string[] => [
  `Command: \`${command}\` (commit ${machine.commit}, ${uncommitted} tracked file(s) with uncommitted changes). Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}, load average before the run ${machine.loadAverage.join(' / ')}, after ${loadAfter.join(' / ')}.`,
  `Packages: ${Object.entries(machine.packages).map(([k, v]) => `${k} ${v}`).join(', ')}. SQLite synchronous=${SQLITE_SYNCHRONOUS}; PostgreSQL at ${PG_URL.replace(/\/\/[^@]*@/, '//')}, a fresh schema per server.`,
];

/** Writes bench/results/{name}-{stamp}.md and .json; `stamp` from the machine's date. */
export const writeResults = async (name: string, machine: Machine, report: string, json: { totalSeconds: number }): Promise<void> => {
  const stamp = machine.date.slice(0, 19).replaceAll(':', '-');
  await writeFile(join('bench', 'results', `${name}-${stamp}.md`), report);
  await writeFile(join('bench', 'results', `${name}-${stamp}.json`), `${JSON.stringify(json, null, 2)}\n`);
  console.log(`wrote bench/results/${name}-${stamp}.md and .json (${json.totalSeconds} s)`);
};
