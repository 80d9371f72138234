import { Migrator, type MigrationResultSet } from 'kysely';
import type { Database } from './connection.ts';
import { MIGRATIONS } from './migrations/index.ts';

export class MigrationError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MigrationError';
  }
}

const migratorFor = (database: Database): Migrator =>
  new Migrator({
    db: database.db,
    provider: { getMigrations: async () => MIGRATIONS },
  });

/**
 * Brings the schema up to date. Kysely takes a lock first (an advisory lock on PostgreSQL; SQLite's
 * writer lock), so several nodes starting together apply each migration once.
 */
export const migrateToLatest = async (database: Database): Promise<string[]> => {
  const result: MigrationResultSet = await migratorFor(database).migrateToLatest();
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error');
    throw new MigrationError(`Migration ${failed?.migrationName ?? '(unknown)'} failed: ${String((result.error as Error).message ?? result.error)}`, { cause: result.error });
  }
  return (result.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
};

/** Migrations known to the code but not yet applied to the database. */
export const pendingMigrations = async (database: Database): Promise<string[]> => {
  const migrations = await migratorFor(database).getMigrations();
  return migrations.filter((m) => m.executedAt === undefined).map((m) => m.name);
};
