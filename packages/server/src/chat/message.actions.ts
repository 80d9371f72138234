import type { Attachment, HistoryQuery, Message, MessageVia } from '@conclave/protocol';
import type { Kysely } from 'kysely';
import type { Schema } from '../db/index.ts';
import { LIMITS } from '@conclave/protocol';
import type { AppContext } from '../context.ts';
import { newId } from '../crypto/index.ts';
import { AppError } from '../errors.ts';
import type { Actor } from '../identity/index.ts';
import { roleAtLeast } from '../instances/index.ts';
import { presentMessage } from './chat.presenter.ts';
import { resolveMentions } from './mentions.ts';
import { openMessage, openVia, sealAttachments, sealBody, sealEditedBody, sealVia } from './message.seal.ts';
import { blindTerms } from './message.terms.ts';
import {
  deleteReaction,
  findMessage,
  insertMessage,
  insertReaction,
  listMessages,
  listReactions,
  replaceMentions,
  replaceMessageBody,
  tombstoneMessage,
  type MessageRow,
} from './message.queries.ts';
import { accessRoom, type RoomAccess } from './room.access.ts';
import { recordRoomRead } from './room.audit.ts';
import { deleteTerms, replaceTerms } from './search.queries.ts';
import { commitWithEvents, roomAudience } from './room.actions.ts';
import { listRoomMemberNames, touchRoomLastMessage } from './room.queries.ts';
import { openDisplayName } from '../identity/index.ts';

const loadMessage = async (ctx: AppContext, roomId: string, messageId: string): Promise<MessageRow> => {
  const message = await findMessage(ctx.database.db, roomId, messageId);
  if (!message) throw new AppError('MESSAGE_NOT_FOUND');
  return message;
};

const withReactions = async (ctx: AppContext, row: MessageRow): Promise<Message> => presentMessage(row, await listReactions(ctx.database.db, [row.id]));


const memberNames = async (ctx: AppContext, roomId: string) =>
  (await listRoomMemberNames(ctx.database.db, roomId)).map((m) => ({ account_id: m.account_id, display_name: openDisplayName(ctx.keyring, m.account_id, m.display_name) }));

const NO_MENTIONS = { accountIds: [], here: false, all: false };

/** Most messages mention nobody: without an @ there is no need to load the room's members. */
const mentionsFor = async (ctx: AppContext, access: RoomAccess, body: string, authorId: string) =>
  body.includes('@') ? resolveMentions(body, authorId, await memberNames(ctx, access.room.id), (id) => ctx.presence.isOnline(id)) : NO_MENTIONS;

/**
 * Files a message carries (docs/decisions/0021): their metadata for the message, and the write of their rows,
 * run in the message's transaction (their encrypted bytes are already on disk under their ids).
 */
export interface MessageFiles {
  attachments: Attachment[];
  insert: (trx: Kysely<Schema>, messageId: string, now: number) => Promise<void>;
}

export interface PostOptions {
  /** The name an incoming webhook posted under (decision 0020); a bot's own messages carry its name without it. */
  via?: MessageVia | undefined;
  /** Files the message carries. */
  files?: MessageFiles | undefined;
  /** The room's access, when the caller already checked it (an upload checks before it stores the bytes). */
  access?: RoomAccess | undefined;
}

/**
 * Posts a message. When this returns, the message is committed: it survives a crash of the process. A bot's
 * message, or one an incoming webhook posts as its bot (`via`), carries the name it was posted under.
 */
export const postMessage = async (ctx: AppContext, actor: Actor, roomId: string, body: string, options: PostOptions = {}): Promise<Message> => {
  const { files } = options;
  const access = options.access ?? (await accessRoom(ctx, actor, roomId, 'post'));
  const shownVia: MessageVia | undefined =
    options.via ?? (actor.account.bot_owner_id !== null ? { kind: 'bot', id: actor.account.id, name: actor.account.display_name } : undefined);
  const viaJson = shownVia === undefined ? null : JSON.stringify(shownVia);
  const mentions = await mentionsFor(ctx, access, body, actor.account.id);
  const terms = blindTerms(access.instanceKeys, body);
  return commitWithEvents(ctx, async (trx, now) => {
    const row: MessageRow = {
      id: newId(now),
      room_id: access.room.id,
      author_id: actor.account.id,
      body,
      mentions: JSON.stringify(mentions),
      created_at: now,
      edited_at: null,
      deleted_at: null,
      deleted_by: null,
      via: viaJson,
      attachments: files ? JSON.stringify(files.attachments) : null,
    };
    await insertMessage(trx, {
      ...row,
      body: sealBody(access.keys, row.id, body),
      via: sealVia(access.keys, row.id, viaJson),
      attachments: sealAttachments(access.keys, row.id, files?.attachments ?? []),
    });
    if (files) await files.insert(trx, row.id, now);
    if (mentions.accountIds.length > 0) await replaceMentions(trx, row.id, row.room_id, mentions.accountIds);
    await touchRoomLastMessage(trx, row.room_id, now);
    const message = presentMessage(row, []);
    return { result: message, events: [{ event: { type: 'message.created', roomId: row.room_id, message }, audience: roomAudience(access.room) }] };
  }).then((message) => {
    // Committed: its words go to the search index off this path (search flushes before it looks).
    ctx.searchIndexer.enqueue({ messageId: message.id, roomId: message.roomId, terms });
    ctx.metrics.messagePosted();
    return message;
  });
};

export const editMessage = async (ctx: AppContext, actor: Actor, roomId: string, messageId: string, body: string): Promise<Message> => {
  const access = await accessRoom(ctx, actor, roomId, 'post');
  const existing = await loadMessage(ctx, access.room.id, messageId);
  if (existing.author_id !== actor.account.id) throw new AppError('NOT_MESSAGE_AUTHOR');
  if (existing.deleted_at !== null) throw new AppError('MESSAGE_DELETED');
  const mentions = await mentionsFor(ctx, access, body, actor.account.id);
  const terms = blindTerms(access.instanceKeys, body);
  const keys = await ctx.keyring.owner(access.room.id, [existing.body, existing.via, existing.attachments]);
  const opened = openMessage(keys, existing);
  const previous = opened.body;
  // The post's own terms may still wait in the indexer: they land first, then the edit replaces them.
  await ctx.searchIndexer.flush();
  return commitWithEvents(ctx, async (trx, now) => {
    const mentionsJson = JSON.stringify(mentions);
    await replaceMessageBody(trx, existing.id, {
      previousBody: sealEditedBody(keys, existing.id, now, previous),
      body: sealBody(keys, existing.id, body),
      mentions: mentionsJson,
      now,
    });
    await replaceTerms({ db: trx, engine: ctx.database.engine }, { messageId: existing.id, roomId: existing.room_id, terms });
    await replaceMentions(trx, existing.id, existing.room_id, mentions.accountIds);
    const message = presentMessage({ ...opened, body, mentions: mentionsJson, edited_at: now }, await listReactions(trx, [existing.id]));
    return { result: message, events: [{ event: { type: 'message.updated', roomId: existing.room_id, message }, audience: roomAudience(access.room) }] };
  });
};

/** The author, the room's owner or an instance admin deletes; a tombstone stays in the history. */
export const deleteMessage = async (ctx: AppContext, actor: Actor, roomId: string, messageId: string): Promise<Message> => {
  const access = await accessRoom(ctx, actor, roomId, 'read');
  const existing = await loadMessage(ctx, access.room.id, messageId);
  const isAuthor = existing.author_id === actor.account.id && access.member !== undefined;
  const isModerator = access.member?.role === 'owner' || roleAtLeast(access.instanceRole, 'admin');
  if (!isAuthor && !isModerator) throw new AppError('FORBIDDEN', { message: 'Only the author, the room\'s owner or an admin can delete a message.' });
  if (access.room.archived_at !== null) throw new AppError('ROOM_ARCHIVED');
  const via = openVia(await ctx.keyring.owner(access.room.id, existing.via === null ? [] : [existing.via]), existing);
  if (existing.deleted_at !== null) return presentMessage({ ...existing, body: '', via }, []);
  await ctx.searchIndexer.flush();
  let fileIds: string[] = [];
  const deleted = await commitWithEvents(ctx, async (trx, now) => {
    fileIds = await tombstoneMessage(trx, existing.id, { by: actor.account.id, now, emptyBody: sealBody(access.keys, existing.id, '') });
    await deleteTerms({ db: trx, engine: ctx.database.engine }, existing.id);
    const message = presentMessage({ ...existing, body: '', via, mentions: '{"accountIds":[],"here":false,"all":false}', attachments: null, deleted_at: now, deleted_by: actor.account.id }, []);
    return { result: message, events: [{ event: { type: 'message.deleted', roomId: existing.room_id, message }, audience: roomAudience(access.room) }] };
  });
  // Committed: the files' encrypted bytes go too (a crash before this leaves only unreadable orphans).
  await ctx.fileStore.remove(fileIds);
  return deleted;
};

export const setReaction = async (ctx: AppContext, actor: Actor, roomId: string, messageId: string, emoji: string, present: boolean): Promise<void> => {
  const access = await accessRoom(ctx, actor, roomId, 'post');
  const message = await loadMessage(ctx, access.room.id, messageId);
  if (message.deleted_at !== null) throw new AppError('MESSAGE_DELETED');
  const key = { message_id: message.id, account_id: actor.account.id, emoji };
  await commitWithEvents(ctx, async (trx, now) => {
    const changed = present ? await insertReaction(trx, { ...key, created_at: now }) : await deleteReaction(trx, key);
    if (!changed) return { result: undefined, events: [] };
    return {
      result: undefined,
      events: [
        {
          event: { type: present ? 'reaction.added' : 'reaction.removed', roomId: message.room_id, messageId: message.id, emoji, accountId: actor.account.id },
          audience: roomAudience(access.room),
        },
      ],
    };
  });
};

export const readHistory = async (ctx: AppContext, actor: Actor, roomId: string, query: HistoryQuery): Promise<{ messages: Message[]; hasMore: boolean }> => {
  const access = await accessRoom(ctx, actor, roomId, 'read');
  const page = await listMessages(ctx.database.db, access.room.id, { before: query.before, after: query.after, limit: query.limit ?? LIMITS.historyPageDefault });
  const reactions = await listReactions(ctx.database.db, page.rows.map((r) => r.id));
  const keys = await ctx.keyring.owner(access.room.id, page.rows.flatMap((r) => [r.body, r.attachments]));
  const messages = page.rows.map((row) => presentMessage(openMessage(keys, row), reactions));
  await recordRoomRead(ctx, actor, access.room, { kind: 'history', count: messages.length, first: messages[0]?.id ?? null, last: messages.at(-1)?.id ?? null });
  return { messages, hasMore: page.hasMore };
};

export const readMessage = async (ctx: AppContext, actor: Actor, roomId: string, messageId: string): Promise<Message> => {
  const access = await accessRoom(ctx, actor, roomId, 'read');
  const row = await loadMessage(ctx, access.room.id, messageId);
  const message = await withReactions(ctx, openMessage(await ctx.keyring.owner(access.room.id, [row.body, row.attachments]), row));
  await recordRoomRead(ctx, actor, access.room, { kind: 'message', first: message.id, last: message.id, count: 1 });
  return message;
};
