import type { Kysely, Selectable } from 'kysely';
import type { MessagesTable, Schema } from '../db/index.ts';

export type MessageRow = Selectable<MessagesTable>;
export interface ReactionRow {
  message_id: string;
  account_id: string;
  emoji: string;
}

export const insertMessage = async (db: Kysely<Schema>, row: MessageRow): Promise<void> => {
  await db.insertInto('messages').values(row).execute();
};

export const findMessage = (db: Kysely<Schema>, roomId: string, id: string): Promise<MessageRow | undefined> =>
  db.selectFrom('messages').selectAll().where('room_id', '=', roomId).where('id', '=', id).executeTakeFirst();

/** Keeps the previous body (already sealed for the edit history) and stores the new one (sealed). */
export const replaceMessageBody = async (
  db: Kysely<Schema>,
  messageId: string,
  change: { previousBody: string; body: string; mentions: string; now: number },
): Promise<void> => {
  await db.insertInto('message_edits').values({ message_id: messageId, body: change.previousBody, replaced_at: change.now }).execute();
  await db.updateTable('messages').set({ body: change.body, mentions: change.mentions, edited_at: change.now }).where('id', '=', messageId).execute();
};

/**
 * Leaves a tombstone: the row stays for ordering and threads (its body an empty text, sealed); its words,
 * edits, mentions and reactions go (its search terms: `deleteTerms`).
 */
export const tombstoneMessage = async (db: Kysely<Schema>, id: string, change: { by: string; now: number; emptyBody: string }): Promise<string[]> => {
  await db
    .updateTable('messages')
    .set({ body: change.emptyBody, mentions: '{"accountIds":[],"here":false,"all":false}', attachments: null, deleted_at: change.now, deleted_by: change.by })
    .where('id', '=', id)
    .execute();
  // Its files go with it: the rows here, the encrypted bytes on disk once this commits (the caller's part).
  const files = await db.deleteFrom('files').where('message_id', '=', id).returning('id').execute();
  await db.deleteFrom('message_edits').where('message_id', '=', id).execute();
  await db.deleteFrom('message_mentions').where('message_id', '=', id).execute();
  await db.deleteFrom('reactions').where('message_id', '=', id).execute();
  return files.map((file) => file.id);
};

export const replaceMentions = async (db: Kysely<Schema>, messageId: string, roomId: string, accountIds: string[]): Promise<void> => {
  await db.deleteFrom('message_mentions').where('message_id', '=', messageId).execute();
  if (accountIds.length > 0) {
    await db.insertInto('message_mentions').values(accountIds.map((account_id) => ({ message_id: messageId, room_id: roomId, account_id }))).execute();
  }
};

/** A page of a room's history, oldest first; one extra row tells whether more lie beyond. */
export const listMessages = async (
  db: Kysely<Schema>,
  roomId: string,
  page: { before?: string | undefined; after?: string | undefined; limit: number },
): Promise<{ rows: MessageRow[]; hasMore: boolean }> => {
  let query = db.selectFrom('messages').selectAll().where('room_id', '=', roomId);
  if (page.after !== undefined) {
    query = query.where('id', '>', page.after);
    if (page.before !== undefined) query = query.where('id', '<', page.before);
    const rows = await query.orderBy('id', 'asc').limit(page.limit + 1).execute();
    return { rows: rows.slice(0, page.limit), hasMore: rows.length > page.limit };
  }
  if (page.before !== undefined) query = query.where('id', '<', page.before);
  const rows = await query.orderBy('id', 'desc').limit(page.limit + 1).execute();
  return { rows: rows.slice(0, page.limit).reverse(), hasMore: rows.length > page.limit };
};

export const listReactions = async (db: Kysely<Schema>, messageIds: string[]): Promise<ReactionRow[]> =>
  messageIds.length === 0
    ? []
    : db.selectFrom('reactions').select(['message_id', 'account_id', 'emoji']).where('message_id', 'in', messageIds).orderBy('created_at').orderBy('account_id').execute();

export const insertReaction = async (db: Kysely<Schema>, row: ReactionRow & { created_at: number }): Promise<boolean> => {
  const result = await db
    .insertInto('reactions')
    .values(row)
    .onConflict((oc) => oc.columns(['message_id', 'account_id', 'emoji']).doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
};

export const deleteReaction = async (db: Kysely<Schema>, row: ReactionRow): Promise<boolean> => {
  const result = await db
    .deleteFrom('reactions')
    .where('message_id', '=', row.message_id)
    .where('account_id', '=', row.account_id)
    .where('emoji', '=', row.emoji)
    .executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
};

export const findMessagesInClear = (db: Kysely<Schema>, limit: number): Promise<MessageRow[]> =>
  db.selectFrom('messages').selectAll().where('body', 'not like', 'cv1.%').limit(limit).execute();

export const resealMessage = async (db: Kysely<Schema>, before: MessageRow, body: string): Promise<boolean> => {
  const result = await db.updateTable('messages').set({ body }).where('id', '=', before.id).where('body', '=', before.body).executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
};

export interface EditRow {
  message_id: string;
  room_id: string;
  body: string;
  replaced_at: number;
}

export const findEditsInClear = (db: Kysely<Schema>, limit: number): Promise<EditRow[]> =>
  db
    .selectFrom('message_edits as e')
    .innerJoin('messages as m', 'm.id', 'e.message_id')
    .select(['e.message_id', 'm.room_id', 'e.body', 'e.replaced_at'])
    .where('e.body', 'not like', 'cv1.%')
    .limit(limit)
    .execute();

export const resealEdit = async (db: Kysely<Schema>, before: EditRow, body: string): Promise<void> => {
  await db.updateTable('message_edits').set({ body }).where('message_id', '=', before.message_id).where('replaced_at', '=', before.replaced_at).where('body', '=', before.body).execute();
};
