import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql, type DatabaseIntrospector } from 'kysely';
import pg from 'pg';
import { CurrentSchemaIntrospector } from './pg-introspector.ts';
import type { Schema } from './schema.ts';
import { withStatementCache } from './statement-cache.ts';

export type Engine = 'sqlite' | 'postgres';

export interface Database {
  db: Kysely<Schema>;
  engine: Engine;
  /** Where the data is, for messages: the SQLite file or the PostgreSQL host and database (no password). */
  location: string;
  /** The PostgreSQL schema it was opened on, when not the URL's own (worker threads open the same). */
  pgSchema?: string | undefined;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  databaseUrl?: string | undefined;
  dataDir: string;
  sqliteSynchronous?: 'full' | 'normal';
  /** PostgreSQL schema to use instead of public (tests isolate themselves this way). */
  pgSchema?: string;
  pgPoolSize?: number;
}

// Millisecond timestamps are int8 in PostgreSQL; they fit a JavaScript number exactly.
pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value));

export const SQLITE_FILE = 'conclave.db';

/** PostgreSQL, introspecting only the connection's current schema (see CurrentSchemaIntrospector). */
class ConclavePostgresDialect extends PostgresDialect {
  override createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new CurrentSchemaIntrospector(db);
  }
}

const describePg = (url: string): string => {
  const parsed = new URL(url);
  return `postgres://${parsed.hostname}:${parsed.port || '5432'}${parsed.pathname}`;
};

export const openDatabase = async (options: OpenDatabaseOptions): Promise<Database> => {
  if (options.databaseUrl) {
    const pool = new pg.Pool({
      connectionString: options.databaseUrl,
      max: options.pgPoolSize ?? 10,
      ...(options.pgSchema ? { options: `-c search_path=${options.pgSchema}` } : {}),
    });
    // An idle client that errors (server restart) must not crash the process; the next query reconnects.
    pool.on('error', () => undefined);
    const db = new Kysely<Schema>({ dialect: new ConclavePostgresDialect({ pool }) });
    return {
      db,
      engine: 'postgres',
      location: describePg(options.databaseUrl),
      pgSchema: options.pgSchema,
      ping: async () => {
        await sql`select 1`.execute(db);
      },
      close: () => db.destroy(),
    };
  }

  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  const file = join(options.dataDir, SQLITE_FILE);
  const sqlite = new SQLite(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma(`synchronous = ${options.sqliteSynchronous === 'full' ? 'FULL' : 'NORMAL'}`);
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  return {
    db,
    engine: 'sqlite',
    location: file,
    ping: async () => {
      await sql`select 1`.execute(db);
    },
    close: () => db.destroy(),
  };
};
