// Encryption at rest: what sealing costs message posting and history reading. For each engine, two servers in
// this process, built up front and given the same data through the HTTP API (app.inject): one seals every
// name, topic, body and event payload with AES-256-GCM (the default), the other stores values as given
// (`encrypt: false`). Blind indexes (search terms, room-name keys) are computed by both. Measured rounds
// alternate on/off (on, off, off, on, …) so drift on this shared machine falls on both sides.
import { loadavg } from 'node:os';
import { sql } from 'kysely';
import type pg from 'pg';
import { describeMachine, median } from './lib/machine.ts';
import {
  adminPool,
  benchCommand,
  BODIES,
  BODY_SET,
  buildPair,
  checkHistory,
  CONCURRENCY,
  compareOnOff,
  drive,
  engineName,
  fmt,
  comparisonCells,
  ENGINES,
  interleaved,
  MODES,
  PAGE,
  POSTERS,
  prefill,
  readOverhead,
  ROOMS,
  ROUND_MS,
  round1,
  round2,
  ROUNDS,
  roundsForResults,
  runLines,
  SQLITE_SYNCHRONOUS,
  uncommittedTrackedFiles,
  WARMUP_MS,
  writeResults,
} from './lib/in-process.ts';
import type { Engine, Mode, OnOff, Operation, Prefill, Round, Server } from './lib/in-process.ts';

/**
 * Messages posted to each room before the history rounds. A page is the latest 50 by index, so depth matters
 * little; 1,000 keeps both engines under ~6 minutes on two busy cores (pre-fill runs at ~400 posts/s).
 */
const HISTORY_FILL = Number(process.env['BENCH_HISTORY_FILL'] ?? 1_000);
/** The encrypting server's cache of opened values, in characters: unset is the production default; 0 measures cold reads. */
const PLAINTEXT_CACHE_CHARS = process.env['BENCH_PLAINTEXT_CACHE_CHARS'] === undefined ? undefined : Number(process.env['BENCH_PLAINTEXT_CACHE_CHARS']);
const TARGET_OVERHEAD_PERCENT = 10;

type Comparison = { engine: Engine; operation: Operation } & OnOff;

const compare = (engine: Engine, operation: Operation, rounds: Round[]): Comparison => ({ engine, operation, ...compareOnOff(rounds, TARGET_OVERHEAD_PERCENT) });

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

interface EngineResult {
  engine: Engine;
  comparisons: Comparison[];
  prefill: Prefill;
  cipher: { sealMicros: number; openMicros: number; bodyChars: number };
  storage: Record<Mode, { messages: number; avgStoredBodyChars: number; plaintextOfSample: string }>;
  rounds: Array<Omit<Round, 'latencies'>>;
  seconds: number;
}

const benchEngine = async (engine: Engine, admin: () => pg.Pool): Promise<EngineResult> => {
  const started = performance.now();
  console.log(`\n[${engine}] building two servers (encryption on and off)…`);
  const cache = PLAINTEXT_CACHE_CHARS !== undefined ? { plaintextCacheChars: PLAINTEXT_CACHE_CHARS } : {};
  let servers: Record<Mode, Server> | undefined;
  try {
    servers = await buildPair(engine, { bench: 'enc', instanceName: 'Encryption bench', on: { encrypt: true, ...cache }, off: { encrypt: false, ...cache } }, admin);
    for (const mode of MODES) {
      const { keyring } = servers[mode].services;
      if (keyring.encrypt !== (mode === 'on')) throw new Error(`the keyring of the ${mode} server has encrypt=${keyring.encrypt}`);
    }
    const built = [servers.on, servers.off];

    // Pre-fill: HISTORY_FILL messages in each room, through the API (also the post warm-up).
    const filled = await prefill(servers, HISTORY_FILL);
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
    return {
      engine,
      comparisons: [compare(engine, 'post', postRounds), compare(engine, 'history', historyRounds)],
      prefill: filled,
      cipher,
      storage: stored,
      rounds: roundsForResults([...historyRounds, ...postRounds]),
      seconds: 0,
    };
  } finally {
    if (servers) for (const mode of MODES) await servers[mode].close();
    console.log(`[${engine}] done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  }
};

// ---- report ----

const reading = (c: Comparison, cipher: EngineResult['cipher']): string => {
  const label = `${engineName(c.engine)}, ${c.operation === 'post' ? 'posting' : 'history'}`;
  const read = readOverhead(c, TARGET_OVERHEAD_PERCENT);
  const raw =
    c.operation === 'history'
      ? `${PAGE} opens at ${cipher.openMicros} µs each, measured alone, make ${fmt(PAGE * cipher.openMicros)} µs of it`
      : `sealing the body alone takes ${cipher.sealMicros} µs; the event payload, holding the message, is sealed too`;
  return `- **${label}**: ${read.summary}. ${read.cpuRatio} (${read.addedCpu}; ${raw}).${read.noise}`;
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
  const uncommitted = uncommittedTrackedFiles();
  const command = benchCommand('encryption', args, ['BENCH_ROUND_MS', 'BENCH_ROUNDS', 'BENCH_WARMUP_MS', 'BENCH_CONCURRENCY', 'BENCH_HISTORY_FILL', 'BENCH_DATABASE_URL', 'BENCH_PLAINTEXT_CACHE_CHARS', 'SQLITE_SYNCHRONOUS']);
  const settings = { roundMs: ROUND_MS, roundsEach: ROUNDS, warmupMs: WARMUP_MS, concurrency: CONCURRENCY, rooms: ROOMS, posters: POSTERS, historyFillPerRoom: HISTORY_FILL, historyPage: PAGE, bodies: BODIES.length, sqliteSynchronous: SQLITE_SYNCHRONOUS, plaintextCacheChars: PLAINTEXT_CACHE_CHARS ?? 'default (16M)' };
  console.log(`encryption at rest, on vs off: ${engines.join(', ')}; ${ROUNDS} rounds of ${ROUND_MS / 1000} s each way, ${CONCURRENCY} in flight`);

  const { admin, end } = adminPool();
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
    await end();
  }
  const loadAfter = loadavg().map((n) => Number(n.toFixed(2)));
  const comparisons = results.flatMap((r) => r.comparisons);

  const header = '| engine | operation | on: median /s (min–max) | off: median /s (min–max) | on ÷ off | overhead | p50 ms on / off | p99 ms on / off | CPU µs/request on / off |';
  const rows = comparisons.map(
    (c) =>
      `| ${c.engine} | ${c.operation === 'post' ? 'post a message' : `read latest ${PAGE}`} | ${comparisonCells(c)} |`,
  );
  const table = [header, '|---|---|---|---|---|---|---|---|---|', ...rows];

  console.log(`\n${table.join('\n')}\n`);

  const report = [
    `# Encryption at rest benchmark, ${machine.date}`,
    '',
    ...runLines(machine, command, uncommitted, loadAfter),
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
  await writeResults('encryption', machine, report, json);
};
