import { sql, type Kysely } from 'kysely';
import type { Schema } from '../db/index.ts';
import type { SegmentTarget } from './scope.queries.ts';

/**
 * Password resets completed by the people of a target since `since`: per time bucket, how many people
 * completed their first reset in it (a person who resets twice counts once).
 */
export const countResetsByBucket = async (db: Kysely<Schema>, target: SegmentTarget, since: number, bucketMs: number): Promise<Array<{ bucket: number; people: number }>> => {
  let inner = db
    .selectFrom('password_resets')
    .select(['account_id', (eb) => eb.fn.min('used_at').as('first_used')])
    .where('used_at', '>=', since)
    .groupBy('account_id');
  if (target.segment !== 'everyone' && target.scopeId !== null) {
    const scopeId = target.scopeId;
    const segment = target.segment;
    inner =
      segment === target.defaultSegment
        ? inner.where('account_id', 'not in', (eb) => eb.selectFrom('incident_scope_accounts').select('account_id').where('scope_id', '=', scopeId).where('segment', '!=', segment))
        : inner.where('account_id', 'in', (eb) => eb.selectFrom('incident_scope_accounts').select('account_id').where('scope_id', '=', scopeId).where('segment', '=', segment));
  }
  // The bucket size is a literal (a whole number of ms): the same expression in select and group by.
  const bucket = sql<number>`(first_used / ${sql.lit(Math.trunc(bucketMs))}) * ${sql.lit(Math.trunc(bucketMs))}`;
  const rows = await db
    .selectFrom(inner.as('firsts'))
    .select([bucket.as('bucket'), (eb) => eb.fn.countAll().as('people')])
    .groupBy(bucket)
    .orderBy('bucket')
    .execute();
  return rows.map((row) => ({ bucket: Math.floor(Number(row.bucket) / bucketMs) * bucketMs, people: Number(row.people) }));
};
