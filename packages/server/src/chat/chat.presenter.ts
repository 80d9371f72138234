import type { Attachment, Message, MessageVia, Mentions, MyRoom, Room } from '@conclave/protocol';
import { iso } from '../identity/index.ts';
import type { MessageRow, ReactionRow } from './message.queries.ts';
import type { MyRoomRow, RoomRow } from './room.queries.ts';

export const directAccountIds = (room: RoomRow): string[] | undefined =>
  room.kind === 'direct' ? room.name_key.slice('direct:'.length).split(':') : undefined;

export const presentRoom = (row: RoomRow, memberCount: number): Room => {
  const direct = directAccountIds(row);
  return {
    id: row.id,
    instanceId: row.instance_id,
    kind: row.kind,
    name: row.name,
    topic: row.topic,
    privacy: row.privacy,
    archived: row.archived_at !== null,
    createdBy: row.created_by,
    createdAt: iso(row.created_at),
    memberCount,
    ...(direct ? { directAccountIds: direct } : {}),
  };
};

export const presentMyRoom = (row: MyRoomRow): MyRoom => ({
  ...presentRoom(row, row.member_count),
  role: row.role,
  unreadCount: row.unread_count,
  mentionCount: row.mention_count,
  lastReadMessageId: row.last_read_message_id,
  lastMessageAt: row.last_message_at === null ? null : iso(row.last_message_at),
});

export const presentMessage = (row: MessageRow, reactions: ReactionRow[]): Message => {
  const grouped = new Map<string, string[]>();
  for (const reaction of reactions) {
    if (reaction.message_id !== row.id) continue;
    grouped.set(reaction.emoji, [...(grouped.get(reaction.emoji) ?? []), reaction.account_id]);
  }
  return {
    id: row.id,
    roomId: row.room_id,
    authorId: row.author_id,
    body: row.body,
    createdAt: iso(row.created_at),
    editedAt: row.edited_at === null ? null : iso(row.edited_at),
    deleted: row.deleted_at !== null,
    mentions: JSON.parse(row.mentions) as Mentions,
    reactions: [...grouped].map(([emoji, accountIds]) => ({ emoji, accountIds })),
    // Opened before it gets here (openMessage); absent for people's own messages.
    ...(typeof row.via === 'string' ? { via: JSON.parse(row.via) as MessageVia } : {}),
    // Opened (openMessage) before it is presented; a deleted message carries none.
    attachments: typeof row.attachments !== 'string' || row.deleted_at !== null ? [] : (JSON.parse(row.attachments) as Attachment[]),
  };
};
