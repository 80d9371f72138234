import type { Kysely, Migration } from 'kysely';

/**
 * Encryption at rest: the key tables, the search index of blind word terms, the master key's fingerprint,
 * and an id on events for their sealed payloads. Values already stored in clear are sealed at start-up by
 * the start-up step in upgrade/: a migration has no keys.
 */
export const encryption: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('server_state').addColumn('master_key_id', 'text').execute();
    // Set once every value stored in clear before this migration has been sealed (crypto needs keys: start-up does it).
    await db.schema.alterTable('server_state').addColumn('plaintext_sealed_at', 'bigint').execute();

    await db.schema
      .createTable('root_keys')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('instance_id', 'text')
      .addColumn('purpose', 'text', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('wrapped', 'text', (c) => c.notNull())
      .addColumn('master_id', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('root_keys_instance_idx').on('root_keys').columns(['instance_id', 'purpose']).execute();

    await db.schema
      .createTable('data_keys')
      .addColumn('owner_id', 'text', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('instance_id', 'text', (c) => c.notNull())
      .addColumn('wrapped', 'text', (c) => c.notNull())
      .addColumn('kek_version', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('data_keys_pk', ['owner_id', 'version'])
      .execute();
    await db.schema.createIndex('data_keys_instance_idx').on('data_keys').column('instance_id').execute();

    await db.schema
      .createTable('message_terms')
      .addColumn('term', 'text', (c) => c.notNull())
      .addColumn('message_id', 'text', (c) => c.notNull().references('messages.id').onDelete('cascade'))
      .addColumn('room_id', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('message_terms_pk', ['term', 'message_id'])
      .execute();
    await db.schema.createIndex('message_terms_message_idx').on('message_terms').column('message_id').execute();

    // Events are a bounded resume window: the old ones (in clear) go; clients that were behind resync.
    await db.deleteFrom('events' as never).execute();
    await db.schema.alterTable('events').addColumn('id', 'text', (c) => c.notNull().defaultTo('')).execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    for (const table of ['message_terms', 'data_keys', 'root_keys']) await db.schema.dropTable(table).ifExists().execute();
  },
};
