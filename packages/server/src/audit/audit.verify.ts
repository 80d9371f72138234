import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Kysely } from 'kysely';
import { SQLITE_FILE, type OpenDatabaseOptions, type Schema } from '../db/index.ts';
import { findHeadSeq, findLastSeq, listCheckpoints, listEntriesAfter } from './audit.queries.ts';
import { openEntryReader, silenceAfter, storedLeaf, verifyRange, type EntryMark, type EntrySource, type RangeResult, type RangeTask, type WorkerSetup } from './audit.verify-worker.ts';
import { openCheckpoint } from './checkpoint.ts';
import { entryValues, valuesLeafHex, type EntryValues } from './entry.ts';
import { TreeBuilder } from './merkle.ts';

export interface VerifyProblem {
  /** The first sequence number the problem concerns. */
  seq: number;
  message: string;
}

export interface VerifyReport {
  ok: boolean;
  entries: number;
  checkpoints: number;
  witnessed: number;
  /** Worker threads that recomputed entries (0: this thread alone). */
  workers: number;
  problems: VerifyProblem[];
  /** Silences longer than two heartbeats without a stop entry: warnings, not failures. */
  silences: string[];
  firstBadSeq: number | undefined;
}

export interface VerifyOptions {
  keyName: string;
  publicKey: Buffer;
  witnessPath: string | undefined;
  heartbeatEveryMs?: number;
  /**
   * The database as it was opened (openDatabase's options): this thread and worker threads then read and hash
   * the entries in parallel, each over a connection of its own. Without it this thread reads (through `db`) and
   * hashes every entry.
   */
  connection?: Pick<OpenDatabaseOptions, 'databaseUrl' | 'dataDir' | 'pgSchema'> | undefined;
  /** Worker threads besides this one, with a connection (default: one per CPU but this thread's, at least one). */
  workers?: number;
}

interface SignedRoot {
  size: number;
  root: Buffer;
  where: string;
}

const readWitness = async (path: string | undefined, options: VerifyOptions, problems: VerifyProblem[]): Promise<SignedRoot[]> => {
  if (!path) return [];
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const roots: SignedRoot[] = [];
  text.split('\n').forEach((line, index) => {
    if (!line.trim()) return;
    let note: string;
    try {
      note = String((JSON.parse(line) as { note: unknown }).note);
    } catch {
      problems.push({ seq: 0, message: `witness line ${index + 1} is not a witness record` });
      return;
    }
    const opened = openCheckpoint(note, options.keyName, options.publicKey);
    if (opened.ok) roots.push({ size: opened.checkpoint.size, root: opened.checkpoint.root, where: `the witness (line ${index + 1})` });
    else problems.push({ seq: 0, message: `witness line ${index + 1}: ${opened.problem}` });
  });
  return roots;
};

/** The walk along the log in sequence order: the tree, and every problem and silence, in the order found. */
class Verification {
  readonly silences: string[] = [];
  private readonly tree = new TreeBuilder();
  /** The sequence number the next entry should have. */
  expected = 1;
  private previous: EntryMark | undefined;
  private lastVerifiedSize = 0;

  /** `problems`: those found before the walk (checkpoints, witness), added to as it goes. */
  constructor(
    readonly problems: VerifyProblem[],
    private readonly bySize: Map<number, SignedRoot[]>,
    private readonly silenceMs: number,
  ) {}

  /** The next entry as read, with its stored leaf: a gap before it, its leaf, the checkpoints at the new size. */
  entry(values: EntryValues, stored: string): void {
    const seq = Number(values[0]);
    if (seq !== this.expected) {
      this.problems.push({ seq: this.expected, message: `entries ${this.expected}–${seq - 1} are missing` });
      this.expected = seq;
    }
    const leaf = valuesLeafHex(values);
    if (leaf === stored) this.tree.pushHex(leaf);
    else {
      this.altered(seq);
      this.tree.push(storedLeaf(stored));
    }
    this.checkSigned(this.tree.size, seq, () => this.tree.root());
    this.follow({ seq, at: Number(values[1]), action: String(values[2]) });
    this.expected = seq + 1;
  }

  /** A range a worker verified, every entry of it present and in place: the same checks, in the same order. */
  range(task: RangeTask, result: Extract<RangeResult, { complete: true }>): void {
    this.follow(result.first);
    this.silences.push(...result.silences);
    this.previous = result.last;
    let altered = 0;
    task.sizes.forEach((size, i) => {
      for (; altered < result.altered.length && (result.altered[altered] as number) <= size; altered += 1) this.altered(result.altered[altered] as number);
      this.checkSigned(size, size, () => {
        const grown = this.tree.clone();
        grown.appendRange(size - task.start, result.rangesAtSizes[i] as string[]);
        return grown.root();
      });
    });
    for (; altered < result.altered.length; altered += 1) this.altered(result.altered[altered] as number);
    this.tree.appendRange(task.end - task.start, result.frontier);
    this.expected = task.end + 1;
  }

  private altered(seq: number): void {
    // The stored leaf is what was checkpointed; it stays in the tree so this entry is the one blamed.
    this.problems.push({ seq, message: `entry ${seq} was altered: its fields do not hash to its leaf` });
  }

  /** The signed roots at tree size `size`, reached at entry `seq`. */
  private checkSigned(size: number, seq: number, root: () => Buffer): void {
    const signed = this.bySize.get(size);
    if (!signed) return;
    const computed = root();
    for (const { root: signedRoot, where } of signed) {
      if (signedRoot.equals(computed)) {
        this.lastVerifiedSize = size;
        continue;
      }
      // A gap or an altered entry in this range already says where; the root adds nothing more precise.
      const explained = this.problems.some((p) => p.seq > this.lastVerifiedSize && p.seq <= seq && p.seq > 0);
      if (!explained) {
        this.problems.push({ seq: this.lastVerifiedSize + 1, message: `entries ${this.lastVerifiedSize + 1}–${size} do not match ${where} signed at size ${size}: an entry there was changed, inserted, removed or moved` });
      }
    }
  }

  private follow(mark: EntryMark): void {
    const silence = this.previous && silenceAfter(this.previous, mark.at, this.silenceMs);
    if (silence) this.silences.push(silence);
    this.previous = mark;
  }
}

/**
 * Entries per range: a power of two (so ranges are subtrees), at most 16,384 (no thread is left alone with the
 * last range for long) and small enough for four ranges per thread.
 */
const rangeEntries = (last: number, threads: number): number => {
  let size = 1;
  while (size * 2 <= Math.min(16_384, last / (4 * threads))) size *= 2;
  return size;
};

const WORKER = new URL('./audit.verify-worker.ts', import.meta.url).href;

/**
 * A worker thread does not inherit the TypeScript loader this thread runs under (registered by bin/conclave.js
 * or `--import tsx`), so it registers tsx itself before it loads the worker module.
 */
const startWorker = (setup: WorkerSetup): Worker =>
  new Worker(
    `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})
      .then(({ register }) => { register(); return import(${JSON.stringify(WORKER)}); })
      .then(({ serveVerifyWorker }) => serveVerifyWorker());`,
    { eval: true, workerData: setup },
  );

/** Where workers read the entries: the database `connection` opens (as openDatabase chooses it). */
export const entrySource = (connection: NonNullable<VerifyOptions['connection']>): EntrySource =>
  connection.databaseUrl ? { engine: 'postgres', url: connection.databaseUrl, schema: connection.pgSchema } : { engine: 'sqlite', file: join(connection.dataDir, SQLITE_FILE) };

/** Verifies a range somewhere: in a worker thread, or in this one. */
type RangeRunner = (task: RangeTask) => Promise<RangeResult>;

/** Tasks for a worker, answered in turn; a worker that fails or stops fails the tasks it holds and every later one. */
const workerRunner = (worker: Worker): RangeRunner => {
  const replies = new Map<number, { resolve: (result: RangeResult) => void; reject: (error: Error) => void }>();
  let failure: Error | undefined;
  const fail = (error: Error): void => {
    failure ??= error;
    for (const reply of replies.values()) reply.reject(failure);
    replies.clear();
  };
  worker.on('message', (result: RangeResult) => {
    replies.get(result.start)?.resolve(result);
    replies.delete(result.start);
  });
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`an audit verify worker stopped (exit code ${code})`)));
  return (task) =>
    failure
      ? Promise.reject(failure)
      : new Promise((resolve, reject) => {
          replies.set(task.start, { resolve, reject });
          worker.postMessage(task);
        });
};

/**
 * Entries 1..last in ranges, verified by this thread and `workers` worker threads and folded in here in order,
 * up to the first range with an entry missing or out of place (from there this thread reads on, and reports
 * it as it always has). This thread starts at once, while the workers load; each worker holds a second task
 * so that it does not wait while this thread is busy with a range of its own.
 */
const verifyRanges = async (verification: Verification, setup: WorkerSetup, workers: number, last: number, sizes: number[]): Promise<number> => {
  const size = rangeEntries(last, workers + 1);
  const tasks: RangeTask[] = [];
  for (let start = 0; start < last; start += size) {
    const end = Math.min(last, start + size);
    tasks.push({ start, end, sizes: sizes.filter((s) => s > start && s <= end) });
  }
  const reader = await openEntryReader(setup.source);
  const pool = Array.from({ length: Math.min(workers, tasks.length - 1) }, () => startWorker(setup));
  const exits = pool.map((worker) => new Promise<void>((done) => worker.once('exit', () => done())));
  const results: Array<RangeResult | undefined> = [];
  let next = 0;
  let applied = 0;
  let stopped = false;
  let failure: unknown;
  const lane = async (run: RangeRunner): Promise<void> => {
    try {
      while (!stopped && next < tasks.length) {
        const index = next++;
        results[index] = await run(tasks[index] as RangeTask);
        for (let result = results[applied]; !stopped && result; result = results[applied]) {
          results[applied] = undefined;
          if (result.complete) verification.range(tasks[applied] as RangeTask, result);
          else stopped = true;
          applied += 1;
        }
        // This thread's own ranges run without a pause (SQLite reads synchronously): let workers' replies in.
        await new Promise((done) => setImmediate(done));
      }
    } catch (error) {
      failure ??= error;
      stopped = true;
    }
  };
  try {
    const runners = pool.map(workerRunner);
    await Promise.all([lane((task) => verifyRange(reader, task, setup.silenceMs)), ...runners.flatMap((run) => [lane(run), lane(run)])]);
    if (failure !== undefined) throw failure;
  } finally {
    // Each worker ends the task in hand, if any, then closes its connection.
    for (const worker of pool) worker.postMessage(null);
    await Promise.all([...exits, reader.close()]);
  }
  return pool.length;
};

/**
 * Recomputes every leaf from its entry's fields and the Merkle tree over them, checks every stored and
 * witnessed checkpoint's signature and root, and reports the first bad sequence number: an altered entry is
 * located exactly; an entry removed in the middle shows as a gap; the newest entries removed show against a
 * checkpoint or the witness that saw them; reordered or forged entries fail the root of the next checkpoint.
 * With a connection, this thread and worker threads recompute the entries up to the newest (as this started) in
 * parallel.
 */
export const verifyAuditLog = async (db: Kysely<Schema>, options: VerifyOptions): Promise<VerifyReport> => {
  const problems: VerifyProblem[] = [];
  const stored: SignedRoot[] = [];
  for (const row of await listCheckpoints(db)) {
    const opened = openCheckpoint(row.note, options.keyName, options.publicKey);
    if (!opened.ok) problems.push({ seq: Number(row.size), message: `the checkpoint at size ${row.size}: ${opened.problem}` });
    else if (opened.checkpoint.size !== Number(row.size)) problems.push({ seq: Number(row.size), message: `the checkpoint stored at size ${row.size} signs size ${opened.checkpoint.size}` });
    else stored.push({ size: opened.checkpoint.size, root: opened.checkpoint.root, where: 'a stored checkpoint' });
  }
  const witnessed = await readWitness(options.witnessPath, options, problems);
  const bySize = new Map<number, SignedRoot[]>();
  for (const signed of [...stored, ...witnessed]) bySize.set(signed.size, [...(bySize.get(signed.size) ?? []), signed]);
  const sizes = [...bySize.keys()].sort((a, b) => a - b);

  const silenceMs = 2 * (options.heartbeatEveryMs ?? 60_000);
  const verification = new Verification(problems, bySize, silenceMs);
  const last = options.connection ? await findLastSeq(db) : 0;
  const workers = options.connection && last > 0 ? await verifyRanges(verification, { source: entrySource(options.connection), silenceMs }, options.workers ?? Math.max(1, availableParallelism() - 1), last, sizes) : 0;
  // The rest in this thread: entries recorded since, or all of them from the first range with a gap.
  for (;;) {
    const page = await listEntriesAfter(db, verification.expected - 1, 5_000);
    if (page.length === 0) break;
    for (const row of page) verification.entry(entryValues(row), row.leaf_hash);
  }
  const count = verification.expected - 1;
  const beyond = sizes.filter((size) => size > count);
  if (beyond.length > 0) {
    const largest = beyond[beyond.length - 1] as number;
    problems.push({ seq: count + 1, message: `the newest entries are missing: the log ends at ${count}, but ${bySize.get(largest)?.[0]?.where ?? 'a checkpoint'} saw ${largest}` });
  }
  const head = await findHeadSeq(db);
  if (head > count && beyond.length === 0) problems.push({ seq: count + 1, message: `entries ${count + 1}–${head} were handed out but are not in the log` });
  problems.sort((a, b) => a.seq - b.seq);
  return {
    ok: problems.length === 0,
    entries: count,
    checkpoints: stored.length,
    witnessed: witnessed.length,
    workers,
    problems,
    silences: verification.silences,
    firstBadSeq: problems[0]?.seq,
  };
};
