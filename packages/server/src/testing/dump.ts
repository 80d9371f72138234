import { sql } from 'kysely';
import type { TestApp } from './test-app.ts';

/** Every row of every table, as text: what a stolen database or backup would hold. */
export const dumpDatabase = async (t: TestApp): Promise<string> => {
  const db = t.ctx.database.db;
  const tables =
    t.engine === 'sqlite'
      ? (await sql<{ name: string }>`select name from sqlite_master where type = 'table'`.execute(db)).rows.map((r) => r.name)
      : (await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = current_schema()`.execute(db)).rows.map((r) => r.name);
  if (!tables.includes('accounts') || !tables.includes('messages')) throw new Error(`the dump found no Conclave tables: ${tables.join(', ')}`);
  let dump = '';
  for (const table of tables) dump += `${table}\n${JSON.stringify((await sql`select * from ${sql.table(table)}`.execute(db)).rows)}\n`;
  return dump;
};
