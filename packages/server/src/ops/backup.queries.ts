import { sql, type Kysely } from 'kysely';
import type { Schema } from '../db/index.ts';

/** Kysely's bookkeeping table: the migrations applied, by name. */
export const listAppliedMigrations = async (db: Kysely<Schema>): Promise<string[]> =>
  (await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db)).rows.map((row) => row.name);

/** PostgreSQL: the connection's current schema (null when no schema on its search_path exists) and the server's version. */
export const findPgLocation = async (db: Kysely<Schema>): Promise<{ schema: string | null; serverVersion: string }> => {
  const row = (await sql<{ schema: string | null; version: string }>`select current_schema() as schema, current_setting('server_version') as version`.execute(db)).rows[0];
  return { schema: row?.schema ?? null, serverVersion: row?.version ?? 'unknown' };
};

export const pgSchemaExists = async (db: Kysely<Schema>, schema: string): Promise<boolean> =>
  (await sql<{ found: number }>`select 1 as found from pg_namespace where nspname = ${schema}`.execute(db)).rows.length > 0;

/** Tables, views and sequences in a schema: an empty schema has none. */
export const countPgRelations = async (db: Kysely<Schema>, schema: string): Promise<number> =>
  Number(
    (await sql<{ count: string | number }>`select count(*) as count from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = ${schema} and c.relkind in ('r', 'v', 'm', 'S', 'p', 'f')`.execute(db)).rows[0]?.count ?? 0,
  );

export const createPgSchema = async (db: Kysely<Schema>, schema: string): Promise<void> => {
  await sql`create schema ${sql.id(schema)}`.execute(db);
};

export const dropEmptyPgSchema = async (db: Kysely<Schema>, schema: string): Promise<void> => {
  await sql`drop schema if exists ${sql.id(schema)} restrict`.execute(db);
};

/** SQLite: the quick integrity check ("ok" or the problems). */
export const sqliteQuickCheck = async (db: Kysely<Schema>): Promise<string[]> =>
  (await sql<{ quick_check: string }>`pragma quick_check`.execute(db)).rows.map((row) => row.quick_check);
