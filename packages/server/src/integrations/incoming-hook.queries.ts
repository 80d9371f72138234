import type { Kysely, Selectable } from 'kysely';
import type { IncomingHooksTable, Schema } from '../db/index.ts';

export type IncomingHookRow = Selectable<IncomingHooksTable>;

export const insertIncomingHook = async (db: Kysely<Schema>, row: IncomingHookRow): Promise<void> => {
  await db.insertInto('incoming_hooks').values(row).execute();
};

export const findIncomingHookByHash = (db: Kysely<Schema>, tokenHash: string): Promise<IncomingHookRow | undefined> =>
  db.selectFrom('incoming_hooks').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();

/** A room's incoming webhooks, newest first, revoked ones included (the record of what could post). */
export const listIncomingHooks = (db: Kysely<Schema>, roomId: string): Promise<IncomingHookRow[]> =>
  db.selectFrom('incoming_hooks').selectAll().where('room_id', '=', roomId).orderBy('created_at', 'desc').orderBy('id', 'desc').execute();

export const countLiveIncomingHooks = async (db: Kysely<Schema>, roomId: string): Promise<number> =>
  Number(
    (await db.selectFrom('incoming_hooks').select((eb) => eb.fn.countAll<number>().as('n')).where('room_id', '=', roomId).where('revoked_at', 'is', null).executeTakeFirstOrThrow()).n,
  );

/** Revokes a live hook of this room; the row stays (revoked_at), so its URL answers HOOK_REVOKED. */
export const revokeIncomingHookRow = async (db: Kysely<Schema>, roomId: string, id: string, now: number): Promise<IncomingHookRow | undefined> =>
  db.updateTable('incoming_hooks').set({ revoked_at: now }).where('id', '=', id).where('room_id', '=', roomId).where('revoked_at', 'is', null).returningAll().executeTakeFirst();

export const findIncomingHookOfRoom = (db: Kysely<Schema>, roomId: string, id: string): Promise<IncomingHookRow | undefined> =>
  db.selectFrom('incoming_hooks').selectAll().where('id', '=', id).where('room_id', '=', roomId).executeTakeFirst();

export const touchIncomingHook = async (db: Kysely<Schema>, id: string, now: number): Promise<void> => {
  await db.updateTable('incoming_hooks').set({ last_used_at: now }).where('id', '=', id).execute();
};

export const listAllIncomingHooks = (db: Kysely<Schema>, instanceId?: string): Promise<IncomingHookRow[]> => {
  let query = db.selectFrom('incoming_hooks').selectAll();
  if (instanceId) query = query.where('instance_id', '=', instanceId);
  return query.orderBy('created_at', 'desc').execute();
};

export const revokeIncomingHookById = async (db: Kysely<Schema>, id: string, now: number): Promise<IncomingHookRow | undefined> =>
  db.updateTable('incoming_hooks').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null).returningAll().executeTakeFirst();
