import type { Kysely, Selectable } from 'kysely';
import type { MailKind, MailOutboxTable, MailStatus, Schema } from '../db/index.ts';

export type MailRow = Selectable<MailOutboxTable>;

/** Inserts a mail unless one with its idempotency key exists; true when it was added. */
export const insertMail = async (db: Kysely<Schema>, row: MailRow): Promise<boolean> => {
  const result = await db
    .insertInto('mail_outbox')
    .values(row)
    .onConflict((oc) => oc.column('idempotency_key').doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
};

/**
 * Ids of queued mails whose time has come, oldest first. A mail rendered when sent (no content yet) is only
 * for a worker that has a renderer for its kind: one without leaves it for one with.
 */
export const findDueMailIds = async (db: Kysely<Schema>, now: number, limit: number, renderableKinds: readonly MailKind[] = []): Promise<string[]> =>
  (
    await db
      .selectFrom('mail_outbox')
      .select('id')
      .where('status', '=', 'queued')
      .where('next_attempt_at', '<=', now)
      .where((eb) => (renderableKinds.length > 0 ? eb.or([eb('content', 'is not', null), eb('kind', 'in', [...renderableKinds])]) : eb('content', 'is not', null)))
      .orderBy('next_attempt_at')
      .orderBy('id')
      .limit(limit)
      .execute()
  ).map((row) => row.id);

/**
 * Claims one queued mail for this node (status `sending`, one more attempt) if nobody claimed it first; the
 * claimed row, or undefined. The conditional update is the lock: two nodes never both win it.
 */
export const claimMail = (db: Kysely<Schema>, id: string, nodeId: string, now: number): Promise<MailRow | undefined> =>
  db
    .updateTable('mail_outbox')
    .set((eb) => ({ status: 'sending', claimed_by: nodeId, claimed_at: now, attempts: eb('attempts', '+', 1), updated_at: now }))
    .where('id', '=', id)
    .where('status', '=', 'queued')
    .where('next_attempt_at', '<=', now)
    .returningAll()
    .executeTakeFirst();

type Claim = { id: string; nodeId: string; claimedAt: number };

/** Ends a claim this node still holds; false when it had lost it (the lease expired and another node took it). */
const finishClaim = async (db: Kysely<Schema>, claim: Claim, patch: Partial<MailRow>): Promise<boolean> => {
  const result = await db
    .updateTable('mail_outbox')
    .set({ ...patch, claimed_by: null, claimed_at: null })
    .where('id', '=', claim.id)
    .where('status', '=', 'sending')
    .where('claimed_by', '=', claim.nodeId)
    .where('claimed_at', '=', claim.claimedAt)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
};

/** `recipient`: the sealed address a mail rendered at send time went to (kept for the record). */
type Addressed = { recipient?: string | undefined };
const addressed = (extra: Addressed): Partial<MailRow> => (extra.recipient === undefined ? {} : { recipient: extra.recipient });

export const markMailSent = (db: Kysely<Schema>, claim: Claim, content: string, now: number, extra: Addressed = {}): Promise<boolean> =>
  finishClaim(db, claim, { status: 'sent', content, sent_at: now, updated_at: now, last_error: null, ...addressed(extra) });

export const markMailRetry = (db: Kysely<Schema>, claim: Claim, nextAttemptAt: number, lastError: string, now: number, extra: Addressed = {}): Promise<boolean> =>
  finishClaim(db, claim, { status: 'queued', next_attempt_at: nextAttemptAt, last_error: lastError, updated_at: now, ...addressed(extra) });

export const markMailFailed = (db: Kysely<Schema>, claim: Claim, lastError: string, now: number, extra: Addressed = {}): Promise<boolean> =>
  finishClaim(db, claim, { status: 'failed', last_error: lastError, updated_at: now, ...addressed(extra) });

/** Mails left in `sending` by a node that stopped (its lease expired). */
export const findExpiredClaims = (db: Kysely<Schema>, claimedBefore: number, limit: number): Promise<MailRow[]> =>
  db.selectFrom('mail_outbox').selectAll().where('status', '=', 'sending').where('claimed_at', '<', claimedBefore).orderBy('claimed_at').limit(limit).execute();

/** Puts a mail whose claim expired back in the queue, unless someone did first. */
export const requeueExpiredClaim = async (db: Kysely<Schema>, row: MailRow, lastError: string, now: number): Promise<boolean> => {
  const result = await db
    .updateTable('mail_outbox')
    .set({ status: 'queued', claimed_by: null, claimed_at: null, next_attempt_at: now, last_error: lastError, updated_at: now })
    .where('id', '=', row.id)
    .where('status', '=', 'sending')
    .where('claimed_at', '=', row.claimed_at)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
};

export const findMailById = (db: Kysely<Schema>, id: string): Promise<MailRow | undefined> =>
  db.selectFrom('mail_outbox').selectAll().where('id', '=', id).executeTakeFirst();

/** Newest first. */
export const listMails = (db: Kysely<Schema>, filter: { status?: MailStatus | undefined; limit: number }): Promise<MailRow[]> => {
  let query = db.selectFrom('mail_outbox').selectAll();
  if (filter.status) query = query.where('status', '=', filter.status);
  return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(filter.limit).execute();
};

export const countMailsByStatus = async (db: Kysely<Schema>): Promise<Record<MailStatus, number>> => {
  const rows = await db.selectFrom('mail_outbox').select(['status', (eb) => eb.fn.countAll<number>().as('count')]).groupBy('status').execute();
  const counts: Record<MailStatus, number> = { queued: 0, sending: 0, sent: 0, failed: 0 };
  for (const row of rows) counts[row.status] = Number(row.count);
  return counts;
};
