export { openDatabase, SQLITE_FILE, type Database, type Engine, type OpenDatabaseOptions } from './connection.ts';
export { migrateToLatest, pendingMigrations, MigrationError } from './migrate.ts';
export type * from './schema.ts';
export { isUniqueViolation } from './errors.ts';
