import type { Logger } from 'pino';
import type { AppContext } from '../context.ts';
import { openMessage } from './message.seal.ts';
import { blindTerms } from './message.terms.ts';
import { findRecentMessagesWithoutTerms, insertTerms, type MessageTerms, type SearchStore } from './search.queries.ts';

/**
 * Writes new messages' search terms off the posting path: gathered for a few milliseconds and inserted in
 * one transaction. Search, edits and deletions flush first, so a node always finds what it has just posted
 * and a late batch never undoes an edit; a crash loses at most one batch, re-indexed at the next start.
 */
export interface SearchIndexer {
  enqueue(pending: MessageTerms): void;
  flush(): Promise<void>;
  close(): Promise<void>;
}

export const createSearchIndexer = (store: SearchStore, log: Logger, delayMs = 25): SearchIndexer => {
  let queue: MessageTerms[] = [];
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  const write = async (): Promise<void> => {
    const batch = queue;
    queue = [];
    if (batch.length === 0) return;
    try {
      await store.db.transaction().execute((trx) => insertTerms({ db: trx, engine: store.engine }, batch));
    } catch (error) {
      log.error({ err: error, messages: batch.length }, 'search terms not written; they are re-indexed at the next start');
    }
  };
  const flush = (): Promise<void> => {
    if (timer) {
      clearTimeout(timer);
      timer = undefined;
    }
    running = running.then(write);
    return running;
  };
  return {
    enqueue(pending) {
      if (pending.terms.length === 0) return;
      queue.push(pending);
      timer ??= setTimeout(() => {
        timer = undefined;
        void flush();
      }, delayMs);
    },
    flush,
    close: flush,
  };
};

/** The smallest UUIDv7 of a millisecond: ids compare as strings in time order. */
const firstIdAt = (ms: number): string => {
  const hex = Math.max(0, Math.floor(ms)).toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-0000-0000-000000000000`;
};

/**
 * At start-up: indexes recent messages that have no search term (a batch lost in a crash). Messages whose
 * words are none (only punctuation) are looked at and left; the window bounds the work.
 */
export const reindexRecentMessages = async (ctx: AppContext, windowMs = 15 * 60_000): Promise<number> => {
  let after = firstIdAt(ctx.now() - windowMs);
  let indexed = 0;
  for (;;) {
    const rows = await findRecentMessagesWithoutTerms(ctx.database, after, 500);
    const last = rows.at(-1);
    if (!last) return indexed;
    const pending: MessageTerms[] = [];
    for (const row of rows) {
      const cipher = await ctx.keyring.owner(row.room_id, [row.body]);
      if (!cipher.instanceId) continue;
      const keys = await ctx.keyring.instance(cipher.instanceId);
      pending.push({ messageId: row.id, roomId: row.room_id, terms: blindTerms(keys, openMessage(cipher, row).body) });
    }
    await insertTerms(ctx.database, pending);
    indexed += rows.length;
    after = last.id;
  }
};
