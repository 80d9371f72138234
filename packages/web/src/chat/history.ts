import type { ClientState, Message, MyRoom, Room } from '@conclave/protocol';

const byId = (a: Message, b: Message): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * Merges messages into a room's page, once each: a message already held is replaced by the copy given
 * (the newer state of it), never shown twice. Ids are UUIDv7, so their order is the order of posting.
 * `olderRemain` replaces hasMore when the messages came from a page of older history.
 */
export const mergeMessages = (state: ClientState, roomId: string, messages: Message[], olderRemain?: boolean): ClientState => {
  const page = state.messages[roomId] ?? { messages: [], hasMore: false };
  const merged = new Map(page.messages.map((m) => [m.id, m]));
  for (const message of messages) merged.set(message.id, message);
  return {
    ...state,
    messages: {
      ...state.messages,
      [roomId]: { messages: [...merged.values()].sort(byId), hasMore: olderRemain ?? page.hasMore },
    },
  };
};

/** A room this person just created or opened, before its event arrives (the event then changes nothing). */
export const withNewRoom = (state: ClientState, room: Room, role: MyRoom['role']): ClientState =>
  state.rooms[room.id]
    ? state
    : {
        ...state,
        rooms: { ...state.rooms, [room.id]: { ...room, role, unreadCount: 0, mentionCount: 0, lastReadMessageId: null, lastMessageAt: null } },
        messages: { ...state.messages, [room.id]: state.messages[room.id] ?? { messages: [], hasMore: false } },
      };

/** The read marker moved here, before its event: counts drop at once. */
export const withReadMarker = (state: ClientState, roomId: string, messageId: string): ClientState => {
  const room = state.rooms[roomId];
  if (!room || (room.lastReadMessageId !== null && room.lastReadMessageId >= messageId)) return state;
  return { ...state, rooms: { ...state.rooms, [roomId]: { ...room, lastReadMessageId: messageId, unreadCount: 0, mentionCount: 0 } } };
};

/** The newest message of a room that someone else wrote and this person has not read, if any. */
export const newestUnread = (state: ClientState, roomId: string): string | undefined => {
  const room = state.rooms[roomId];
  const newest = state.messages[roomId]?.messages.at(-1);
  if (!room || !newest) return undefined;
  return room.lastReadMessageId === null || newest.id > room.lastReadMessageId ? newest.id : undefined;
};
