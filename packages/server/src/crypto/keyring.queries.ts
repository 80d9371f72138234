import type { Kysely, Selectable } from 'kysely';
import type { DataKeysTable, RootKeysTable, Schema } from '../db/index.ts';

export type RootKeyRow = Selectable<RootKeysTable>;
export type DataKeyRow = Selectable<DataKeysTable>;

export const findRootKeys = (db: Kysely<Schema>, instanceId: string | null, purpose: RootKeyRow['purpose']): Promise<RootKeyRow[]> => {
  const query = db.selectFrom('root_keys').selectAll().where('purpose', '=', purpose);
  return (instanceId === null ? query.where('instance_id', 'is', null) : query.where('instance_id', '=', instanceId)).orderBy('version').execute();
};

export const listAllRootKeys = (db: Kysely<Schema>): Promise<RootKeyRow[]> => db.selectFrom('root_keys').selectAll().orderBy('id').execute();

/** Inserts root keys; a key another node inserted first (same id) is kept, not replaced. */
export const insertRootKeys = async (db: Kysely<Schema>, rows: RootKeyRow[]): Promise<void> => {
  if (rows.length === 0) return;
  await db.insertInto('root_keys').values(rows).onConflict((oc) => oc.column('id').doNothing()).execute();
};

export const updateRootKeyWrapping = async (db: Kysely<Schema>, id: string, wrapped: string, masterId: string): Promise<void> => {
  await db.updateTable('root_keys').set({ wrapped, master_id: masterId }).where('id', '=', id).execute();
};

export const deleteRootKeys = async (db: Kysely<Schema>, ids: string[]): Promise<void> => {
  if (ids.length > 0) await db.deleteFrom('root_keys').where('id', 'in', ids).execute();
};

export const findDataKeys = (db: Kysely<Schema>, ownerId: string): Promise<DataKeyRow[]> =>
  db.selectFrom('data_keys').selectAll().where('owner_id', '=', ownerId).orderBy('version').execute();

export const insertDataKeys = async (db: Kysely<Schema>, rows: DataKeyRow[]): Promise<void> => {
  if (rows.length > 0) await db.insertInto('data_keys').values(rows).execute();
};

/** A page of an instance's data keys, by owner then version, after the given position. */
export const listDataKeysOfInstance = (db: Kysely<Schema>, instanceId: string, after: { ownerId: string; version: number } | undefined, limit: number): Promise<DataKeyRow[]> => {
  let query = db.selectFrom('data_keys').selectAll().where('instance_id', '=', instanceId);
  if (after) {
    query = query.where((eb) => eb.or([eb('owner_id', '>', after.ownerId), eb.and([eb('owner_id', '=', after.ownerId), eb('version', '>', after.version)])]));
  }
  return query.orderBy('owner_id').orderBy('version').limit(limit).execute();
};

export const rewrapDataKey = async (db: Kysely<Schema>, ownerId: string, version: number, wrapped: string, kekVersion: number): Promise<void> => {
  await db.updateTable('data_keys').set({ wrapped, kek_version: kekVersion }).where('owner_id', '=', ownerId).where('version', '=', version).execute();
};

export const countDataKeysUnder = async (db: Kysely<Schema>, instanceId: string, kekVersion: number): Promise<number> => {
  const row = await db
    .selectFrom('data_keys')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('instance_id', '=', instanceId)
    .where('kek_version', '=', kekVersion)
    .executeTakeFirstOrThrow();
  return Number(row.n);
};

/** Destroys every key of an instance: what is sealed under them no longer opens, here or in any backup. */
export const deleteInstanceKeys = async (db: Kysely<Schema>, instanceId: string): Promise<{ rootKeys: number; dataKeys: number }> => {
  const data = await db.deleteFrom('data_keys').where('instance_id', '=', instanceId).executeTakeFirst();
  const root = await db.deleteFrom('root_keys').where('instance_id', '=', instanceId).executeTakeFirst();
  return { rootKeys: Number(root.numDeletedRows), dataKeys: Number(data.numDeletedRows) };
};

export const setMasterKeyId = async (db: Kysely<Schema>, masterId: string, expected: string | null): Promise<boolean> => {
  const query = db.updateTable('server_state').set({ master_key_id: masterId }).where('id', '=', 1);
  const result = await (expected === null ? query.where('master_key_id', 'is', null) : query.where('master_key_id', '=', expected)).executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
};

export const findMasterKeyId = async (db: Kysely<Schema>): Promise<string | null> =>
  (await db.selectFrom('server_state').select('master_key_id').where('id', '=', 1).executeTakeFirstOrThrow()).master_key_id;
