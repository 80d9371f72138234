import { parentPort, workerData } from 'node:worker_threads';
import { ENTRY_COLUMNS, valuesLeafHex, type EntryValues } from './entry.ts';
import { TreeBuilder } from './merkle.ts';

/**
 * A worker thread of `conclave audit verify`: over its own database connection it reads the entries of a range
 * of sequence numbers, recomputes every leaf from the fields, and hashes the range's own subtrees. Ranges start
 * at multiples of a power of two and span at most that, so (while no entry is missing) they are subtrees of the
 * log's tree and the calling thread folds their roots in (RFC 6962 §2.1).
 */

/** The database the entries are in, opened by each worker itself. */
export type EntrySource = { engine: 'sqlite'; file: string } | { engine: 'postgres'; url: string; schema: string | undefined };

export interface WorkerSetup {
  source: EntrySource;
  silenceMs: number;
}

/** Entries start+1..end, and the checkpoint sizes in that range (ascending) whose roots the caller checks. */
export interface RangeTask {
  start: number;
  end: number;
  sizes: number[];
}

export interface EntryMark {
  seq: number;
  at: number;
  action: string;
}

/** What a range holds; `complete: false` when an entry of it is missing (or out of place): the caller reads on itself. */
export type RangeResult =
  | { start: number; complete: false }
  | {
      start: number;
      complete: true;
      /** Entries whose fields do not hash to their stored leaf (the stored leaf is in the tree instead). */
      altered: number[];
      /** For each task size: the compact range of entries start+1..size. */
      rangesAtSizes: string[][];
      /** The compact range of the whole range. */
      frontier: string[];
      first: EntryMark;
      last: EntryMark;
      /** Silences between entries of the range, in order. */
      silences: string[];
    };

/** Rows per query: a range is read a page at a time. */
export const READ_PAGE = 1_024;

/** A silence longer than two heartbeats after `previous`, not following a stop: the warning, or undefined. */
export const silenceAfter = (previous: EntryMark, at: number, silenceMs: number): string | undefined =>
  at - previous.at > silenceMs && previous.action !== 'server.stop'
    ? `nothing was recorded for ${Math.round((at - previous.at) / 60_000)} min after entry ${previous.seq} (no heartbeat, no stop entry)`
    : undefined;

/** The stored leaf of an altered entry, as the tree takes it: what the checkpoints signed (zero-padded if not 32 bytes of hex). */
export const storedLeaf = (hex: unknown): Buffer => {
  const leaf = Buffer.alloc(32);
  leaf.write(String(hex), 'hex');
  return leaf;
};

export interface EntryReader {
  /** Rows with start < seq ≤ end in sequence order: the ENTRY_COLUMNS, then leaf_hash. */
  read(start: number, end: number): Promise<unknown[][]> | unknown[][];
  close(): Promise<void> | void;
}

const SELECT = `select ${ENTRY_COLUMNS.join(', ')}, leaf_hash from audit_entries`;

/** A connection of this thread's own that reads entries as raw rows (arrays), a range of sequence numbers at a time. */
export const openEntryReader = async (source: EntrySource): Promise<EntryReader> => {
  if (source.engine === 'sqlite') {
    const { default: SQLite } = await import('better-sqlite3');
    const db = new SQLite(source.file, { readonly: true, fileMustExist: true });
    // Pages mapped rather than copied in: a tenth less CPU per row read (SQLite caps the size it maps).
    db.pragma('mmap_size = 17179869184');
    const statement = db.prepare<[number, number], unknown[]>(`${SELECT} where seq > ? and seq <= ? order by seq`).raw(true);
    return {
      read: (start, end) => statement.all(start, end),
      close: () => {
        db.close();
      },
    };
  }
  const { default: pg } = await import('pg');
  // As the server's pool reads them (db/connection.ts): int8 as a number.
  pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value));
  const client = new pg.Client({ connectionString: source.url, ...(source.schema ? { options: `-c search_path=${source.schema}` } : {}) });
  await client.connect();
  return {
    read: async (start, end) => (await client.query<unknown[]>({ text: `${SELECT} where seq > $1 and seq <= $2 order by seq`, values: [start, end], rowMode: 'array' })).rows,
    close: () => client.end(),
  };
};

/** Reads and verifies one range: what a worker does per task (and the calling thread, for its share). */
export const verifyRange = async (reader: EntryReader, task: RangeTask, silenceMs: number): Promise<RangeResult> => {
  const incomplete = { start: task.start, complete: false } as const;
  const tree = new TreeBuilder();
  const altered: number[] = [];
  const rangesAtSizes: string[][] = [];
  const silences: string[] = [];
  let first: EntryMark | undefined;
  let previous: EntryMark | undefined;
  let nextSize = 0;
  for (let seq = task.start; seq < task.end; ) {
    const rows = await reader.read(seq, Math.min(task.end, seq + READ_PAGE));
    if (rows.length === 0) return incomplete;
    for (const row of rows as EntryValues[]) {
      if (Number(row[0]) !== seq + 1) return incomplete;
      seq += 1;
      const stored = row[ENTRY_COLUMNS.length];
      const leaf = valuesLeafHex(row);
      if (leaf === stored) tree.pushHex(leaf);
      else {
        altered.push(seq);
        tree.push(storedLeaf(stored));
      }
      if (seq === task.sizes[nextSize]) {
        rangesAtSizes.push(tree.frontier());
        nextSize += 1;
      }
      const mark = { seq, at: Number(row[1]), action: String(row[2]) };
      const silence = previous && silenceAfter(previous, mark.at, silenceMs);
      if (silence) silences.push(silence);
      first ??= mark;
      previous = mark;
    }
  }
  if (!first || !previous) return incomplete;
  return { start: task.start, complete: true, altered, rangesAtSizes, frontier: tree.frontier(), first, last: previous, silences };
};

/** The worker's loop: a task at a time, answered with its result; null closes the connection and ends the thread. */
export const serveVerifyWorker = async (): Promise<void> => {
  const port = parentPort;
  if (!port) throw new Error('serveVerifyWorker runs in a worker thread');
  const { source, silenceMs } = workerData as WorkerSetup;
  const reader = await openEntryReader(source);
  let queue = Promise.resolve();
  port.on('message', (task: RangeTask | null) => {
    queue = queue.then(async () => {
      if (task) port.postMessage(await verifyRange(reader, task, silenceMs));
      else {
        await reader.close();
        port.close();
      }
    });
  });
};
