import type { Kysely, Migration } from 'kysely';

/**
 * Two-factor authentication (TOTP, RFC 6238), decision 0013.
 *
 * - `two_factor`: one row per account that started a setup. `secret` is sealed under the server's data key,
 *   bound to the account id; `enabled_at` is null while the setup awaits its confirming code. `last_used_step`
 *   is the newest 30-second step a code was accepted for (a code is never accepted twice), and
 *   `failed_attempts` / `failures_since` count wrong codes in the current window (the per-account limit).
 * - `two_factor_recovery_codes`: SHA-256 of each recovery code, never the code; `used_at` once it was used.
 * - `login_challenges`: the second step of a log-in, by SHA-256 of its token; deleted when used.
 * - `accounts.two_factor_enabled_at`: whether 2FA is on, read with the account on every request (the
 *   instances' requirement is checked without another query).
 * - `instances.two_factor_required`: 'off' | 'admins' | 'everyone'.
 */
export const twoFactor: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('accounts').addColumn('two_factor_enabled_at', 'bigint').execute();
    await db.schema.alterTable('instances').addColumn('two_factor_required', 'text', (c) => c.notNull().defaultTo('off')).execute();

    await db.schema
      .createTable('two_factor')
      .addColumn('account_id', 'text', (c) => c.primaryKey().references('accounts.id').onDelete('cascade'))
      .addColumn('secret', 'text', (c) => c.notNull())
      .addColumn('enabled_at', 'bigint')
      .addColumn('last_used_step', 'bigint')
      .addColumn('failed_attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('failures_since', 'bigint')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('two_factor_recovery_codes')
      .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
      .addColumn('code_hash', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('used_at', 'bigint')
      .addPrimaryKeyConstraint('two_factor_recovery_codes_pk', ['account_id', 'code_hash'])
      .execute();

    await db.schema
      .createTable('login_challenges')
      .addColumn('token_hash', 'text', (c) => c.primaryKey())
      .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('login_challenges_account_idx').on('login_challenges').column('account_id').execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    for (const table of ['login_challenges', 'two_factor_recovery_codes', 'two_factor']) await db.schema.dropTable(table).ifExists().execute();
    await db.schema.alterTable('instances').dropColumn('two_factor_required').execute();
    await db.schema.alterTable('accounts').dropColumn('two_factor_enabled_at').execute();
  },
};
