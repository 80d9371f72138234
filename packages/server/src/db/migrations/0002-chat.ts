import { PostgresAdapter, type Kysely, type Migration } from 'kysely';

/** Rooms (and direct chats), their members, messages with edit history, reactions, mentions, and the event log. */
export const chat: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('rooms')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('instance_id', 'text', (c) => c.notNull().references('instances.id').onDelete('cascade'))
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      // Lower-cased name for rooms; "direct:<a>:<b>" (sorted ids) for direct chats: one per pair.
      .addColumn('name_key', 'text', (c) => c.notNull())
      .addColumn('topic', 'text', (c) => c.notNull())
      .addColumn('privacy', 'text', (c) => c.notNull())
      .addColumn('archived_at', 'bigint')
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addColumn('last_message_at', 'bigint')
      .execute();
    await db.schema.createIndex('rooms_name_key_idx').on('rooms').columns(['instance_id', 'name_key']).unique().execute();

    await db.schema
      .createTable('room_members')
      .addColumn('room_id', 'text', (c) => c.notNull().references('rooms.id').onDelete('cascade'))
      .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('joined_at', 'bigint', (c) => c.notNull())
      .addColumn('last_read_message_id', 'text')
      .addPrimaryKeyConstraint('room_members_pk', ['room_id', 'account_id'])
      .execute();
    await db.schema.createIndex('room_members_account_idx').on('room_members').column('account_id').execute();

    await db.schema
      .createTable('messages')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('room_id', 'text', (c) => c.notNull().references('rooms.id').onDelete('cascade'))
      .addColumn('author_id', 'text', (c) => c.notNull())
      .addColumn('body', 'text', (c) => c.notNull())
      .addColumn('mentions', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('edited_at', 'bigint')
      .addColumn('deleted_at', 'bigint')
      .addColumn('deleted_by', 'text')
      .execute();
    await db.schema.createIndex('messages_room_idx').on('messages').columns(['room_id', 'id']).execute();

    await db.schema
      .createTable('message_edits')
      .addColumn('message_id', 'text', (c) => c.notNull().references('messages.id').onDelete('cascade'))
      .addColumn('body', 'text', (c) => c.notNull())
      .addColumn('replaced_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('message_edits_message_idx').on('message_edits').column('message_id').execute();

    await db.schema
      .createTable('message_mentions')
      .addColumn('message_id', 'text', (c) => c.notNull().references('messages.id').onDelete('cascade'))
      .addColumn('room_id', 'text', (c) => c.notNull())
      .addColumn('account_id', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('message_mentions_pk', ['message_id', 'account_id'])
      .execute();
    await db.schema.createIndex('message_mentions_account_idx').on('message_mentions').columns(['account_id', 'room_id']).execute();

    await db.schema
      .createTable('reactions')
      .addColumn('message_id', 'text', (c) => c.notNull().references('messages.id').onDelete('cascade'))
      .addColumn('account_id', 'text', (c) => c.notNull())
      .addColumn('emoji', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('reactions_pk', ['message_id', 'account_id', 'emoji'])
      .execute();

    // The event log behind resume: written in the transaction that makes the change, published after commit,
    // pruned to a bounded window. seq orders events server-wide.
    const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
    await db.schema
      .createTable('events')
      .addColumn('seq', postgres ? 'bigserial' : 'integer', (c) => (postgres ? c.primaryKey() : c.primaryKey().autoIncrement()))
      .addColumn('instance_id', 'text')
      .addColumn('room_id', 'text')
      .addColumn('account_id', 'text')
      .addColumn('audience', 'text', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    for (const table of ['events', 'reactions', 'message_mentions', 'message_edits', 'messages', 'room_members', 'rooms']) {
      await db.schema.dropTable(table).ifExists().execute();
    }
  },
};
