import { Migrator, sql, type MigrationResultSet } from 'kysely';
import type { Database } from './connection.ts';
import { MIGRATIONS } from './migrations/index.ts';

export class MigrationError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MigrationError';
  }
}

/**
 * On PostgreSQL the migration bookkeeping tables are pinned to the connection's current schema: left
 * unqualified, Kysely looks for them in every schema and skips creating them when another schema in the
 * same database (a second install, a test) already has them.
 */
const migratorFor = async (database: Database): Promise<Migrator> => {
  let migrationTableSchema: string | undefined;
  if (database.engine === 'postgres') {
    const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(database.db);
    migrationTableSchema = rows[0]?.schema;
  }
  return new Migrator({
    db: database.db,
    provider: { getMigrations: async () => MIGRATIONS },
    ...(migrationTableSchema ? { migrationTableSchema } : {}),
  });
};

/**
 * Brings the schema up to date. Kysely takes a lock first (an advisory lock on PostgreSQL; SQLite's
 * writer lock), so several nodes starting together apply each migration once.
 */
export const migrateToLatest = async (database: Database): Promise<string[]> => {
  const result: MigrationResultSet = await (await migratorFor(database)).migrateToLatest();
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error');
    throw new MigrationError(`Migration ${failed?.migrationName ?? '(unknown)'} failed: ${String((result.error as Error).message ?? result.error)}`, { cause: result.error });
  }
  return (result.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
};

/** Migrations known to the code but not yet applied to the database. */
export const pendingMigrations = async (database: Database): Promise<string[]> => {
  const migrations = await (await migratorFor(database)).getMigrations();
  return migrations.filter((m) => m.executedAt === undefined).map((m) => m.name);
};
