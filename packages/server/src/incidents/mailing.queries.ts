import { sql, type Kysely, type RawBuilder, type Selectable } from 'kysely';
import type { Engine, IncidentMailingsTable, IncidentScopesTable, IncidentSegment, IncidentsTable, MailStatus, Schema } from '../db/index.ts';

export type IncidentRow = Selectable<IncidentsTable>;
export type ScopeRow = Selectable<IncidentScopesTable>;
export type MailingRow = Selectable<IncidentMailingsTable>;

export const findScopeRow = (db: Kysely<Schema>, id: string): Promise<ScopeRow | undefined> =>
  db.selectFrom('incident_scopes').selectAll().where('id', '=', id).executeTakeFirst();

export const findMailingRow = (db: Kysely<Schema>, id: string): Promise<MailingRow | undefined> =>
  db.selectFrom('incident_mailings').selectAll().where('id', '=', id).executeTakeFirst();

export const listMailingRows = (db: Kysely<Schema>, incidentId: string): Promise<MailingRow[]> =>
  db.selectFrom('incident_mailings').selectAll().where('incident_id', '=', incidentId).orderBy('created_at').orderBy('id').execute();

export const insertMailingRows = async (db: Kysely<Schema>, rows: MailingRow[]): Promise<void> => {
  if (rows.length > 0) await db.insertInto('incident_mailings').values(rows).execute();
};

/** After a chunk, in its transaction: how far the walk got and how many mails it queued in all. */
export const saveMailingProgress = async (db: Kysely<Schema>, id: string, progress: { cursor: string | null; queued: number; done: boolean; now: number }): Promise<void> => {
  await db
    .updateTable('incident_mailings')
    .set({ cursor: progress.cursor, queued: progress.queued, status: progress.done ? 'queued' : 'queuing', updated_at: progress.now })
    .where('id', '=', id)
    .execute();
};

/**
 * Which accounts a mailing walks, in id order: every account; the accounts a scope lists in one segment; or
 * the scope's default segment (every account not listed with another segment).
 */
export type AccountWalk =
  | { kind: 'everyone' }
  | { kind: 'listed'; scopeId: string; segment: IncidentSegment }
  | { kind: 'default'; scopeId: string; segment: IncidentSegment };

/**
 * The last account id of the next chunk of a walk (undefined: the walk is over). An index range scan of at
 * most `limit` entries: accounts' primary key, or the scope's (scope, segment, account) index.
 */
export const findChunkEnd = async (db: Kysely<Schema>, walk: AccountWalk, after: string | null, limit: number): Promise<string | undefined> => {
  if (walk.kind === 'listed') {
    let inner = db.selectFrom('incident_scope_accounts').select('account_id as id').where('scope_id', '=', walk.scopeId).where('segment', '=', walk.segment);
    if (after !== null) inner = inner.where('account_id', '>', after);
    const row = await db
      .selectFrom(inner.orderBy('account_id').limit(limit).as('chunk'))
      .select((eb) => eb.fn.max('chunk.id').as('last'))
      .executeTakeFirst();
    return row?.last ?? undefined;
  }
  let inner = db.selectFrom('accounts').select('id');
  if (after !== null) inner = inner.where('id', '>', after);
  const row = await db
    .selectFrom(inner.orderBy('id').limit(limit).as('chunk'))
    .select((eb) => eb.fn.max('chunk.id').as('last'))
    .executeTakeFirst();
  return row?.last ?? undefined;
};

export interface ChunkInsert {
  engine: Engine;
  walk: AccountWalk;
  mailingId: string;
  /** The idempotency key of a mail is this prefix and the account id. */
  keyPrefix: string;
  /** The chunk: account ids in (after, last]. */
  after: string | null;
  last: string;
  /** 24 characters of a fresh UUIDv7; each mail's id ends with its 12-hex-digit number in the chunk. */
  idPrefix: string;
  /** The n-th mail of the chunk is due at origin + (position + n - 1) · 1000 / rate (integer milliseconds). */
  origin: number;
  position: number;
  ratePerSecond: number;
  now: number;
}

/**
 * Queues one chunk of a mailing in a single INSERT … SELECT: rows without recipient or content (rendered when
 * sent), one per account of the walk in the chunk that has no mail for the same cause yet. Nothing per row
 * crosses the wire and nothing is sealed: a million rows are a few hundred statements. The range conditions
 * on the idempotency key and on the scope's accounts keep every plan to the chunk's own index ranges
 * (without them PostgreSQL may hash the whole outbox for each chunk). Returns the number of mails queued.
 */
export const insertMailingChunk = async (db: Kysely<Schema>, chunk: ChunkInsert): Promise<number> => {
  const pg = chunk.engine === 'postgres';
  const text = (value: string): RawBuilder<unknown> => (pg ? sql`${value}::text` : sql`${value}`);
  const int = (value: number): RawBuilder<unknown> => (pg ? sql`${value}::bigint` : sql`${value}`);
  const mailId = pg ? sql`${text(chunk.idPrefix)} || lpad(to_hex(rn), 12, '0')` : sql`${chunk.idPrefix} || printf('%012x', rn)`;
  const lowKey = chunk.keyPrefix + (chunk.after ?? '');
  const highKey = chunk.keyPrefix + chunk.last;
  const walk = chunk.walk;
  const column = walk.kind === 'listed' ? sql.ref('s.account_id') : sql.ref('a.id');
  const after = chunk.after === null ? sql`` : sql`and ${column} > ${text(chunk.after)}`;
  const notQueued = sql`not exists (select 1 from mail_outbox m where m.idempotency_key = ${text(chunk.keyPrefix)} || ${column}
      and m.idempotency_key > ${text(lowKey)} and m.idempotency_key <= ${text(highKey)})`;
  let source: RawBuilder<unknown>;
  if (walk.kind === 'listed') {
    source = sql`select s.account_id as id, row_number() over (order by s.account_id) as rn
      from incident_scope_accounts s inner join accounts a on a.id = s.account_id
      where s.scope_id = ${text(walk.scopeId)} and s.segment = ${text(walk.segment)} ${after} and s.account_id <= ${text(chunk.last)} and ${notQueued}`;
  } else if (walk.kind === 'default') {
    const afterListed = chunk.after === null ? sql`` : sql`and s.account_id > ${text(chunk.after)}`;
    source = sql`select a.id, row_number() over (order by a.id) as rn from accounts a
      where a.id <= ${text(chunk.last)} ${after}
      and not exists (select 1 from incident_scope_accounts s where s.scope_id = ${text(walk.scopeId)} and s.account_id = a.id and s.segment <> ${text(walk.segment)}
        ${afterListed} and s.account_id <= ${text(chunk.last)})
      and ${notQueued}`;
  } else {
    source = sql`select a.id, row_number() over (order by a.id) as rn from accounts a where a.id <= ${text(chunk.last)} ${after} and ${notQueued}`;
  }
  const result = await sql`insert into mail_outbox (id, idempotency_key, kind, account_id, recipient, content, status, attempts, next_attempt_at, expires_at,
      claimed_by, claimed_at, last_error, created_at, updated_at, sent_at, mailing_id)
    select ${mailId}, ${text(chunk.keyPrefix)} || id, 'incident_notice', id, null, null, 'queued', 0,
      ${int(chunk.origin)} + ((${int(chunk.position)} + rn - 1) * 1000) / ${int(chunk.ratePerSecond)}, null,
      null, null, null, ${int(chunk.now)}, ${int(chunk.now)}, null, ${text(chunk.mailingId)}
    from (${source}) chunk where true
    on conflict (idempotency_key) do nothing`.execute(db);
  return Number(result.numAffectedRows ?? 0);
};

/**
 * PostgreSQL: the chunk's transaction commits without waiting for its WAL flush (about 2 s less for a
 * million notices here). Safe for this one kind of write: the rows and the cursor commit or vanish together
 * (a crash of PostgreSQL may forget the last chunks, which the resume walks again), and no mail of a
 * forgotten chunk can have been sent: a worker's claim commits synchronously, flushing the WAL before it.
 */
export const relaxCommitDurability = async (db: Kysely<Schema>, engine: Engine): Promise<void> => {
  if (engine === 'postgres') await sql`set local synchronous_commit = off`.execute(db);
};

export const countAccounts = async (db: Kysely<Schema>): Promise<number> => {
  const row = await db.selectFrom('accounts').select((eb) => eb.fn.countAll<number>().as('count')).executeTakeFirstOrThrow();
  return Number(row.count);
};

/** Accounts a scope lists, by segment (only accounts that still exist). */
export const countListedAccounts = async (db: Kysely<Schema>, scopeId: string): Promise<Record<IncidentSegment, number>> => {
  const rows = await db
    .selectFrom('incident_scope_accounts as s')
    .innerJoin('accounts as a', 'a.id', 's.account_id')
    .select(['s.segment', (eb) => eb.fn.countAll<number>().as('count')])
    .where('s.scope_id', '=', scopeId)
    .groupBy('s.segment')
    .execute();
  const counts: Record<IncidentSegment, number> = { affected: 0, possibly_affected: 0, not_affected: 0 };
  for (const row of rows) counts[row.segment] = Number(row.count);
  return counts;
};

export interface ReportInstanceRow {
  id: string;
  name: string;
  /** Null: not listed by the scope (it has the scope's default segment and no summary). */
  segment: IncidentSegment | null;
  summary: string | null;
}

/**
 * One page (id order) of the instances whose admins get a report: those the scope lists as affected or
 * possibly affected, and, when the scope's default segment is not `not_affected`, every instance it does not list.
 */
export const listReportInstances = (db: Kysely<Schema>, scope: Pick<ScopeRow, 'id' | 'default_segment'>, after: string | null, limit: number): Promise<ReportInstanceRow[]> => {
  let query = db
    .selectFrom('instances as i')
    .leftJoin('incident_scope_instances as si', (join) => join.onRef('si.instance_id', '=', 'i.id').on('si.scope_id', '=', scope.id))
    .select(['i.id', 'i.name', 'si.segment', 'si.summary']);
  if (after !== null) query = query.where('i.id', '>', after);
  query = query.where((eb) =>
    scope.default_segment === 'not_affected'
      ? eb('si.segment', 'in', ['affected', 'possibly_affected'])
      : eb.or([eb('si.segment', 'in', ['affected', 'possibly_affected']), eb('si.segment', 'is', null)]),
  );
  return query.orderBy('i.id').limit(limit).execute();
};

export interface InstanceAdminRow {
  instance_id: string;
  id: string;
  /** Sealed, like every account's. */
  email: string;
  display_name: string;
}

/** Owners and admins of these instances. */
export const listInstanceAdmins = (db: Kysely<Schema>, instanceIds: string[]): Promise<InstanceAdminRow[]> =>
  instanceIds.length === 0
    ? Promise.resolve([])
    : db
        .selectFrom('memberships as m')
        .innerJoin('accounts as a', 'a.id', 'm.account_id')
        .select(['m.instance_id', 'a.id', 'a.email', 'a.display_name'])
        .where('m.instance_id', 'in', instanceIds)
        .where('m.role', 'in', ['owner', 'admin'])
        .orderBy('m.instance_id')
        .orderBy('a.id')
        .execute();

/** Mails per status of each mailing. */
export const countMailsOfMailings = async (db: Kysely<Schema>, mailingIds: string[]): Promise<Map<string, Record<MailStatus, number>>> => {
  const counts = new Map<string, Record<MailStatus, number>>();
  for (const id of mailingIds) counts.set(id, { queued: 0, sending: 0, sent: 0, failed: 0 });
  if (mailingIds.length === 0) return counts;
  const rows = await db
    .selectFrom('mail_outbox')
    .select(['mailing_id', 'status', (eb) => eb.fn.countAll<number>().as('count')])
    .where('mailing_id', 'in', mailingIds)
    .groupBy(['mailing_id', 'status'])
    .execute();
  for (const row of rows) {
    const entry = row.mailing_id === null ? undefined : counts.get(row.mailing_id);
    if (entry) entry[row.status] = Number(row.count);
  }
  return counts;
};

export interface MailingMailRow {
  id: string;
  account_id: string | null;
  recipient: string | null;
  status: MailStatus;
  attempts: number;
  last_error: string | null;
  next_attempt_at: number;
  sent_at: number | null;
  /** The account's sealed email now (null: the account is gone). */
  account_email: string | null;
}

/** A mailing's mails in id order (the order they were queued), one page after `after`. */
export const listMailingMails = (db: Kysely<Schema>, mailingId: string, filter: { status?: MailStatus | undefined; limit: number; after?: string | undefined }): Promise<MailingMailRow[]> => {
  let query = db
    .selectFrom('mail_outbox as m')
    .leftJoin('accounts as a', 'a.id', 'm.account_id')
    .select(['m.id', 'm.account_id', 'm.recipient', 'm.status', 'm.attempts', 'm.last_error', 'm.next_attempt_at', 'm.sent_at', 'a.email as account_email'])
    .where('m.mailing_id', '=', mailingId);
  if (filter.status) query = query.where('m.status', '=', filter.status);
  if (filter.after !== undefined) query = query.where('m.id', '>', filter.after);
  return query.orderBy('m.id').limit(filter.limit).execute();
};

/** Mails of these mailings sent per time bucket (bucket start, count), oldest first. */
export const countSentPerBucket = async (db: Kysely<Schema>, mailingIds: string[], bucketMs: number): Promise<Array<{ at: number; count: number }>> => {
  if (mailingIds.length === 0) return [];
  if (!Number.isSafeInteger(bucketMs) || bucketMs <= 0) throw new RangeError('bucketMs must be a positive integer');
  // A literal, not a parameter: the grouped expression must be the selected one, word for word (PostgreSQL).
  const bucket = sql<number>`(sent_at / ${sql.lit(bucketMs)}) * ${sql.lit(bucketMs)}`;
  const rows = await db
    .selectFrom('mail_outbox')
    .select([bucket.as('at'), (eb) => eb.fn.countAll<number>().as('count')])
    .where('mailing_id', 'in', mailingIds)
    .where('status', '=', 'sent')
    .where('sent_at', 'is not', null)
    .groupBy(bucket)
    .orderBy(bucket)
    .execute();
  return rows.map((row) => ({ at: Number(row.at), count: Number(row.count) }));
};
