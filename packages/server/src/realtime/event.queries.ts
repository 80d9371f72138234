import type { Kysely } from 'kysely';
import type { Schema } from '../db/index.ts';

export interface EventRow {
  seq: number;
  id: string;
  audience: 'room' | 'instance' | 'account';
  room_id: string | null;
  instance_id: string | null;
  payload: string;
}

export const insertEvent = async (
  db: Kysely<Schema>,
  row: { id: string; instance_id: string | null; room_id: string | null; account_id: string | null; audience: 'room' | 'instance' | 'account'; payload: string; created_at: number },
): Promise<number> => {
  const inserted = await db.insertInto('events').values(row).returning('seq').executeTakeFirstOrThrow();
  return Number(inserted.seq);
};

export const findSeqBounds = async (db: Kysely<Schema>): Promise<{ min: number | null; max: number | null }> => {
  const row = await db
    .selectFrom('events')
    .select((eb) => [eb.fn.min('seq').as('min'), eb.fn.max('seq').as('max')])
    .executeTakeFirst();
  return { min: row?.min == null ? null : Number(row.min), max: row?.max == null ? null : Number(row.max) };
};

/**
 * Events after `since` that this account may see, in order: those addressed to it, and those of rooms it is
 * in and of instances it belongs to, among `instanceIds` (the instances this session may still enter; the
 * live path applies the same rule).
 */
export const listEventsSince = (db: Kysely<Schema>, since: number, accountId: string, instanceIds: string[], limit: number): Promise<EventRow[]> =>
  db
    .selectFrom('events')
    .select(['seq', 'id', 'audience', 'room_id', 'instance_id', 'payload'])
    .where('seq', '>', since)
    .where((eb) => {
      const addressed = eb.and([eb('account_id', '=', accountId), eb.or([eb('instance_id', 'is', null), ...(instanceIds.length > 0 ? [eb('instance_id', 'in', instanceIds)] : [])])]);
      if (instanceIds.length === 0) return addressed;
      return eb.or([
        addressed,
        eb.and([
          eb('audience', '=', 'room'),
          eb('instance_id', 'in', instanceIds),
          eb('room_id', 'in', eb.selectFrom('room_members').select('room_id').where('account_id', '=', accountId)),
        ]),
        eb.and([eb('audience', '=', 'instance'), eb('instance_id', 'in', instanceIds)]),
      ]);
    })
    .orderBy('seq')
    .limit(limit)
    .execute();

/** Keeps the newest `keep` events and nothing older than `oldestAt`: the bounded resume window. */
export const pruneEvents = async (db: Kysely<Schema>, keep: number, oldestAt: number): Promise<number> => {
  const { max } = await findSeqBounds(db);
  if (max === null) return 0;
  const result = await db
    .deleteFrom('events')
    .where((eb) => eb.or([eb('seq', '<=', max - keep), eb('created_at', '<', oldestAt)]))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
};

export const currentSeq = async (db: Kysely<Schema>): Promise<number> => (await findSeqBounds(db)).max ?? 0;

