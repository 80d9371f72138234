import type { AppContext } from '../context.ts';
import type { RevokeScope } from '../realtime/index.ts';
import { deleteRevocationsBetween, findLastRevocation, listRevocationsAfter } from './revocation.queries.ts';

export interface RevocationFeedOptions {
  /** How often the log is read (default 250 ms). */
  pollMs?: number;
  /** How often rows older than `keepMs` are deleted (default a minute). */
  pruneEveryMs?: number;
  /** How long rows are kept (default 10 minutes): far longer than any serving node takes to read them. */
  keepMs?: number;
}

export interface RevocationFeed {
  /** Stops reading and pruning; resolves once a read in progress is over. */
  stop(): Promise<void>;
}

/** Rows per read; a full page is followed at once by the next. */
const PAGE_ROWS = 500;
/**
 * On PostgreSQL a seq is taken before its insert commits, so a later seq can be visible first. A seq skipped
 * over is looked for again for this long (then it was a rolled-back insert or a sequence jump).
 */
const MISSING_WAIT_MS = 10_000;
const MISSING_MAX = 1_000;
const PRUNE_CHUNK_ROWS = 5_000;

const SCOPE_KINDS: ReadonlySet<string> = new Set<RevokeScope['kind']>(['session', 'account', 'instance', 'member', 'global', 'recheck']);

const parseScope = (text: string): RevokeScope | undefined => {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && SCOPE_KINDS.has((value as { kind?: unknown }).kind as string) ? (value as RevokeScope) : undefined;
  } catch {
    return undefined;
  }
};

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * A serving node's reader of the revocation log: from the newest row at start, every `pollMs` it reads the rows
 * after the last one it saw (one range read on the primary key) and hands each scope to `apply`, as if it had
 * come on the bus. Now and then it deletes rows it read that are older than `keepMs` (any node may; deleting
 * twice is harmless). Timers do not keep the process alive.
 */
export const followRevocationLog = (ctx: AppContext, apply: (scope: RevokeScope) => void, options: RevocationFeedOptions = {}): RevocationFeed => {
  const db = ctx.database.db;
  const keepMs = options.keepMs ?? 600_000;
  /** The highest seq read; undefined until the starting point is known. */
  let lastSeq: number | undefined;
  /** Seqs skipped over that may still commit → until when they are looked for. */
  const missing = new Map<number, number>();
  /**
   * The seq ranges read, in order, each with the time of its newest row: a range whose newest row is older
   * than `keepMs` is deleted whole (a range read on the primary key, no scan of created_at).
   */
  const ranges: Array<{ afterSeq: number; throughSeq: number; newestAt: number }> = [];
  let pruneDue = false;
  let stopped = false;
  let busy: Promise<void> | undefined;

  const markRead = (afterSeq: number, throughSeq: number, newestAt: number): void => {
    const previous = ranges.at(-1);
    // Neighbouring ranges within a second of each other are one: their rows go a moment later at most.
    if (previous && previous.throughSeq === afterSeq && Math.abs(newestAt - previous.newestAt) < 1_000) {
      previous.throughSeq = throughSeq;
      previous.newestAt = Math.max(previous.newestAt, newestAt);
    } else ranges.push({ afterSeq, throughSeq, newestAt });
  };

  const read = async (): Promise<void> => {
    if (lastSeq === undefined) {
      const newest = await findLastRevocation(db);
      lastSeq = newest?.seq ?? 0;
      // What was there before this node started goes once the newest of it is old.
      if (newest) markRead(0, newest.seq, newest.created_at);
      return;
    }
    for (;;) {
      const now = ctx.now();
      for (const [seq, until] of missing) if (until <= now) missing.delete(seq);
      const rows = await listRevocationsAfter(db, lastSeq, [...missing.keys()], PAGE_ROWS);
      const readAfter = lastSeq;
      let newestAt: number | undefined;
      for (const row of rows) {
        if (row.seq > lastSeq) {
          for (let seq = lastSeq + 1; seq < row.seq && missing.size < MISSING_MAX; seq += 1) missing.set(seq, now + MISSING_WAIT_MS);
          lastSeq = row.seq;
          newestAt = Math.max(newestAt ?? row.created_at, row.created_at);
        } else missing.delete(row.seq);
        const scope = parseScope(row.scope);
        if (scope) apply(scope);
        else ctx.log.warn({ seq: row.seq }, 'revocation log row not understood; skipped');
      }
      if (newestAt !== undefined) markRead(readAfter, lastSeq, newestAt);
      if (rows.length < PAGE_ROWS || stopped) return;
      await nextTurn();
    }
  };

  const prune = async (): Promise<void> => {
    pruneDue = false;
    const cutoff = ctx.now() - keepMs;
    let deleted = 0;
    for (const range of ranges.filter((r) => r.newestAt < cutoff)) {
      for (;;) {
        const count = await deleteRevocationsBetween(db, range.afterSeq, range.throughSeq, PRUNE_CHUNK_ROWS);
        deleted += count;
        if (count < PRUNE_CHUNK_ROWS || stopped) break;
        await nextTurn();
      }
      if (stopped) return;
      ranges.splice(ranges.indexOf(range), 1);
    }
    if (deleted > 0) ctx.log.debug({ deleted }, 'revocation log pruned');
  };

  const tick = (): void => {
    if (busy || stopped) return;
    busy = (async () => {
      try {
        await read();
        if (pruneDue) await prune();
      } catch (error) {
        ctx.log.warn({ err: error }, 'revocation log read or prune failed; retrying at the next poll');
      }
    })().finally(() => {
      busy = undefined;
    });
  };

  const pollTimer = setInterval(tick, options.pollMs ?? 250);
  pollTimer.unref();
  const pruneTimer = setInterval(() => {
    pruneDue = true;
  }, options.pruneEveryMs ?? 60_000);
  pruneTimer.unref();
  // The starting point is taken now, not a poll later.
  tick();

  return {
    async stop() {
      stopped = true;
      clearInterval(pollTimer);
      clearInterval(pruneTimer);
      await busy;
    },
  };
};
