import type { Kysely, Selectable } from 'kysely';
import type { OutgoingHooksTable, Schema } from '../db/index.ts';

export type OutgoingHookRow = Selectable<OutgoingHooksTable>;

export const insertOutgoingHook = async (db: Kysely<Schema>, row: OutgoingHookRow): Promise<void> => {
  await db.insertInto('outgoing_hooks').values(row).execute();
};

export const listOutgoingHooks = (db: Kysely<Schema>, roomId: string): Promise<OutgoingHookRow[]> =>
  db.selectFrom('outgoing_hooks').selectAll().where('room_id', '=', roomId).orderBy('created_at', 'desc').orderBy('id', 'desc').execute();

export const findOutgoingHook = (db: Kysely<Schema>, id: string): Promise<OutgoingHookRow | undefined> =>
  db.selectFrom('outgoing_hooks').selectAll().where('id', '=', id).executeTakeFirst();

export const countLiveOutgoingHooks = async (db: Kysely<Schema>, roomId: string): Promise<number> =>
  Number(
    (await db.selectFrom('outgoing_hooks').select((eb) => eb.fn.countAll<number>().as('n')).where('room_id', '=', roomId).where('revoked_at', 'is', null).executeTakeFirstOrThrow()).n,
  );

/** The live subscriptions of these rooms (the tap's one query per transaction that recorded room events). */
export const listLiveOutgoingHooksOfRooms = (db: Kysely<Schema>, roomIds: string[]): Promise<OutgoingHookRow[]> =>
  roomIds.length === 0 ? Promise.resolve([]) : db.selectFrom('outgoing_hooks').selectAll().where('room_id', 'in', roomIds).where('revoked_at', 'is', null).execute();

export const revokeOutgoingHookRow = async (db: Kysely<Schema>, roomId: string, id: string, now: number): Promise<boolean> => {
  const result = await db.updateTable('outgoing_hooks').set({ revoked_at: now }).where('id', '=', id).where('room_id', '=', roomId).where('revoked_at', 'is', null).executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
};

export const listAllOutgoingHooks = (db: Kysely<Schema>, instanceId?: string): Promise<OutgoingHookRow[]> => {
  let query = db.selectFrom('outgoing_hooks').selectAll();
  if (instanceId) query = query.where('instance_id', '=', instanceId);
  return query.orderBy('created_at', 'desc').execute();
};

export const revokeOutgoingHookById = async (db: Kysely<Schema>, id: string, now: number): Promise<OutgoingHookRow | undefined> =>
  db.updateTable('outgoing_hooks').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null).returningAll().executeTakeFirst();
