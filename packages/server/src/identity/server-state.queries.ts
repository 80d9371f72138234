import type { Kysely, Selectable, Updateable } from 'kysely';
import type { Schema, ServerStateTable } from '../db/index.ts';

export type ServerStateRow = Selectable<ServerStateTable>;

export const findServerState = (db: Kysely<Schema>): Promise<ServerStateRow> =>
  db.selectFrom('server_state').selectAll().where('id', '=', 1).executeTakeFirstOrThrow();

export const updateServerState = async (db: Kysely<Schema>, patch: Updateable<ServerStateTable>): Promise<void> => {
  await db.updateTable('server_state').set(patch).where('id', '=', 1).execute();
};
