import { Type, type Static } from 'typebox';
import { LIMITS } from '../limits.ts';
import { Id, MULTI_LINE_PATTERN, SINGLE_LINE_PATTERN, SingleLine, Timestamp } from './common.ts';

export const RoomName = SingleLine({ minLength: 1, maxLength: LIMITS.roomNameMaxLength, description: 'Unique in the instance, ignoring case.' });
export const RoomTopic = SingleLine({ maxLength: LIMITS.roomTopicMaxLength });
export const Privacy = Type.Union([Type.Literal('public'), Type.Literal('private')]);
export type Privacy = 'public' | 'private';

export const Room = Type.Object({
  id: Id,
  instanceId: Id,
  kind: Type.Union([Type.Literal('room'), Type.Literal('direct')]),
  name: Type.String({ description: 'Empty for a direct chat; show the other person instead.' }),
  topic: Type.String(),
  privacy: Privacy,
  archived: Type.Boolean(),
  createdBy: Id,
  createdAt: Timestamp,
  memberCount: Type.Integer(),
  directAccountIds: Type.Optional(Type.Array(Id)),
});
export type Room = Static<typeof Room>;

export const MyRoom = Type.Intersect([
  Room,
  Type.Object({
    role: Type.Union([Type.Literal('owner'), Type.Literal('member')]),
    unreadCount: Type.Integer(),
    mentionCount: Type.Integer(),
    lastReadMessageId: Type.Union([Id, Type.Null()]),
    lastMessageAt: Type.Union([Timestamp, Type.Null()]),
  }),
]);
export type MyRoom = Static<typeof MyRoom>;

export const RoomList = Type.Object({ rooms: Type.Array(MyRoom) });
export const RoomDirectory = Type.Object({ rooms: Type.Array(Room) });

export const CreateRoomRequest = Type.Object(
  { name: RoomName, topic: Type.Optional(RoomTopic), privacy: Type.Optional(Privacy) },
  { additionalProperties: false },
);
export type CreateRoomRequest = Static<typeof CreateRoomRequest>;

export const UpdateRoomRequest = Type.Object(
  { name: Type.Optional(RoomName), topic: Type.Optional(RoomTopic) },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateRoomRequest = Static<typeof UpdateRoomRequest>;

export const RoomParams = Type.Object({ roomId: Id }, { additionalProperties: false });
export const RoomMemberParams = Type.Object({ roomId: Id, accountId: Id }, { additionalProperties: false });
export const MessageParams = Type.Object({ roomId: Id, messageId: Id }, { additionalProperties: false });

export const Emoji = Type.String({ pattern: '^[^\\p{Cc}\\p{Cs}\\s/\\\\]+$', minLength: 1, maxLength: LIMITS.emojiMaxLength, description: 'A Unicode emoji or a :shortcode:.' });
export const ReactionParams = Type.Object({ roomId: Id, messageId: Id, emoji: Emoji }, { additionalProperties: false });

export const AddRoomMemberRequest = Type.Object({ accountId: Id }, { additionalProperties: false });
export const DirectChatRequest = Type.Object({ accountId: Id }, { additionalProperties: false });

export const MessageBody = Type.String({ pattern: MULTI_LINE_PATTERN, minLength: 1, maxLength: LIMITS.messageMaxLength, description: 'Up to 10,000 characters; tabs and newlines allowed.' });

export const Mentions = Type.Object({
  accountIds: Type.Array(Id, { description: 'Everyone the message notifies, @here and @all resolved.' }),
  here: Type.Boolean(),
  all: Type.Boolean(),
});
export type Mentions = Static<typeof Mentions>;

export const Reaction = Type.Object({ emoji: Type.String(), accountIds: Type.Array(Id) });

/** A message an integration posted: the name it posted under, beside its bot account (the author). */
export const MessageVia = Type.Object({
  kind: Type.Union([Type.Literal('webhook'), Type.Literal('bot')]),
  id: Id,
  name: Type.String({ description: 'The name shown for this message (a webhook\'s username, or the bot\'s name).' }),
  icon: Type.Optional(Type.String({ description: 'An emoji shortcode (:robot_face:) or an image URL the sender asked for.' })),
});
export type MessageVia = Static<typeof MessageVia>;
export const Attachment = Type.Object({
  id: Id,
  name: Type.String({ description: 'The name it was uploaded with.' }),
  contentType: Type.String({ description: 'Checked against the content: a file that is not what it claims is application/octet-stream.' }),
  sizeBytes: Type.Integer(),
  hasPreview: Type.Boolean({ description: 'GET …/files/:fileId/preview answers a small image.' }),
});
export type Attachment = Static<typeof Attachment>;

export const Message = Type.Object({
  id: Id,
  roomId: Id,
  authorId: Id,
  body: Type.String({ description: 'Empty once deleted.' }),
  createdAt: Timestamp,
  editedAt: Type.Union([Timestamp, Type.Null()]),
  deleted: Type.Boolean(),
  mentions: Mentions,
  reactions: Type.Array(Reaction),
  via: Type.Optional(MessageVia),
  attachments: Type.Array(Attachment, { description: 'Files the message carries: GET /api/v1/rooms/:roomId/files/:fileId. Empty once deleted.' }),
});
export type Message = Static<typeof Message>;

export const FileParams = Type.Object({ roomId: Id, fileId: Id }, { additionalProperties: false });

export const PostMessageRequest = Type.Object({ body: MessageBody }, { additionalProperties: false });
export const EditMessageRequest = Type.Object({ body: MessageBody }, { additionalProperties: false });

export const HistoryQuery = Type.Object(
  {
    before: Type.Optional(Id),
    after: Type.Optional(Id),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: LIMITS.historyPageMax })),
  },
  { additionalProperties: false },
);
export type HistoryQuery = Static<typeof HistoryQuery>;

export const HistoryPage = Type.Object({
  messages: Type.Array(Message, { description: 'Oldest first.' }),
  hasMore: Type.Boolean({ description: 'More messages lie beyond this page in the direction asked.' }),
});

export const ReadMarkerRequest = Type.Object({ messageId: Id }, { additionalProperties: false });

export const Snapshot = Type.Object({
  seq: Type.Integer({ description: 'Apply stream events with a greater seq on top of this snapshot.' }),
  rooms: Type.Array(MyRoom),
  messages: Type.Record(Type.String(), HistoryPage, { description: 'The latest messages of each room, by room id.' }),
});
export type Snapshot = Static<typeof Snapshot>;

export const SearchQuery = Type.Object(
  {
    q: Type.String({ pattern: SINGLE_LINE_PATTERN, minLength: 1, maxLength: LIMITS.searchQueryMaxLength, description: 'Words that must all appear (case, accents and punctuation ignored).' }),
    instanceId: Type.Optional(Id),
    roomId: Type.Optional(Id),
    before: Type.Optional(Id),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: LIMITS.searchPageMax })),
  },
  { additionalProperties: false },
);
export type SearchQuery = Static<typeof SearchQuery>;

export const SearchHit = Type.Object({
  message: Message,
  room: Type.Object({ id: Id, instanceId: Id, kind: Type.Union([Type.Literal('room'), Type.Literal('direct')]), name: Type.String() }),
});
export type SearchHit = Static<typeof SearchHit>;

export const SearchResults = Type.Object({
  results: Type.Array(SearchHit, { description: 'Newest first.' }),
  hasMore: Type.Boolean({ description: 'Older matches remain: ask again with before = the last message id.' }),
});
