import type { Kysely } from 'kysely';
import type { Schema } from '../db/index.ts';

/** One page of an instance's member account ids, in id order (keyset: the last id of the previous page). */
export const listMemberIdsAfter = async (db: Kysely<Schema>, instanceId: string, afterId: string | undefined, limit: number): Promise<string[]> => {
  let query = db.selectFrom('memberships').select('account_id').where('instance_id', '=', instanceId);
  if (afterId !== undefined) query = query.where('account_id', '>', afterId);
  return (await query.orderBy('account_id').limit(limit).execute()).map((row) => row.account_id);
};
