import type { Attachment } from '@conclave/protocol';
import { LIMITS } from '@conclave/protocol';
import type { Kysely } from 'kysely';
import type { AppContext } from '../context.ts';
import { newId } from '../crypto/index.ts';
import type { Schema } from '../db/index.ts';
import { resolveMentions } from './mentions.ts';
import { insertMessage, insertReaction, replaceMentions } from './message.queries.ts';
import { sealAttachments, sealBody } from './message.seal.ts';
import { blindTerms } from './message.terms.ts';
import { findRoomByNameKey, insertRoom, insertRoomMember, touchRoomLastMessage, type RoomRow } from './room.queries.ts';
import { sealRoomName, sealRoomTopic } from './room.seal.ts';

/**
 * Writes for imports (`conclave import slack`): rooms, members and messages as they were elsewhere, with their
 * original times. Same sealing, search terms and mentions as live posts; no live events (clients catch up
 * from their next snapshot). The caller keeps the mapping that makes a second run write nothing twice.
 */

/** A room for an imported channel: its name, or the name with "-imported" (then a number) when taken. */
export const importRoom = async (
  ctx: AppContext,
  input: { instanceId: string; name: string; topic: string; createdBy: string; createdAt: number; onWrite?: (trx: Kysely<Schema>, roomId: string) => Promise<void> },
): Promise<{ id: string; name: string }> => {
  const keys = await ctx.keyring.instance(input.instanceId);
  const base = input.name.trim().slice(0, LIMITS.roomNameMaxLength - 12) || 'imported';
  let name = base;
  for (let n = 1; await findRoomByNameKey(ctx.database.db, input.instanceId, keys.roomNameKey(name)); n += 1) name = `${base}-imported${n > 1 ? `-${n}` : ''}`;
  const id = newId(input.createdAt);
  const roomKey = await ctx.keyring.prepareRoom(input.instanceId, id, ctx.now());
  const topic = input.topic.trim().slice(0, LIMITS.roomTopicMaxLength);
  await ctx.database.db.transaction().execute(async (trx) => {
    const row: RoomRow = {
      id,
      instance_id: input.instanceId,
      kind: 'room',
      name: sealRoomName(keys, id, name),
      name_key: keys.roomNameKey(name),
      topic: sealRoomTopic(keys, id, topic),
      privacy: 'public',
      archived_at: null,
      created_by: input.createdBy,
      created_at: input.createdAt,
      updated_at: ctx.now(),
      last_message_at: null,
    };
    await insertRoom(trx, row);
    await roomKey.save(trx);
    await insertRoomMember(trx, { room_id: id, account_id: input.createdBy, role: 'owner', joined_at: input.createdAt, last_read_message_id: null });
    await input.onWrite?.(trx, id);
  });
  await ctx.audit.record({ action: 'room.create', instanceId: input.instanceId, roomId: id, detail: { via: 'import' } });
  return { id, name };
};

export const addImportedMembers = async (ctx: AppContext, roomId: string, accountIds: Iterable<string>, joinedAt: number): Promise<void> => {
  await ctx.database.db.transaction().execute(async (trx) => {
    for (const accountId of accountIds) await insertRoomMember(trx, { room_id: roomId, account_id: accountId, role: 'member', joined_at: joinedAt, last_read_message_id: null });
  });
};

export interface ImportedMessage {
  room: { id: string; instance_id: string };
  authorId: string;
  body: string;
  createdAt: number;
  /** The id's own time: keeps imported messages in their export order where several share a millisecond. */
  idAt: number;
  reactions: Array<{ emoji: string; accountIds: string[] }>;
  members: Array<{ account_id: string; display_name: string }>;
  files?: { attachments: Attachment[]; insert: (trx: Kysely<Schema>, messageId: string) => Promise<void> };
  onWrite?: (trx: Kysely<Schema>, messageId: string) => Promise<void>;
}

export const importMessage = async (ctx: AppContext, input: ImportedMessage): Promise<string> => {
  const keys = await ctx.keyring.owner(input.room.id);
  const instanceKeys = await ctx.keyring.instance(input.room.instance_id);
  const body = input.body.slice(0, LIMITS.messageMaxLength);
  const mentions = body.includes('@') ? resolveMentions(body, input.authorId, input.members, () => false) : { accountIds: [], here: false, all: false };
  const id = newId(input.idAt);
  await ctx.database.db.transaction().execute(async (trx) => {
    await insertMessage(trx, {
      id,
      room_id: input.room.id,
      author_id: input.authorId,
      body: sealBody(keys, id, body),
      mentions: JSON.stringify(mentions),
      created_at: input.createdAt,
      edited_at: null,
      deleted_at: null,
      via: null,
      deleted_by: null,
      attachments: sealAttachments(keys, id, input.files?.attachments ?? []),
    });
    if (mentions.accountIds.length > 0) await replaceMentions(trx, id, input.room.id, mentions.accountIds);
    for (const reaction of input.reactions) {
      for (const accountId of reaction.accountIds) await insertReaction(trx, { message_id: id, account_id: accountId, emoji: reaction.emoji, created_at: input.createdAt });
    }
    await input.files?.insert(trx, id);
    await input.onWrite?.(trx, id);
    await touchRoomLastMessage(trx, input.room.id, input.createdAt);
  });
  ctx.searchIndexer.enqueue({ messageId: id, roomId: input.room.id, terms: blindTerms(instanceKeys, body) });
  return id;
};
