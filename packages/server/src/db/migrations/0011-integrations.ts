import type { Kysely, Migration } from 'kysely';

/**
 * Integrations (docs/decisions/0020): bots, incoming webhooks, outgoing webhooks and their delivery queue.
 *
 * - `accounts.bot_owner_id`: set for a bot account (the instance admin who owns it); such an account never
 *   logs in with a password and acts only through its API tokens.
 * - `messages.via`: a message posted by an integration, sealed JSON { kind, id, name, icon } (the room's data
 *   key): the name the hook or bot posted under, shown beside the bot account that is its author.
 * - `incoming_hooks`: one room's secret URL; the token is stored only as SHA-256, the name sealed.
 * - `outgoing_hooks`: a room's subscriptions; target URL and signing secret sealed (instance data key).
 * - `hook_deliveries`: the durable delivery queue and its log, claimed with leases like the mail outbox.
 */
export const integrations: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('accounts').addColumn('bot_owner_id', 'text').execute();
    await db.schema.alterTable('messages').addColumn('via', 'text').execute();

    await db.schema
      .createTable('incoming_hooks')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('instance_id', 'text', (c) => c.notNull().references('instances.id').onDelete('cascade'))
      .addColumn('room_id', 'text', (c) => c.notNull().references('rooms.id').onDelete('cascade'))
      .addColumn('bot_account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('token_hash', 'text', (c) => c.notNull().unique())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('last_used_at', 'bigint')
      .addColumn('revoked_at', 'bigint')
      .execute();
    await db.schema.createIndex('incoming_hooks_room_idx').on('incoming_hooks').column('room_id').execute();

    await db.schema
      .createTable('outgoing_hooks')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('instance_id', 'text', (c) => c.notNull().references('instances.id').onDelete('cascade'))
      .addColumn('room_id', 'text', (c) => c.notNull().references('rooms.id').onDelete('cascade'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('target', 'text', (c) => c.notNull())
      .addColumn('events', 'text', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('revoked_at', 'bigint')
      .execute();
    await db.schema.createIndex('outgoing_hooks_room_idx').on('outgoing_hooks').column('room_id').execute();

    await db.schema
      .createTable('hook_deliveries')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('hook_id', 'text', (c) => c.notNull().references('outgoing_hooks.id').onDelete('cascade'))
      .addColumn('room_id', 'text', (c) => c.notNull())
      .addColumn('event_type', 'text', (c) => c.notNull())
      .addColumn('event_seq', 'bigint', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
      .addColumn('claimed_by', 'text')
      .addColumn('claimed_at', 'bigint')
      .addColumn('last_status_code', 'integer')
      .addColumn('last_error', 'text')
      .addColumn('last_latency_ms', 'integer')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addColumn('delivered_at', 'bigint')
      .execute();
    await db.schema.createIndex('hook_deliveries_due_idx').on('hook_deliveries').columns(['status', 'next_attempt_at']).execute();
    await db.schema.createIndex('hook_deliveries_hook_idx').on('hook_deliveries').columns(['hook_id', 'created_at']).execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    for (const table of ['hook_deliveries', 'outgoing_hooks', 'incoming_hooks']) await db.schema.dropTable(table).ifExists().execute();
    await db.schema.alterTable('messages').dropColumn('via').execute();
    await db.schema.alterTable('accounts').dropColumn('bot_owner_id').execute();
  },
};
