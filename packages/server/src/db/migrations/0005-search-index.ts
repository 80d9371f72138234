import { SqliteAdapter, sql, type Kysely, type Migration } from 'kysely';

/**
 * On SQLite, search terms move from a B-tree table (one row per word of a message, inserted at random
 * places: ~0.8 ms of writing per message at 1,000 posts/s) into an FTS5 index, which appends segments and
 * merges them later (decision 0011). PostgreSQL keeps `message_terms`.
 *
 * - `message_search`: contentless FTS5 over each message's terms as hex tokens (opaque keyed HMACs, never
 *   a word); it stores nothing but the index.
 * - `message_search_rows`: each index row's message and room (appended in time order); deleting it (with
 *   its message, by cascade) deletes the index row.
 */
export const searchIndex: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    if (!(db.getExecutor().adapter instanceof SqliteAdapter)) return;
    await sql`create virtual table message_search using fts5(terms, content='', contentless_delete=1, detail=none, tokenize='ascii')`.execute(db);
    await sql`create table message_search_rows (search_rowid integer primary key, message_id text not null unique references messages(id) on delete cascade, room_id text not null)`.execute(db);
    await sql`create trigger message_search_rows_delete after delete on message_search_rows begin delete from message_search where rowid = old.search_rowid; end`.execute(db);

    // Carry the terms over, a message at a time, in id order (the index's row order is its time order).
    let after = '';
    for (;;) {
      const rows = (
        await sql<{ message_id: string; room_id: string; terms: string }>`
          select message_id, room_id, group_concat(term, ' ') as terms from message_terms
          where message_id in (select distinct message_id from message_terms where message_id > ${after} order by message_id limit 1000)
          group by message_id, room_id order by message_id`.execute(db)
      ).rows;
      const last = rows.at(-1);
      if (!last) break;
      for (const row of rows) {
        const tokens = row.terms.split(' ').map((term) => Buffer.from(term, 'base64url').toString('hex'));
        const inserted = await sql`insert into message_search_rows (message_id, room_id) values (${row.message_id}, ${row.room_id})`.execute(db);
        await sql`insert into message_search (rowid, terms) values (${inserted.insertId}, ${tokens.join(' ')})`.execute(db);
      }
      after = last.message_id;
    }
    await sql`drop table message_terms`.execute(db);
  },

  async down(db: Kysely<unknown>): Promise<void> {
    if (!(db.getExecutor().adapter instanceof SqliteAdapter)) return;
    await sql`drop table if exists message_search_rows`.execute(db);
    await sql`drop table if exists message_search`.execute(db);
  },
};
