import { sql, type Kysely } from 'kysely';
import type { Engine, Schema } from '../db/index.ts';
import type { MessageRow } from './message.queries.ts';

/**
 * Where search terms live differs by engine (decision 0011): on SQLite an FTS5 index (`message_search`,
 * appended in segments), on PostgreSQL a table of one row per term (`message_terms`).
 */
export interface SearchStore {
  db: Kysely<Schema>;
  engine: Engine;
}

/** A message's search terms: keyed blind indexes of its words. */
export interface MessageTerms {
  messageId: string;
  roomId: string;
  terms: string[];
}

/** FTS5's ascii tokenizer folds case and splits on "-" and "_", so base64url terms go in as hex. */
const token = (term: string): string => Buffer.from(term, 'base64url').toString('hex');

const insertIndexRow = async (db: Kysely<Schema>, message: MessageTerms): Promise<void> => {
  // Only for a message that still exists and is not indexed yet (a late batch never overwrites an edit's terms).
  const inserted = await sql`
    insert into message_search_rows (message_id, room_id)
    select ${message.messageId}, ${message.roomId}
    where exists (select 1 from messages where id = ${message.messageId})
      and not exists (select 1 from message_search_rows where message_id = ${message.messageId})`.execute(db);
  if (inserted.insertId === undefined || Number(inserted.numAffectedRows ?? 0) === 0) return;
  await sql`insert into message_search (rowid, terms) values (${inserted.insertId}, ${message.terms.map(token).join(' ')})`.execute(db);
};

/** Indexes messages not indexed yet (idempotent: one already indexed keeps its terms). */
export const insertTerms = async (store: SearchStore, messages: MessageTerms[]): Promise<void> => {
  const indexed = messages.filter((m) => m.terms.length > 0);
  if (store.engine === 'sqlite') {
    for (const message of indexed) await insertIndexRow(store.db, message);
    return;
  }
  const rows = indexed.flatMap((m) => m.terms.map((term) => ({ term, message_id: m.messageId, room_id: m.roomId })));
  for (let i = 0; i < rows.length; i += 500) {
    await store.db
      .insertInto('message_terms')
      .values(rows.slice(i, i + 500))
      .onConflict((oc) => oc.columns(['term', 'message_id']).doNothing())
      .execute();
  }
};

/** Removes a message from the index (a deletion; on SQLite the trigger drops its FTS row). */
export const deleteTerms = async (store: SearchStore, messageId: string): Promise<void> => {
  if (store.engine === 'sqlite') await store.db.deleteFrom('message_search_rows').where('message_id', '=', messageId).execute();
  else await store.db.deleteFrom('message_terms').where('message_id', '=', messageId).execute();
};

/** Replaces a message's terms: edits and the 0.1 upgrade. */
export const replaceTerms = async (store: SearchStore, message: MessageTerms): Promise<void> => {
  await deleteTerms(store, message.messageId);
  await insertTerms(store, [message]);
};

/** Recent live messages not in the index (a batch a crash lost, or a message without words). */
export const findRecentMessagesWithoutTerms = (store: SearchStore, afterId: string, limit: number): Promise<MessageRow[]> =>
  store.db
    .selectFrom('messages')
    .selectAll()
    .where('id', '>', afterId)
    .where('deleted_at', 'is', null)
    .where((eb) =>
      eb.not(
        eb.exists(
          store.engine === 'sqlite'
            ? eb.selectFrom('message_search_rows').select('message_id').whereRef('message_search_rows.message_id', '=', 'messages.id')
            : eb.selectFrom('message_terms').select('message_id').whereRef('message_terms.message_id', '=', 'messages.id'),
        ),
      ),
    )
    .orderBy('id')
    .limit(limit)
    .execute();

export interface TermSearch {
  accountId: string;
  /** The instances searched (the account's, or the one asked for). */
  instanceIds: string[];
  /** One room only, already authorized. */
  roomId?: string | undefined;
  /** For each word, its blind term in every searched instance (terms differ per instance). */
  wordTerms: string[][];
  before?: string | undefined;
  limit: number;
}

/** The rooms an account can read in some instances: rooms it is in, and their public rooms. */
const readableRooms = (db: Kysely<Schema>, search: TermSearch) =>
  db
    .selectFrom('rooms as r')
    .select('r.id')
    .where('r.instance_id', 'in', search.instanceIds)
    .where((w) =>
      w.or([
        w.and([w('r.kind', '=', 'room'), w('r.privacy', '=', 'public')]),
        w.exists(w.selectFrom('room_members as rm').select('rm.room_id').whereRef('rm.room_id', '=', 'r.id').where('rm.account_id', '=', search.accountId)),
      ]),
    );

/** An FTS5 query: every word, each as any of its instances' tokens. */
const matchExpression = (wordTerms: string[][]): string => wordTerms.map((terms) => `(${terms.map((term) => `"${token(term)}"`).join(' OR ')})`).join(' AND ');

/**
 * Ids of messages holding every word, newest first, in rooms the account can read. On SQLite newest means
 * last indexed (time order, but for a batch re-indexed after a crash).
 */
export const findMessagesWithTerms = async (store: SearchStore, search: TermSearch): Promise<Array<{ message_id: string; room_id: string }>> => {
  if (search.instanceIds.length === 0 || search.wordTerms.length === 0) return [];
  const { db } = store;
  if (store.engine === 'sqlite') {
    let query = db
      .selectFrom('message_search')
      .innerJoin('message_search_rows as r', 'r.search_rowid', 'message_search.rowid')
      .select(['r.message_id', 'r.room_id'])
      .where(sql<boolean>`message_search match ${matchExpression(search.wordTerms)}`);
    query = search.roomId !== undefined ? query.where('r.room_id', '=', search.roomId) : query.where('r.room_id', 'in', readableRooms(db, search));
    if (search.before !== undefined) {
      const before = search.before;
      const cursor = await db.selectFrom('message_search_rows').select('search_rowid').where('message_id', '=', before).executeTakeFirst();
      query = cursor ? query.where('message_search.rowid', '<', cursor.search_rowid) : query.where('r.message_id', '<', before);
    }
    return query.orderBy('message_search.rowid', 'desc').limit(search.limit).execute();
  }
  let query = db
    .selectFrom('message_terms as mt')
    .select(['mt.message_id', 'mt.room_id'])
    .where('mt.term', 'in', search.wordTerms.flat());
  query = search.roomId !== undefined ? query.where('mt.room_id', '=', search.roomId) : query.where('mt.room_id', 'in', readableRooms(db, search));
  if (search.before !== undefined) query = query.where('mt.message_id', '<', search.before);
  // A message has at most one row per term and a word one term per instance: a full match is a group of one row per word.
  return query
    .groupBy(['mt.message_id', 'mt.room_id'])
    .having((eb) => eb.fn.countAll(), '=', search.wordTerms.length)
    .orderBy('mt.message_id', 'desc')
    .limit(search.limit)
    .execute();
};

export const findMessagesByIds = (db: Kysely<Schema>, ids: string[]): Promise<MessageRow[]> =>
  ids.length === 0 ? Promise.resolve([]) : db.selectFrom('messages').selectAll().where('id', 'in', ids).where('deleted_at', 'is', null).execute();
