import { PostgresAdapter, sql, type Kysely, type Migration } from 'kysely';

/**
 * Incident response (docs/decisions/0015): the incident record and its timeline, scope snapshots (which
 * accounts and instances an incident affected, computed from the verified audit log), containment runs
 * (resumable, with a cursor), mailings (one notice per person per mailing, through the outbox), and the
 * revocation log that carries revocations made by another process (the CLI) to every serving node.
 *
 * Free text (titles, notices, timeline entries, postmortems, selectors) is sealed under the server's data
 * key, bound to its row: a stolen database does not say what happened or who was looked at.
 *
 * The outbox gains `mailing_id`: a mail of a mailing is rendered when it is sent (the recipient is read from
 * the account then, and an action-required notice gets a reset link made at that moment), so queuing a
 * notice for a million people writes a million small rows and nothing secret.
 */
export const incidents: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    const postgres = db.getExecutor().adapter instanceof PostgresAdapter;

    await db.schema
      .createTable('incidents')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('number', 'integer', (c) => c.notNull().unique())
      .addColumn('title', 'text', (c) => c.notNull())
      .addColumn('severity', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      // The moment the operator became aware: the regulator's 72 hours run from here.
      .addColumn('aware_at', 'bigint', (c) => c.notNull())
      .addColumn('declared_at', 'bigint', (c) => c.notNull())
      .addColumn('declared_by', 'text')
      .addColumn('resolved_at', 'bigint')
      // Sealed JSON: affected components and the breach notice's fields.
      .addColumn('details', 'text', (c) => c.notNull())
      // Listed on the public status page from this moment (null: internal only).
      .addColumn('published_at', 'bigint')
      // Sealed Markdown, and when it was published (null: a draft, or none).
      .addColumn('postmortem', 'text')
      .addColumn('postmortem_published_at', 'bigint')
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('incident_updates')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('incident_id', 'text', (c) => c.notNull().references('incidents.id').onDelete('cascade'))
      .addColumn('at', 'bigint', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('status', 'text')
      // Sealed text of the entry.
      .addColumn('body', 'text', (c) => c.notNull())
      // 1: shown on the status page once the incident is published.
      .addColumn('public', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('actor_id', 'text')
      .execute();
    await db.schema.createIndex('incident_updates_incident_idx').on('incident_updates').columns(['incident_id', 'at']).execute();

    await db.schema
      .createTable('incident_scopes')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('incident_id', 'text', (c) => c.notNull().references('incidents.id').onDelete('cascade'))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('created_by', 'text')
      // Sealed JSON: the selectors it was computed from.
      .addColumn('selectors', 'text', (c) => c.notNull())
      // The signed checkpoint of the audit log it was computed against (every entry up to its size).
      .addColumn('checkpoint_size', 'bigint', (c) => c.notNull())
      .addColumn('checkpoint_root', 'text', (c) => c.notNull())
      .addColumn('verified', 'integer', (c) => c.notNull())
      // The segment of every account and instance not listed in the two tables below.
      .addColumn('default_segment', 'text', (c) => c.notNull())
      // JSON: counts per segment (accounts and instances).
      .addColumn('counts', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('incident_scopes_incident_idx').on('incident_scopes').columns(['incident_id', 'created_at']).execute();

    await db.schema
      .createTable('incident_scope_accounts')
      .addColumn('scope_id', 'text', (c) => c.notNull().references('incident_scopes.id').onDelete('cascade'))
      .addColumn('account_id', 'text', (c) => c.notNull())
      .addColumn('segment', 'text', (c) => c.notNull())
      // Why: read (a room of theirs was read), credentials (theirs were used or exposed), member (they share an affected instance).
      .addColumn('reason', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('incident_scope_accounts_pk', ['scope_id', 'account_id'])
      .execute();
    await db.schema.createIndex('incident_scope_accounts_segment_idx').on('incident_scope_accounts').columns(['scope_id', 'segment', 'account_id']).execute();

    await db.schema
      .createTable('incident_scope_instances')
      .addColumn('scope_id', 'text', (c) => c.notNull().references('incident_scopes.id').onDelete('cascade'))
      .addColumn('instance_id', 'text', (c) => c.notNull())
      .addColumn('segment', 'text', (c) => c.notNull())
      // JSON: what the incident touched there (rooms read, people by segment).
      .addColumn('summary', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('incident_scope_instances_pk', ['scope_id', 'instance_id'])
      .execute();

    await db.schema
      .createTable('incident_containments')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('incident_id', 'text', (c) => c.notNull().references('incidents.id').onDelete('cascade'))
      .addColumn('scope_id', 'text', (c) => c.references('incident_scopes.id'))
      // everyone, or one segment of the scope.
      .addColumn('target', 'text', (c) => c.notNull())
      // JSON list of steps in order: reset-passwords, end-sessions, rotate-keys.
      .addColumn('steps', 'text', (c) => c.notNull())
      // running, done.
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('step_index', 'integer', (c) => c.notNull())
      // The last account or instance id done in the current step (steps walk ids in order).
      .addColumn('cursor', 'text')
      .addColumn('done', 'bigint', (c) => c.notNull())
      .addColumn('total', 'bigint', (c) => c.notNull())
      // The credential epoch it sets: fixed at creation, so a resumed run writes the same value.
      .addColumn('epoch', 'bigint', (c) => c.notNull())
      .addColumn('created_by', 'text')
      .addColumn('started_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addColumn('finished_at', 'bigint')
      .execute();
    await db.schema.createIndex('incident_containments_incident_idx').on('incident_containments').columns(['incident_id', 'started_at']).execute();

    await db.schema
      .createTable('incident_mailings')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('incident_id', 'text', (c) => c.notNull().references('incidents.id').onDelete('cascade'))
      .addColumn('scope_id', 'text', (c) => c.references('incident_scopes.id'))
      // everyone, a segment, or admins (the instance admins' reports).
      .addColumn('target', 'text', (c) => c.notNull())
      // action-required, precautionary, reassurance, follow-up, admin-report.
      .addColumn('template', 'text', (c) => c.notNull())
      // Sealed JSON: subject and body of a follow-up (null: the template's own).
      .addColumn('message', 'text')
      .addColumn('rate_per_second', 'integer', (c) => c.notNull())
      // queuing (the cursor says how far), queued.
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('cursor', 'text')
      .addColumn('queued', 'bigint', (c) => c.notNull())
      .addColumn('created_by', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();

    // Mails of a mailing are rendered when sent: recipient and content may be null until then.
    if (postgres) {
      await sql`alter table mail_outbox alter column recipient drop not null`.execute(db);
      await sql`alter table mail_outbox alter column content drop not null`.execute(db);
      await sql`alter table mail_outbox add column mailing_id text`.execute(db);
    } else {
      await sql`create table mail_outbox_next (
        id text primary key, idempotency_key text not null unique, kind text not null, account_id text,
        recipient text, content text, status text not null, attempts integer not null default 0,
        next_attempt_at bigint not null, expires_at bigint, claimed_by text, claimed_at bigint, last_error text,
        created_at bigint not null, updated_at bigint not null, sent_at bigint,
        mailing_id text)`.execute(db);
      await sql`insert into mail_outbox_next (id, idempotency_key, kind, account_id, recipient, content, status, attempts, next_attempt_at, expires_at, claimed_by, claimed_at, last_error, created_at, updated_at, sent_at)
        select id, idempotency_key, kind, account_id, recipient, content, status, attempts, next_attempt_at, expires_at, claimed_by, claimed_at, last_error, created_at, updated_at, sent_at from mail_outbox`.execute(db);
      await sql`drop table mail_outbox`.execute(db);
      await sql`alter table mail_outbox_next rename to mail_outbox`.execute(db);
      await db.schema.createIndex('mail_outbox_due_idx').on('mail_outbox').columns(['status', 'next_attempt_at']).execute();
      await db.schema.createIndex('mail_outbox_account_idx').on('mail_outbox').columns(['account_id', 'created_at']).execute();
    }
    await db.schema.createIndex('mail_outbox_mailing_idx').on('mail_outbox').columns(['mailing_id', 'status']).execute();

    // Revocations made by one process, read by every serving node (a CLI on SQLite has no bus to reach them).
    await db.schema
      .createTable('revocation_log')
      .addColumn('seq', postgres ? 'bigserial' : 'integer', (c) => (postgres ? c.primaryKey() : c.primaryKey().autoIncrement()))
      // JSON: the revoke scope, as published on the bus.
      .addColumn('scope', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('revocation_log').ifExists().execute();
    // Mails of a mailing cannot be sent without it; recipient and content stay nullable.
    await sql`delete from mail_outbox where mailing_id is not null`.execute(db);
    await db.schema.dropIndex('mail_outbox_mailing_idx').ifExists().execute();
    await sql`alter table mail_outbox drop column mailing_id`.execute(db);
    for (const table of ['incident_mailings', 'incident_containments', 'incident_scope_instances', 'incident_scope_accounts', 'incident_scopes', 'incident_updates', 'incidents']) {
      await db.schema.dropTable(table).ifExists().execute();
    }
  },
};
