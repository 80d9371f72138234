// The audit log: what recording every read of room content costs history reads, and how fast a log of a
// million entries verifies.
// Part 1 (reads): for each engine, two servers in this process, built up front and given the same data through
// the HTTP API (app.inject): one records an audit entry for every history page before answering (the default),
// the other records nothing (`audit: false`). Both encrypt at rest (the default). Measured rounds alternate
// on/off (on, off, off, on, …) so drift on this shared machine falls on both sides.
// Part 2 (verify): one server's database given N realistic `room.read` entries straight through the audit
// queries (as AuditLog.flush builds them), a signed and witnessed checkpoint over all of them, then
// `verifyAuditLog` end to end as the CLI runs it (worker threads) and in the calling thread alone, the rows read
// as a worker reads them alone, and the in-memory work (leaves and tree) alone.
import { hash } from 'node:crypto';
import { availableParallelism, loadavg } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { sql } from 'kysely';
import type pg from 'pg';
import type { Services } from '@conclave/server';
import { canonicalJson, entryLeafHex, findHeadSeq, verifyAuditLog } from '../packages/server/src/audit/index.ts';
import type { AuditRow, VerifyReport } from '../packages/server/src/audit/index.ts';
import { insertEntries } from '../packages/server/src/audit/audit.queries.ts';
import { entrySource } from '../packages/server/src/audit/audit.verify.ts';
import { openEntryReader, READ_PAGE, type EntrySource } from '../packages/server/src/audit/audit.verify-worker.ts';
import { ENTRY_COLUMNS, leafInputOf, valuesLeafHex } from '../packages/server/src/audit/entry.ts';
import { TreeBuilder } from '../packages/server/src/audit/merkle.ts';
import { describeMachine, median } from './lib/machine.ts';
import {
  adminPool,
  benchCommand,
  buildPair,
  checkHistory,
  comparisonCells,
  compareOnOff,
  CONCURRENCY,
  drive,
  engineName,
  ENGINES,
  fmt,
  interleaved,
  makeStorage,
  MODES,
  openServices,
  PAGE,
  POSTERS,
  prefill,
  readOverhead,
  rng,
  ROOMS,
  ROUND_MS,
  round1,
  round2,
  round3,
  ROUNDS,
  roundsForResults,
  runLines,
  SQLITE_SYNCHRONOUS,
  uncommittedTrackedFiles,
  WARMUP_MS,
  writeResults,
} from './lib/in-process.ts';
import type { Engine, Mode, OnOff, Prefill, Round, Server } from './lib/in-process.ts';

type Part = 'reads' | 'verify';

const PARTS: readonly Part[] = ['reads', 'verify'];
/** Messages posted to each room before the rounds: a page is the latest 50 by index, so depth matters little. */
const HISTORY_FILL = Number(process.env['BENCH_HISTORY_FILL'] ?? 300);
/** Entries in the log that part 2 verifies. */
const VERIFY_ENTRIES = Number(process.env['BENCH_VERIFY_ENTRIES'] ?? 1_000_000);
const VERIFY_RUNS = Number(process.env['BENCH_VERIFY_RUNS'] ?? 3);
/** Entries per insert transaction, and per INSERT statement inside it (SQLite and PostgreSQL bound the parameters of one statement). */
const INSERT_TRANSACTION = 10_000;
const INSERT_STATEMENT = 2_000;
/** Worker threads verifyAuditLog is given besides the calling thread (the CLI's default: one per CPU but one, at least one). */
const VERIFY_WORKERS = Number(process.env['BENCH_VERIFY_WORKERS'] ?? Math.max(1, availableParallelism() - 1));
/** Entries the per-step breakdown of the in-memory work runs over (a prefix of the loaded rows). */
const BREAKDOWN_ENTRIES = Math.min(VERIFY_ENTRIES, Number(process.env['BENCH_BREAKDOWN_ENTRIES'] ?? 200_000));
const TARGET_OVERHEAD_PERCENT = 20;
const TARGET_VERIFY_PER_SECOND = 500_000;

// ---- the audit log ----

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

// ---- part 1: history reads, audit on vs off ----

type Comparison = { engine: Engine } & OnOff;

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
  prefill: Prefill;
  audit: Record<Mode, AuditCount>;
  /** verifyAuditLog over the on server's log after the rounds (a checkpoint made first). */
  onVerify: { ok: boolean; entries: number; seconds: number; problems: string[] };
  rounds: Array<Omit<Round, 'latencies' | 'operation'>>;
  seconds: number;
}

const benchReads = async (engine: Engine, admin: () => pg.Pool): Promise<ReadsResult> => {
  const started = performance.now();
  console.log(`\n[${engine}, reads] building two servers (audit on and off)…`);
  let servers: Record<Mode, Server> | undefined;
  try {
    servers = await buildPair(engine, { bench: 'audit', instanceName: 'Audit bench', on: { audit: true }, off: { audit: false } }, admin);
    const built = [servers.on, servers.off];
    const before = { on: await countEntries(servers.on.services), off: await countEntries(servers.off.services) };
    if (before.on.total === 0 || before.off.total !== 0) throw new Error(`the switch did not take: entries after setup on ${before.on.total}, off ${before.off.total}`);

    // Pre-fill: HISTORY_FILL messages in each room, through the API.
    const filled = await prefill(servers, HISTORY_FILL);
    for (const server of built) await checkHistory(server);
    // Fresh planner statistics for both schemas: otherwise autovacuum analyzes whichever server it reaches first.
    if (engine === 'postgres') await admin().query('analyze');

    for (const server of built) await drive(server, 'history', { ms: WARMUP_MS });
    const rounds = await interleaved(servers, 'history');

    const audit = {} as ReadsResult['audit'];
    for (const mode of MODES) {
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
      comparison: { engine, ...compareOnOff(rounds, TARGET_OVERHEAD_PERCENT) },
      prefill: filled,
      audit,
      onVerify,
      rounds: roundsForResults(rounds).map(({ operation: _operation, ...r }) => r),
      seconds: round1((performance.now() - started) / 1000),
    };
  } finally {
    if (servers) for (const mode of MODES) await servers[mode].close();
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
    rows.push({ ...entry, leaf_hash: entryLeafHex(entry) });
  }
  return rows;
};

type RawRow = unknown[];

/** The rows as the workers read them (raw arrays, pages of READ_PAGE by sequence range, over a connection of this thread's own); kept if `keep`. */
const loadRaw = async (source: EntrySource, keep: boolean): Promise<{ count: number; rows: RawRow[] }> => {
  const reader = await openEntryReader(source);
  const rows: RawRow[] = [];
  let count = 0;
  try {
    for (;;) {
      const page = await reader.read(count, count + READ_PAGE);
      if (page.length === 0) break;
      count += page.length;
      if (keep) for (const row of page) rows.push(row);
    }
  } finally {
    await reader.close();
  }
  return { count, rows };
};

// A full garbage collection before each timed step, so that one step's garbage (a million loaded rows is about
// a gigabyte) is not collected during the next: without it the three runs slowed down one after the other.
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

/** What a worker does per entry once read: the leaf, its comparison with the stored one, the tree. */
const leavesAndTree = (rows: RawRow[]): Buffer => {
  const tree = new TreeBuilder();
  let altered = 0;
  for (const row of rows) {
    const leaf = valuesLeafHex(row);
    if (leaf !== row[ENTRY_COLUMNS.length]) altered += 1;
    tree.pushHex(leaf);
  }
  if (altered > 0) throw new Error(`${altered} leaves do not match their entries`);
  return tree.root();
};

interface Timed {
  seconds: number[];
  medianSeconds: number;
  perSecond: number;
  /** This process's CPU time (every thread) ÷ wall time, median (below 1: waiting on the database or the machine). */
  cpuShare: number;
  /** This process's CPU time per entry, every thread, median. */
  cpuMicros: number;
}

const timed = (seconds: number[], cpu: number[], entries: number): Timed => {
  const medianSeconds = median(seconds);
  return {
    seconds: seconds.map(round3),
    medianSeconds: round3(medianSeconds),
    perSecond: Math.round(entries / medianSeconds),
    cpuShare: round2(median(cpu.map((c, i) => c / (seconds[i] as number)))),
    cpuMicros: round3((median(cpu) * 1e6) / entries),
  };
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
  micros: { encoding: number; leafHash: number; compare: number; treePush: number; sum: number; together: number };
}

/** The in-memory work split into its steps, each timed alone over the first BREAKDOWN_ENTRIES rows (median of 3). */
const breakdown = (subset: RawRow[]): Breakdown => {
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
  let written = 0;
  const encoding = per(() => {
    written = 0;
    for (const row of subset) written += leafInputOf(row).length;
  });
  if (written === 0) throw new Error('breakdown: nothing encoded');
  const inputs = subset.map((row) => Buffer.from(leafInputOf(row)));
  let leaves: string[] = [];
  const leafMicros = per(() => {
    leaves = inputs.map((input) => hash('sha256', input, 'hex'));
  });
  let mismatched = 0;
  const compare = per(() => {
    mismatched = 0;
    for (let i = 0; i < n; i += 1) if (leaves[i] !== (subset[i] as RawRow)[ENTRY_COLUMNS.length]) mismatched += 1;
  });
  if (mismatched > 0) throw new Error(`breakdown: ${mismatched} leaves differ`);
  let root: Buffer = Buffer.alloc(0);
  const treeMicros = per(() => {
    const tree = new TreeBuilder();
    for (const leaf of leaves) tree.pushHex(leaf);
    root = tree.root();
  });
  let together: Buffer = Buffer.alloc(0);
  const togetherMicros = per(() => {
    together = leavesAndTree(subset);
  });
  if (!together.equals(root)) throw new Error('breakdown: the roots differ');
  return {
    entries: n,
    micros: {
      encoding: round3(encoding),
      leafHash: round3(leafMicros),
      compare: round3(compare),
      treePush: round3(treeMicros),
      sum: round3(encoding + leafMicros + compare + treeMicros),
      together: round3(togetherMicros),
    },
  };
};

interface VerifyResult {
  engine: Engine;
  entries: number;
  insert: { seconds: number; perSecond: number };
  /** services.audit.checkpoint() over all entries: reads every leaf hash, builds the tree, signs, witnesses. */
  checkpointSeconds: number;
  report: Pick<VerifyReport, 'ok' | 'entries' | 'checkpoints' | 'witnessed' | 'workers'> & { problems: number; silences: number };
  /** verifyAuditLog as the CLI runs it: worker threads over connections of their own. */
  verify: Timed;
  /** verifyAuditLog without a connection: this thread reads (through Kysely) and hashes every entry. */
  verifyAlone: Timed;
  /** The rows read as a worker reads them, in this thread, each page dropped once read. */
  load: Timed;
  /** The same, every row kept (the input of inMemory). */
  loadRetained: Timed;
  inMemory: Timed;
  heapAfterLoadMiB: number;
  breakdown: Breakdown;
  seconds: number;
}

const benchVerify = async (engine: Engine, admin: () => pg.Pool): Promise<VerifyResult> => {
  const started = performance.now();
  console.log(`\n[${engine}, verify] ${VERIFY_ENTRIES.toLocaleString('en-US')} entries…`);
  const storage = await makeStorage('audit', engine, 'verify', admin);
  let services: Services | undefined;
  try {
    services = await openServices(engine, storage, { audit: true });
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

    const connection = { databaseUrl: services.config.databaseUrl, dataDir: services.config.dataDir, pgSchema: storage.pgSchema };
    const source = entrySource(connection);
    const runs = { verify: [] as number[], verifyCpu: [] as number[], alone: [] as number[], aloneCpu: [] as number[], load: [] as number[], loadCpu: [] as number[], retained: [] as number[], retainedCpu: [] as number[], memory: [] as number[], memoryCpu: [] as number[] };
    let report: VerifyReport | undefined;
    let rows: RawRow[] = [];
    let heapAfterLoad = 0;
    const passed = (checked: VerifyReport, workers: number): void => {
      if (!checked.ok || checked.entries !== VERIFY_ENTRIES || checked.checkpoints !== 1 || checked.witnessed !== 1 || checked.workers !== workers) {
        throw new Error(`verification did not pass: ${JSON.stringify({ ...checked, problems: checked.problems.slice(0, 5) })}`);
      }
    };
    const rate = (seconds: number): string => `${Math.round(VERIFY_ENTRIES / seconds).toLocaleString('en-US')} /s`;
    // Verify first, with and without workers in turn: once this process had held a million rows in its heap, the
    // calling thread's share of verify ran 5–10% slower each run after (the CLI verifies in a fresh process).
    for (let run = 1; run <= VERIFY_RUNS; run += 1) {
      collect();
      const verified = await measure(() => verifyAuditLog(db, { ...verifyOptions(theServices), connection, workers: VERIFY_WORKERS }));
      report = verified.value;
      passed(report, VERIFY_WORKERS);
      runs.verify.push(verified.seconds);
      runs.verifyCpu.push(verified.cpuSeconds);
      collect();
      const alone = await measure(() => verifyAuditLog(db, verifyOptions(theServices)));
      passed(alone.value, 0);
      runs.alone.push(alone.seconds);
      runs.aloneCpu.push(alone.cpuSeconds);
      console.log(`  run ${run}: verify ${verified.seconds.toFixed(2)} s (${rate(verified.seconds)}, CPU ${verified.cpuSeconds.toFixed(2)} s), alone ${alone.seconds.toFixed(2)} s (${rate(alone.seconds)})`);
    }
    // Then its parts, interleaved: reading alone, reading and keeping every row, the in-memory work on those rows.
    for (let run = 1; run <= VERIFY_RUNS; run += 1) {
      rows = [];
      collect();
      const loaded = await measure(() => loadRaw(source, false));
      if (loaded.value.count !== VERIFY_ENTRIES) throw new Error(`loaded ${loaded.value.count} rows`);
      runs.load.push(loaded.seconds);
      runs.loadCpu.push(loaded.cpuSeconds);
      collect();
      const retained = await measure(() => loadRaw(source, true));
      rows = retained.value.rows;
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
      console.log(`  parts ${run}: load ${loaded.seconds.toFixed(2)} s (kept: ${retained.seconds.toFixed(2)} s), leaves+tree ${computed.seconds.toFixed(2)} s (${rate(computed.seconds)})`);
    }

    const subset = rows.slice(0, BREAKDOWN_ENTRIES);
    rows = [];
    const split = breakdown(subset);
    console.log(`  per entry (µs): ${JSON.stringify(split.micros)}`);
    const done = report as VerifyReport;
    return {
      engine,
      entries: VERIFY_ENTRIES,
      insert: { seconds: round1(inserted.seconds), perSecond: Math.round(VERIFY_ENTRIES / inserted.seconds) },
      checkpointSeconds: round2(checkpoint.seconds),
      report: { ok: done.ok, entries: done.entries, checkpoints: done.checkpoints, witnessed: done.witnessed, workers: done.workers, problems: done.problems.length, silences: done.silences.length },
      verify: timed(runs.verify, runs.verifyCpu, VERIFY_ENTRIES),
      verifyAlone: timed(runs.alone, runs.aloneCpu, VERIFY_ENTRIES),
      load: timed(runs.load, runs.loadCpu, VERIFY_ENTRIES),
      loadRetained: timed(runs.retained, runs.retainedCpu, VERIFY_ENTRIES),
      inMemory: timed(runs.memory, runs.memoryCpu, VERIFY_ENTRIES),
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

const readsReading = (r: ReadsResult): string => {
  const c = r.comparison;
  const read = readOverhead(c, TARGET_OVERHEAD_PERCENT);
  return `- **${engineName(r.engine)}, history**: ${read.summary}. ${read.cpuRatio} (${read.addedCpu}). The on server wrote ${fmt(r.audit.on.roomReadEntries)} \`room.read\` entries for ${fmt(r.audit.on.pagesServed)} pages served (one each; ${fmt(r.audit.on.totalEntries)} entries in all, with set-up and log-ins; ${r.audit.on.entriesPerCommit} entries per group commit on average, ${fmt(r.audit.on.readCommits)} commits) and its log verified (${fmt(r.onVerify.entries)} entries in ${r.onVerify.seconds} s); the off server wrote ${fmt(r.audit.off.totalEntries)}.${read.noise}`;
};

const verifyReading = (v: VerifyResult): string => {
  const meets = v.verify.perSecond > TARGET_VERIFY_PER_SECOND;
  const b = v.breakdown.micros;
  const micros = (t: Timed): number => 1e6 / t.perSecond;
  const oneThread = v.load.cpuMicros + v.inMemory.cpuMicros;
  const threads = v.report.workers + 1;
  const shared = v.verify.cpuShare < threads - 0.25 ? ` of a possible ${threads}: the rest of the cores went to ${v.engine === 'postgres' ? 'PostgreSQL sending the rows, and to ' : ''}whatever else ran (see the load average above)` : '';
  const step = (name: string, value: number): string => `${name} ${value} µs (${Math.round((value / b.sum) * 100)}%)`;
  return [
    `- **${engineName(v.engine)}**: ${fmt(v.entries)} entries verified (ok, 1 stored and 1 witnessed checkpoint; this thread and ${v.report.workers} worker thread${v.report.workers === 1 ? '' : 's'}) in ${v.verify.medianSeconds} s median: ${fmt(v.verify.perSecond)} entries/s, ${meets ? 'above' : 'below'} the ${fmt(TARGET_VERIFY_PER_SECOND)}/s target (${micros(v.verify).toFixed(2)} µs per entry, where the target allows 2 µs). This process used ${v.verify.cpuMicros} µs of CPU per entry over all its threads (CPU ÷ wall ${v.verify.cpuShare}${shared}). Without workers (this thread reads Kysely pages and hashes every entry): ${v.verifyAlone.medianSeconds} s (${fmt(v.verifyAlone.perSecond)}/s).`,
    `  One thread's CPU per entry: reading the rows as a worker does (raw arrays, pages of ${fmt(READ_PAGE)} by sequence range, each dropped once read) ${v.load.cpuMicros} µs (wall ${micros(v.load).toFixed(2)} µs${v.engine === 'postgres' ? '; PostgreSQL\'s own CPU to send them comes on top, on the same cores' : ''}; all rows kept alive instead: ${v.loadRetained.medianSeconds} s), then the leaves and the tree on rows in memory ${v.inMemory.cpuMicros} µs: ${oneThread.toFixed(2)} µs in all, so ${threads} threads on ${threads} otherwise idle cores at best ${(oneThread / threads).toFixed(2)} µs per entry (${fmt((1e6 * threads) / oneThread)}/s)${v.engine === 'postgres' ? ' less what PostgreSQL takes' : ''}, before the workers' start (about 0.15 s of CPU each). Heap with the rows loaded ${fmt(v.heapAfterLoadMiB)} MiB.`,
    `  In memory, per entry, each step alone over ${fmt(v.breakdown.entries)} rows: ${step('canonical encoding (into one buffer)', b.encoding)}, ${step('leaf SHA-256 (one-shot, hex)', b.leafHash)}, ${step('compare with the stored leaf', b.compare)}, ${step('tree push (≈1 node SHA-256 each)', b.treePush)}; sum ${b.sum} µs, all together ${b.together} µs.`,
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
  const uncommitted = uncommittedTrackedFiles();
  const command = benchCommand('audit', args, [
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
  ]);
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
    verifyWorkers: VERIFY_WORKERS,
    readPage: READ_PAGE,
    breakdownEntries: BREAKDOWN_ENTRIES,
    sqliteSynchronous: SQLITE_SYNCHRONOUS,
  };
  console.log(`audit log: ${parts.join(' and ')} on ${engines.join(', ')}`);

  const { admin, end } = adminPool();
  const reads: ReadsResult[] = [];
  const verifies: VerifyResult[] = [];
  const started = performance.now();
  try {
    if (parts.includes('reads')) for (const engine of engines) reads.push(await benchReads(engine, admin));
    if (parts.includes('verify')) for (const engine of engines) verifies.push(await benchVerify(engine, admin));
  } finally {
    await end();
  }
  const loadAfter = loadavg().map((n) => Number(n.toFixed(2)));

  const readsTable = [
    '| engine | on: median /s (min–max) | off: median /s (min–max) | on ÷ off | overhead | p50 ms on / off | p99 ms on / off | CPU µs/request on / off | room.read entries on / pages served on | entries per group commit, on | entries off |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...reads.map(({ comparison: c, audit }) =>
      `| ${c.engine} | ${comparisonCells(c)} | ${fmt(audit.on.roomReadEntries)} / ${fmt(audit.on.pagesServed)} | ${audit.on.entriesPerCommit} | ${fmt(audit.off.totalEntries)} |`,
    ),
  ];
  const range = (t: Timed): string => `${Math.min(...t.seconds)}–${Math.max(...t.seconds)}`;
  const verifyTable = [
    '| engine | entries | insert (rows built + written) | checkpoint | verifyAuditLog, this thread + workers: median s (min–max) → entries/s | CPU µs per entry (CPU ÷ wall) | verify in this thread alone → /s | rows read as a worker reads them, one thread → /s | read, rows kept | leaves + tree in memory → /s | target > 500k/s |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...verifies.map(
      (v) =>
        `| ${v.engine} | ${fmt(v.entries)} | ${v.insert.seconds} s (${fmt(v.insert.perSecond)}/s) | ${v.checkpointSeconds} s | 1 + ${v.report.workers} threads: ${v.verify.medianSeconds} (${range(v.verify)}) → **${fmt(v.verify.perSecond)}** | ${v.verify.cpuMicros} (${v.verify.cpuShare}) | ${v.verifyAlone.medianSeconds} s (${range(v.verifyAlone)}) → ${fmt(v.verifyAlone.perSecond)} | ${v.load.medianSeconds} s (${range(v.load)}) → ${fmt(v.load.perSecond)} | ${v.loadRetained.medianSeconds} s | ${v.inMemory.medianSeconds} s (${range(v.inMemory)}) → ${fmt(v.inMemory.perSecond)} | ${v.verify.perSecond > TARGET_VERIFY_PER_SECOND ? 'met' : 'not met'} |`,
    ),
  ];
  const breakdownTable = [
    '| engine | canonical encoding (leafInputOf) | leaf SHA-256 (crypto.hash, hex) | compare with stored hex | TreeBuilder.pushHex | sum | together |',
    '|---|---|---|---|---|---|---|',
    ...verifies.map((v) => {
      const b = v.breakdown.micros;
      return `| ${v.engine} | ${b.encoding} | ${b.leafHash} | ${b.compare} | ${b.treePush} | ${b.sum} | ${b.together} |`;
    }),
  ];
  if (reads.length > 0) console.log(`\n${readsTable.join('\n')}`);
  if (verifies.length > 0) console.log(`\n${verifyTable.join('\n')}\n\n${breakdownTable.join('\n')}`);

  const report = [
    `# Audit log benchmark, ${machine.date}`,
    '',
    ...runLines(machine, command, uncommitted, loadAfter),
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
          `UUIDv7 first/last ids, 64-hex ip/ua hashes, leaf_hash = entryLeafHex) inserted through \`insertEntries\` in transactions of`,
          `${fmt(INSERT_TRANSACTION)} (statements of ${fmt(INSERT_STATEMENT)} rows), \`audit_head.seq\` set to N, then \`services.audit.checkpoint()\``,
          `(signed, stored and witnessed).${verifies.some((v) => v.engine === 'postgres') ? ' PostgreSQL: `vacuum (analyze)` of the table before the checkpoint.' : ''} Then ${VERIFY_RUNS} runs, each: \`verifyAuditLog\` end to end as`,
          `\`conclave audit verify\` runs it (given the connection, this thread and ${VERIFY_WORKERS} worker thread(s), each over a connection of its own,`,
          `recompute aligned ranges of entries and their subtrees; must report ok, N entries, 1 stored and 1 witnessed checkpoint), the same without a`,
          `connection (this thread reads Kysely pages of 5,000 and hashes every entry); then ${VERIFY_RUNS} runs of its parts (after the verify runs: once`,
          `this process had held a million rows, verify's share in this thread ran slower each run after; the CLI verifies in a fresh process):`,
          `the rows read in this thread as a worker reads`,
          `them (\`openEntryReader\`: raw arrays, pages of ${fmt(READ_PAGE)} by sequence range, each dropped once read), read again keeping every`,
          `row, and on those rows in memory the leaves (\`valuesLeafHex\`, compared with the stored hex) pushed into a \`TreeBuilder\` (root`,
          `checked against the signed one). A full garbage collection before each timed step. Medians of the ${VERIFY_RUNS} runs (min–max).`,
          `CPU: this process's CPU time, every thread (PostgreSQL's own CPU is not in it), per entry and over the wall time of verify.`,
          '',
          ...verifyTable,
          '',
          `Per entry, µs, each step of the in-memory work timed alone over the first ${fmt(BREAKDOWN_ENTRIES)} loaded rows (median of 3);`,
          `"together" is the same loop as above (what a worker does per entry once read):`,
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
  await writeResults('audit', machine, report, json);
};
