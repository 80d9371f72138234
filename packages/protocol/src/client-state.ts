import type { ChatEvent } from './events.ts';
import type { Message, MyRoom, Room, Snapshot } from './schemas/chat.ts';

/**
 * What a client knows: its rooms and their recent messages. Built from a snapshot, then kept current by
 * applying stream events in seq order. Every step is idempotent, so an event that the snapshot already
 * reflected changes nothing.
 */
export interface ClientState {
  accountId: string;
  seq: number;
  rooms: Record<string, MyRoom>;
  messages: Record<string, { messages: Message[]; hasMore: boolean }>;
}

export const stateFromSnapshot = (accountId: string, snapshot: Snapshot): ClientState => ({
  accountId,
  seq: snapshot.seq,
  rooms: Object.fromEntries(snapshot.rooms.map((room) => [room.id, room])),
  messages: Object.fromEntries(Object.entries(snapshot.messages).map(([id, page]) => [id, { messages: [...page.messages], hasMore: page.hasMore }])),
});

const isUnreadFor = (accountId: string, lastRead: string | null) => (m: Message) => !m.deleted && m.authorId !== accountId && (lastRead === null || m.id > lastRead);

/**
 * Recounts unread and mention counts from the messages held, when they cover everything since the read
 * marker. When they do not (a room joined with history not yet loaded), a new message from someone else
 * counts one more instead.
 */
const recount = (state: ClientState, roomId: string, created?: Message): void => {
  const room = state.rooms[roomId];
  const page = state.messages[roomId];
  if (!room || !page) return;
  if (page.hasMore) {
    if (created && isUnreadFor(state.accountId, room.lastReadMessageId)(created)) {
      state.rooms[roomId] = { ...room, unreadCount: room.unreadCount + 1, mentionCount: room.mentionCount + (created.mentions.accountIds.includes(state.accountId) ? 1 : 0) };
    }
    return;
  }
  const unread = page.messages.filter(isUnreadFor(state.accountId, room.lastReadMessageId));
  state.rooms[roomId] = { ...room, unreadCount: unread.length, mentionCount: unread.filter((m) => m.mentions.accountIds.includes(state.accountId)).length };
};

const upsertMessage = (state: ClientState, message: Message): void => {
  const page = state.messages[message.roomId] ?? { messages: [], hasMore: false };
  const index = page.messages.findIndex((m) => m.id === message.id);
  const messages = [...page.messages];
  if (index >= 0) messages[index] = message;
  else {
    messages.push(message);
    messages.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
  state.messages[message.roomId] = { ...page, messages };
};

const withRoom = (state: ClientState, room: Room): void => {
  const mine = state.rooms[room.id];
  if (mine) state.rooms[room.id] = { ...mine, ...room };
};

export const applyEvent = (previous: ClientState, event: ChatEvent): ClientState => {
  if (event.seq <= previous.seq) return previous;
  const state: ClientState = { ...previous, seq: event.seq, rooms: { ...previous.rooms }, messages: { ...previous.messages } };
  switch (event.type) {
    case 'message.created': {
      upsertMessage(state, event.message);
      const room = state.rooms[event.roomId];
      if (room && (room.lastMessageAt === null || event.message.createdAt > room.lastMessageAt)) {
        state.rooms[event.roomId] = { ...room, lastMessageAt: event.message.createdAt };
      }
      recount(state, event.roomId, event.message);
      break;
    }
    case 'message.updated':
    case 'message.deleted':
      upsertMessage(state, event.message);
      recount(state, event.roomId);
      break;
    case 'reaction.added':
    case 'reaction.removed': {
      const page = state.messages[event.roomId];
      const message = page?.messages.find((m) => m.id === event.messageId);
      if (!page || !message) break;
      const reactions = message.reactions.map((r) => ({ emoji: r.emoji, accountIds: [...r.accountIds] }));
      let reaction = reactions.find((r) => r.emoji === event.emoji);
      if (event.type === 'reaction.added') {
        if (!reaction) reactions.push((reaction = { emoji: event.emoji, accountIds: [] }));
        if (!reaction.accountIds.includes(event.accountId)) reaction.accountIds.push(event.accountId);
      } else if (reaction) {
        reaction.accountIds = reaction.accountIds.filter((id) => id !== event.accountId);
      }
      upsertMessage(state, { ...message, reactions: reactions.filter((r) => r.accountIds.length > 0) });
      break;
    }
    case 'room.created':
      if (event.memberIds.includes(state.accountId) && !state.rooms[event.room.id]) {
        const role = event.room.kind === 'room' && event.room.createdBy === state.accountId ? 'owner' : 'member';
        state.rooms[event.room.id] = { ...event.room, role, unreadCount: 0, mentionCount: 0, lastReadMessageId: null, lastMessageAt: null };
        state.messages[event.room.id] = { messages: [], hasMore: false };
      } else withRoom(state, event.room);
      break;
    case 'room.updated':
    case 'room.archived':
      withRoom(state, event.room);
      break;
    case 'member.joined':
      if (event.accountId === state.accountId && !state.rooms[event.roomId]) {
        state.rooms[event.roomId] = { ...event.room, role: 'member', unreadCount: 0, mentionCount: 0, lastReadMessageId: null, lastMessageAt: null };
        // History from before the join is not held yet: counts grow from here until it is loaded.
        state.messages[event.roomId] ??= { messages: [], hasMore: true };
      } else withRoom(state, event.room);
      break;
    case 'member.left':
      if (event.accountId === state.accountId) {
        delete state.rooms[event.roomId];
        delete state.messages[event.roomId];
      } else withRoom(state, event.room);
      break;
    case 'read.updated': {
      const room = state.rooms[event.roomId];
      if (room && event.accountId === state.accountId) {
        state.rooms[event.roomId] = { ...room, lastReadMessageId: event.messageId };
        recount(state, event.roomId);
      }
      break;
    }
  }
  return state;
};
