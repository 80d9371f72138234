import type { Kysely, Migration } from 'kysely';

/**
 * `accounts.reset_required_at`: when set, the password on record no longer logs in; only a reset does
 * (an admin's or an incident's forced reset, an import made with --reset-required). Nothing else changes.
 */
export const resetRequired: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('accounts').addColumn('reset_required_at', 'bigint').execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('accounts').dropColumn('reset_required_at').execute();
  },
};
