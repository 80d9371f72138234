import type { Kysely, Selectable } from 'kysely';
import type { AuditCheckpointsTable, Schema } from '../db/index.ts';
import type { AuditRow } from './entry.ts';

export type CheckpointRow = Selectable<AuditCheckpointsTable>;

/** Takes `count` sequence numbers; the row lock this write takes is what orders appends across nodes. */
export const takeSequenceNumbers = async (db: Kysely<Schema>, count: number): Promise<number> => {
  const row = await db
    .updateTable('audit_head')
    .set((eb) => ({ seq: eb('seq', '+', count) }))
    .where('id', '=', 1)
    .returning('seq')
    .executeTakeFirstOrThrow();
  return Number(row.seq) - count + 1;
};

export const insertEntries = async (db: Kysely<Schema>, rows: AuditRow[]): Promise<void> => {
  if (rows.length > 0) await db.insertInto('audit_entries').values(rows).execute();
};

/** Entries in sequence order after `afterSeq`, a page at a time. */
export const listEntriesAfter = (db: Kysely<Schema>, afterSeq: number, limit: number): Promise<AuditRow[]> =>
  db.selectFrom('audit_entries').selectAll().where('seq', '>', afterSeq).orderBy('seq').limit(limit).execute();

export const listLeafHashesAfter = (db: Kysely<Schema>, afterSeq: number, limit: number): Promise<Array<{ seq: number; leaf_hash: string }>> =>
  db.selectFrom('audit_entries').select(['seq', 'leaf_hash']).where('seq', '>', afterSeq).orderBy('seq').limit(limit).execute();

export const insertCheckpoint = async (db: Kysely<Schema>, row: CheckpointRow): Promise<void> => {
  await db.insertInto('audit_checkpoints').values(row).onConflict((oc) => oc.column('size').doNothing()).execute();
};

export const listCheckpoints = (db: Kysely<Schema>): Promise<CheckpointRow[]> => db.selectFrom('audit_checkpoints').selectAll().orderBy('size').execute();

export const findLatestCheckpoint = (db: Kysely<Schema>): Promise<CheckpointRow | undefined> =>
  db.selectFrom('audit_checkpoints').selectAll().orderBy('size', 'desc').limit(1).executeTakeFirst();

export const findHeadSeq = async (db: Kysely<Schema>): Promise<number> =>
  Number((await db.selectFrom('audit_head').select('seq').where('id', '=', 1).executeTakeFirstOrThrow()).seq);
