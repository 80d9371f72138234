import type { Kysely, Migration } from 'kysely';

/**
 * Sessions people can inspect, a per-membership credential epoch, and personal API tokens.
 *
 * - `sessions.ip`, `sessions.user_agent`: where and with what a session logged in, sealed under the server's
 *   data key (bound to the session id); null for sessions from before this migration.
 * - `memberships.not_before`: an instance admin ends one person's access to the instance (their sessions and
 *   tokens older than this) without touching their other instances.
 * - `api_tokens`: personal tokens, stored as SHA-256 only; the name is sealed like a person's other words.
 */
export const sessionsAndTokens: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('sessions').addColumn('ip', 'text').execute();
    await db.schema.alterTable('sessions').addColumn('user_agent', 'text').execute();
    await db.schema.alterTable('memberships').addColumn('not_before', 'bigint', (c) => c.notNull().defaultTo(0)).execute();

    await db.schema
      .createTable('api_tokens')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('token_hash', 'text', (c) => c.notNull().unique())
      .addColumn('scopes', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('last_used_at', 'bigint')
      .addColumn('expires_at', 'bigint')
      .execute();
    await db.schema.createIndex('api_tokens_account_idx').on('api_tokens').column('account_id').execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('api_tokens').ifExists().execute();
    await db.schema.alterTable('memberships').dropColumn('not_before').execute();
    await db.schema.alterTable('sessions').dropColumn('user_agent').execute();
    await db.schema.alterTable('sessions').dropColumn('ip').execute();
  },
};
