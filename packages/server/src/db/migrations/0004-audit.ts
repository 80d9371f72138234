import type { Kysely, Migration } from 'kysely';

/** The audit log: entries in sequence (a Merkle tree's leaves), its head, and signed checkpoints. */
export const audit: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('audit_entries')
      .addColumn('seq', 'bigint', (c) => c.primaryKey())
      .addColumn('at', 'bigint', (c) => c.notNull())
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('instance_id', 'text')
      .addColumn('actor_id', 'text')
      .addColumn('session_id', 'text')
      .addColumn('room_id', 'text')
      .addColumn('detail', 'text', (c) => c.notNull())
      .addColumn('ip_hash', 'text')
      .addColumn('ua_hash', 'text')
      .addColumn('leaf_hash', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('audit_entries_instance_idx').on('audit_entries').columns(['instance_id', 'seq']).execute();
    await db.schema.createIndex('audit_entries_room_idx').on('audit_entries').columns(['room_id', 'seq']).execute();
    await db.schema.createIndex('audit_entries_actor_idx').on('audit_entries').columns(['actor_id', 'seq']).execute();

    // One row: the last sequence number handed out. Taking it (UPDATE … RETURNING) is the append lock.
    await db.schema.createTable('audit_head').addColumn('id', 'integer', (c) => c.primaryKey()).addColumn('seq', 'bigint', (c) => c.notNull()).execute();
    await db.insertInto('audit_head' as never).values({ id: 1, seq: 0 } as never).execute();

    await db.schema
      .createTable('audit_checkpoints')
      .addColumn('size', 'bigint', (c) => c.primaryKey())
      .addColumn('root_hash', 'text', (c) => c.notNull())
      .addColumn('note', 'text', (c) => c.notNull())
      // The tree's compact range at this size (JSON hex list), so a new process resumes without every leaf.
      .addColumn('frontier', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    for (const table of ['audit_checkpoints', 'audit_head', 'audit_entries']) await db.schema.dropTable(table).ifExists().execute();
  },
};
