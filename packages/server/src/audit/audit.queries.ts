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

/** The highest sequence number in the log (0 when it is empty). */
export const findLastSeq = async (db: Kysely<Schema>): Promise<number> =>
  Number((await db.selectFrom('audit_entries').select((eb) => eb.fn.max('seq').as('seq')).executeTakeFirstOrThrow()).seq ?? 0);

export const findHeadSeq = async (db: Kysely<Schema>): Promise<number> =>
  Number((await db.selectFrom('audit_head').select('seq').where('id', '=', 1).executeTakeFirstOrThrow()).seq);

export interface AuditFilter {
  instanceId?: string | undefined;
  roomId?: string | undefined;
  actorId?: string | undefined;
  sessionId?: string | undefined;
  ipHash?: string | undefined;
  actions?: string[] | undefined;
  since?: number | undefined;
  until?: number | undefined;
  /** Only entries before this sequence number (paging newest first). */
  beforeSeq?: number | undefined;
  /** Only entries after this sequence number (paging oldest first). */
  afterSeq?: number | undefined;
  limit: number;
  order: 'asc' | 'desc';
}

export const findEntries = (db: Kysely<Schema>, filter: AuditFilter): Promise<AuditRow[]> => {
  let query = db.selectFrom('audit_entries').selectAll();
  if (filter.instanceId !== undefined) query = query.where('instance_id', '=', filter.instanceId);
  if (filter.roomId !== undefined) query = query.where('room_id', '=', filter.roomId);
  if (filter.actorId !== undefined) query = query.where('actor_id', '=', filter.actorId);
  if (filter.sessionId !== undefined) query = query.where('session_id', '=', filter.sessionId);
  if (filter.ipHash !== undefined) query = query.where('ip_hash', '=', filter.ipHash);
  if (filter.actions !== undefined && filter.actions.length > 0) query = query.where('action', 'in', filter.actions);
  if (filter.since !== undefined) query = query.where('at', '>=', filter.since);
  if (filter.until !== undefined) query = query.where('at', '<', filter.until);
  if (filter.beforeSeq !== undefined) query = query.where('seq', '<', filter.beforeSeq);
  if (filter.afterSeq !== undefined) query = query.where('seq', '>', filter.afterSeq);
  return query.orderBy('seq', filter.order).limit(filter.limit).execute();
};

/** Every leaf hash of the first `size` entries, in order (for proofs). */
export const listLeafHashes = async (db: Kysely<Schema>, size: number): Promise<Buffer[]> => {
  const leaves: Buffer[] = [];
  for (;;) {
    const page = await listLeafHashesAfter(db, leaves.length, 50_000);
    for (const row of page) if (leaves.length < size) leaves.push(Buffer.from(row.leaf_hash, 'hex'));
    if (page.length === 0 || leaves.length >= size) return leaves;
  }
};

/** Who and where an investigation looks: entries of any of these credentials, accounts or addresses (none given: everyone's). */
export interface AuditMatch {
  sessionIds: string[];
  actorIds: string[];
  ipHashes: string[];
  /** Only entries of these instances (empty: all). */
  instanceIds: string[];
  since?: number | undefined;
  until?: number | undefined;
  /** Only entries up to this sequence number (the checkpoint an investigation is tied to). */
  maxSeq: number;
  afterSeq: number;
  limit: number;
}

/** A page of entries in sequence order matching an investigation's selectors. */
export const findMatchingEntries = (db: Kysely<Schema>, match: AuditMatch): Promise<AuditRow[]> => {
  let query = db.selectFrom('audit_entries').selectAll().where('seq', '>', match.afterSeq).where('seq', '<=', match.maxSeq);
  if (match.sessionIds.length + match.actorIds.length + match.ipHashes.length > 0) {
    query = query.where((eb) =>
      eb.or([
        ...(match.sessionIds.length > 0 ? [eb('session_id', 'in', match.sessionIds)] : []),
        ...(match.actorIds.length > 0 ? [eb('actor_id', 'in', match.actorIds)] : []),
        ...(match.ipHashes.length > 0 ? [eb('ip_hash', 'in', match.ipHashes)] : []),
      ]),
    );
  }
  if (match.instanceIds.length > 0) query = query.where('instance_id', 'in', match.instanceIds);
  if (match.since !== undefined) query = query.where('at', '>=', match.since);
  if (match.until !== undefined) query = query.where('at', '<', match.until);
  return query.orderBy('seq').limit(match.limit).execute();
};
