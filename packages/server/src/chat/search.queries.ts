import type { Kysely } from 'kysely';
import type { Schema } from '../db/index.ts';
import type { MessageRow } from './message.queries.ts';

export interface TermSearch {
  accountId: string;
  /** The instances searched (the account's, or the one asked for). */
  instanceIds: string[];
  /** One room only, already authorized. */
  roomId?: string | undefined;
  /** The blind terms of every word, in every searched instance (terms differ per instance). */
  terms: string[];
  /** How many words each hit must match. */
  wordCount: number;
  before?: string | undefined;
  limit: number;
}

/**
 * Ids of messages holding every word, newest first, in rooms the account can read: rooms it is in, and the
 * public rooms of the searched instances. A message has at most one row per term, so a full match is a
 * group of wordCount rows.
 */
export const findMessagesWithTerms = async (db: Kysely<Schema>, search: TermSearch): Promise<Array<{ message_id: string; room_id: string }>> => {
  if (search.instanceIds.length === 0 || search.terms.length === 0) return [];
  let query = db.selectFrom('message_terms as mt').select(['mt.message_id', 'mt.room_id']).where('mt.term', 'in', search.terms);
  if (search.roomId !== undefined) {
    query = query.where('mt.room_id', '=', search.roomId);
  } else {
    query = query.where('mt.room_id', 'in', (eb) =>
      eb
        .selectFrom('rooms as r')
        .select('r.id')
        .where('r.instance_id', 'in', search.instanceIds)
        .where((w) =>
          w.or([
            w.and([w('r.kind', '=', 'room'), w('r.privacy', '=', 'public')]),
            w.exists(w.selectFrom('room_members as rm').select('rm.room_id').whereRef('rm.room_id', '=', 'r.id').where('rm.account_id', '=', search.accountId)),
          ]),
        ),
    );
  }
  if (search.before !== undefined) query = query.where('mt.message_id', '<', search.before);
  return query
    .groupBy(['mt.message_id', 'mt.room_id'])
    .having((eb) => eb.fn.countAll(), '=', search.wordCount)
    .orderBy('mt.message_id', 'desc')
    .limit(search.limit)
    .execute();
};

export const findMessagesByIds = (db: Kysely<Schema>, ids: string[]): Promise<MessageRow[]> =>
  ids.length === 0 ? Promise.resolve([]) : db.selectFrom('messages').selectAll().where('id', 'in', ids).where('deleted_at', 'is', null).execute();
