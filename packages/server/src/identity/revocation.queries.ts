import type { Kysely } from 'kysely';
import type { Schema } from '../db/index.ts';

export interface RevocationLogRow {
  seq: number;
  /** JSON revoke scope. */
  scope: string;
  created_at: number;
}

/** Rows per INSERT: a batch is one statement, split only where a huge one would pass the engines' parameter limits. */
const INSERT_ROWS_MAX = 1_000;

/** Appends revoke scopes (JSON), a batch as one multi-row insert. */
export const insertRevocations = async (db: Kysely<Schema>, scopes: string[], createdAt: number): Promise<void> => {
  for (let i = 0; i < scopes.length; i += INSERT_ROWS_MAX) {
    await db
      .insertInto('revocation_log')
      .values(scopes.slice(i, i + INSERT_ROWS_MAX).map((scope) => ({ scope, created_at: createdAt })))
      .execute();
  }
};

/** The newest row (seq and time), if any: where a node starts reading. */
export const findLastRevocation = async (db: Kysely<Schema>): Promise<{ seq: number; created_at: number } | undefined> =>
  db.selectFrom('revocation_log').select(['seq', 'created_at']).orderBy('seq', 'desc').limit(1).executeTakeFirst();

/**
 * Rows after `afterSeq`, and the rows `missing` names (seqs skipped over that may still commit), in seq order,
 * at most `limit`. One range read on the primary key.
 */
export const listRevocationsAfter = (db: Kysely<Schema>, afterSeq: number, missing: number[], limit: number): Promise<RevocationLogRow[]> =>
  db
    .selectFrom('revocation_log')
    .select(['seq', 'scope', 'created_at'])
    .where((eb) => (missing.length === 0 ? eb('seq', '>', afterSeq) : eb.or([eb('seq', '>', afterSeq), eb('seq', 'in', missing)])))
    .orderBy('seq')
    .limit(limit)
    .execute();

/** Deletes up to `limit` of the rows with a seq in (afterSeq, throughSeq], oldest first; returns how many. */
export const deleteRevocationsBetween = async (db: Kysely<Schema>, afterSeq: number, throughSeq: number, limit: number): Promise<number> => {
  const result = await db
    .deleteFrom('revocation_log')
    .where('seq', 'in', (eb) => eb.selectFrom('revocation_log').select('seq').where('seq', '>', afterSeq).where('seq', '<=', throughSeq).orderBy('seq').limit(limit))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
};
