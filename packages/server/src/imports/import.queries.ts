import type { Kysely } from 'kysely';
import type { Schema } from '../db/index.ts';

export type MappingKind = 'user' | 'channel' | 'message' | 'file';

/** What an earlier run made of each source id of one kind (source id → Conclave id). */
export const listMappings = async (db: Kysely<Schema>, source: string, instanceId: string, kind: MappingKind): Promise<Map<string, string>> => {
  const rows = await db.selectFrom('import_mappings').select(['source_id', 'target_id']).where('source', '=', source).where('instance_id', '=', instanceId).where('kind', '=', kind).execute();
  return new Map(rows.map((row) => [row.source_id, row.target_id]));
};

export const insertMapping = async (db: Kysely<Schema>, row: { source: string; instance_id: string; kind: MappingKind; source_id: string; target_id: string; created_at: number }): Promise<void> => {
  await db.insertInto('import_mappings').values(row).onConflict((oc) => oc.columns(['source', 'instance_id', 'kind', 'source_id']).doNothing()).execute();
};

/** Account ids and their sealed display names. */
export const listAccountNames = async (db: Kysely<Schema>, ids: string[]): Promise<Array<{ id: string; display_name: string }>> =>
  ids.length === 0 ? [] : db.selectFrom('accounts').select(['id', 'display_name']).where('id', 'in', ids).execute();

/** Someone to stand as the creator of imported rooms whose creator was not imported: an owner of the instance. */
export const findInstanceOwner = async (db: Kysely<Schema>, instanceId: string): Promise<string | undefined> =>
  (await db.selectFrom('memberships').select('account_id').where('instance_id', '=', instanceId).where('role', '=', 'owner').orderBy('created_at').limit(1).executeTakeFirst())?.account_id;
