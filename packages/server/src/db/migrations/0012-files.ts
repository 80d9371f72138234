import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Files in rooms and direct chats (docs/decisions/0021), and the Slack import's mapping.
 *
 * A file's bytes live on disk under a random id, encrypted in chunks under a key derived from its room's data
 * key (`key_version` names which version); its name and content type are sealed in `meta` under the room's
 * data key. A message that carries files lists them in `messages.attachments` (sealed JSON; null: none).
 * `instances.file_max_bytes` overrides the server-wide upload limit (FILE_MAX_BYTES) for one instance.
 *
 * `import_mappings` ties an imported thing (a Slack user, channel, message or file) to what the import made
 * of it, so running an import again creates nothing twice.
 */
export const files: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('files')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('instance_id', 'text', (c) => c.notNull())
      .addColumn('room_id', 'text', (c) => c.notNull().references('rooms.id').onDelete('cascade'))
      .addColumn('message_id', 'text', (c) => c.notNull().references('messages.id').onDelete('cascade'))
      .addColumn('uploader_id', 'text', (c) => c.notNull())
      // Sealed JSON under the room's data key: { name, contentType }.
      .addColumn('meta', 'text', (c) => c.notNull())
      .addColumn('key_version', 'integer', (c) => c.notNull())
      .addColumn('size_bytes', 'bigint', (c) => c.notNull())
      // 1 when an encrypted preview (a downscaled image) is stored beside the file.
      .addColumn('has_preview', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('files_message_idx').on('files').column('message_id').execute();
    await db.schema.createIndex('files_room_idx').on('files').column('room_id').execute();

    await db.schema.alterTable('messages').addColumn('attachments', 'text').execute();
    await db.schema.alterTable('instances').addColumn('file_max_bytes', 'bigint').execute();

    await db.schema
      .createTable('import_mappings')
      .addColumn('source', 'text', (c) => c.notNull())
      .addColumn('instance_id', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('source_id', 'text', (c) => c.notNull())
      .addColumn('target_id', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('import_mappings_pk', ['source', 'instance_id', 'kind', 'source_id'])
      .execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    // The files' objects on disk are left as they are: without these rows nothing refers to them.
    await db.schema.dropTable('import_mappings').ifExists().execute();
    await db.schema.dropTable('files').ifExists().execute();
    await sql`alter table messages drop column attachments`.execute(db);
    await sql`alter table instances drop column file_max_bytes`.execute(db);
  },
};
