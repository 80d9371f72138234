import { sql, type Kysely, type RawBuilder, type Selectable } from 'kysely';
import type { Engine, MailKind, MailOutboxTable, MailStatus, Schema } from '../db/index.ts';

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
 * Claims queued mails for this node (status `sending`, one more attempt), each only if nobody claimed it
 * first; the claimed rows. The conditional update is the lock: two nodes never both win one mail. The
 * worker claims only mails it is about to send, one per free sending slot, several in one statement when
 * several slots are free at once.
 */
export const claimMails = (db: Kysely<Schema>, ids: string[], nodeId: string, now: number): Promise<MailRow[]> =>
  ids.length === 0
    ? Promise.resolve([])
    : db
        .updateTable('mail_outbox')
        .set((eb) => ({ status: 'sending', claimed_by: nodeId, claimed_at: now, attempts: eb('attempts', '+', 1), updated_at: now }))
        .where('id', 'in', ids)
        .where('status', '=', 'queued')
        .where('next_attempt_at', '<=', now)
        .returningAll()
        .execute();

export type Claim = { id: string; nodeId: string; claimedAt: number };

/**
 * How a claim ends. `recipient`: the sealed address a mail rendered at send time went to (kept for the
 * record); `content`: what stays of a sent mail (the sealed subject).
 */
export type ClaimOutcome =
  | { claim: Claim; status: 'sent'; content: string; recipient?: string | undefined; now: number }
  | { claim: Claim; status: 'queued'; nextAttemptAt: number; lastError: string; recipient?: string | undefined; now: number }
  | { claim: Claim; status: 'failed'; lastError: string; recipient?: string | undefined; now: number };

/**
 * Ends claims this node still holds, all in one statement (one commit, one round trip); for each, whether
 * the node still held it (false: its lease expired and another node took the mail). A sent mail's bodies are
 * replaced by what `content` keeps and its last error cleared; a retried one is queued again for later.
 */
export const finishClaims = async (db: Kysely<Schema>, engine: Engine, outcomes: ClaimOutcome[]): Promise<boolean[]> => {
  if (outcomes.length === 0) return [];
  const pg = engine === 'postgres';
  const text = (value: string | null): RawBuilder<unknown> => (pg ? sql`${value}::text` : sql`${value}`);
  const int = (value: number | null): RawBuilder<unknown> => (pg ? sql`${value}::bigint` : sql`${value}`);
  const rows = outcomes.map((o) => {
    const values = [
      text(o.claim.id),
      text(o.claim.nodeId),
      int(o.claim.claimedAt),
      text(o.status),
      text(o.status === 'sent' ? o.content : null),
      text(o.recipient ?? null),
      int(o.status === 'queued' ? o.nextAttemptAt : null),
      text(o.status === 'sent' ? null : o.lastError),
      int(o.status === 'sent' ? o.now : null),
      int(o.now),
    ];
    return sql`(${sql.join(values)})`;
  });
  const columns = ['id', 'claimed_by', 'claimed_at', 'status', 'content', 'recipient', 'next_attempt_at', 'last_error', 'sent_at', 'updated_at'];
  // SQLite names a VALUES list's columns column1, column2…; PostgreSQL takes them from the alias.
  const source = pg
    ? sql`(values ${sql.join(rows)}) as v(${sql.join(columns.map((c) => sql.raw(c)))})`
    : sql`(select ${sql.join(columns.map((c, i) => sql.raw(`column${i + 1} as ${c}`)))} from (values ${sql.join(rows)})) as v`;
  const result = await sql<{ id: string }>`update mail_outbox set
      status = v.status,
      content = coalesce(v.content, mail_outbox.content),
      recipient = coalesce(v.recipient, mail_outbox.recipient),
      next_attempt_at = coalesce(v.next_attempt_at, mail_outbox.next_attempt_at),
      last_error = v.last_error,
      sent_at = coalesce(v.sent_at, mail_outbox.sent_at),
      updated_at = v.updated_at,
      claimed_by = null,
      claimed_at = null
    from ${source}
    where mail_outbox.id = v.id and mail_outbox.status = 'sending' and mail_outbox.claimed_by = v.claimed_by and mail_outbox.claimed_at = v.claimed_at
    returning mail_outbox.id`.execute(db);
  const kept = new Set(result.rows.map((row) => row.id));
  return outcomes.map((o) => kept.has(o.claim.id));
};

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

/**
 * Deletes up to `limit` mails that ended (sent or failed) before `before`; how many. Mails of an incident
 * mailing stay: they are the record of who was told what, and go with their incident.
 */
export const pruneEndedMails = async (db: Kysely<Schema>, before: number, limit: number): Promise<number> => {
  const ids = db
    .selectFrom('mail_outbox')
    .select('id')
    .where('status', 'in', ['sent', 'failed'])
    .where('mailing_id', 'is', null)
    .where('updated_at', '<', before)
    .limit(limit);
  const result = await db.deleteFrom('mail_outbox').where('id', 'in', ids).executeTakeFirst();
  return Number(result.numDeletedRows);
};

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
