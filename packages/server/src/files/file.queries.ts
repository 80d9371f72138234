import type { Kysely, Selectable } from 'kysely';
import type { FilesTable, Schema } from '../db/index.ts';

export type FileRow = Selectable<FilesTable>;

export const insertFile = async (db: Kysely<Schema>, row: FileRow): Promise<void> => {
  await db.insertInto('files').values(row).execute();
};

export const findFile = async (db: Kysely<Schema>, roomId: string, fileId: string): Promise<FileRow | undefined> => {
  const row = await db.selectFrom('files').selectAll().where('room_id', '=', roomId).where('id', '=', fileId).executeTakeFirst();
  return row ? { ...row, size_bytes: Number(row.size_bytes), created_at: Number(row.created_at) } : undefined;
};

/** The instance's own upload limit, or null for the server's. */
export const findInstanceFileLimit = async (db: Kysely<Schema>, instanceId: string): Promise<number | null> => {
  const row = await db.selectFrom('instances').select('file_max_bytes').where('id', '=', instanceId).executeTakeFirst();
  return row?.file_max_bytes === null || row?.file_max_bytes === undefined ? null : Number(row.file_max_bytes);
};

export const setInstanceFileLimit = async (db: Kysely<Schema>, instanceId: string, maxBytes: number | null): Promise<boolean> => {
  const result = await db.updateTable('instances').set({ file_max_bytes: maxBytes }).where('id', '=', instanceId).executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
};
