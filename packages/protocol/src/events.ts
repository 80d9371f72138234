import type { Message, MyRoom, Room } from './schemas/chat.ts';

/** Events the server sends on /api/v1/stream. Durable events carry `seq` (server-wide order, for resume). */
export type ChatEvent =
  | { type: 'message.created'; seq: number; roomId: string; message: Message }
  | { type: 'message.updated'; seq: number; roomId: string; message: Message }
  | { type: 'message.deleted'; seq: number; roomId: string; message: Message }
  | { type: 'reaction.added'; seq: number; roomId: string; messageId: string; emoji: string; accountId: string }
  | { type: 'reaction.removed'; seq: number; roomId: string; messageId: string; emoji: string; accountId: string }
  | { type: 'room.created'; seq: number; room: Room; memberIds: string[] }
  | { type: 'room.updated'; seq: number; room: Room }
  | { type: 'room.archived'; seq: number; room: Room }
  | { type: 'member.joined'; seq: number; roomId: string; accountId: string; room: Room }
  | { type: 'member.left'; seq: number; roomId: string; accountId: string; room: Room }
  | { type: 'read.updated'; seq: number; roomId: string; accountId: string; messageId: string };

export type DurableEventType = ChatEvent['type'];

/** Events with no seq: not stored, not replayed. */
export type EphemeralEvent =
  | { type: 'typing'; roomId: string; accountId: string }
  /**
   * Presence of the people this socket subscribed to (`presence.subscribe`): their current status at once,
   * then changes, batched at most once a second.
   */
  | { type: 'presence'; changes: Array<{ accountId: string; status: PresenceStatus }> };

export type PresenceStatus = 'online' | 'away' | 'offline';

/** Control frames of the stream itself. */
export type ControlFrame =
  | { type: 'ready'; seq: number; resumed: boolean; accountId: string }
  | { type: 'resync'; reason: string }
  | { type: 'session.revoked'; reason: string }
  | { type: 'error'; code: string; message: string }
  | { type: 'pong' };

export type ServerFrame = ChatEvent | EphemeralEvent | ControlFrame;

/** Frames a client may send. */
export type ClientFrame =
  | { type: 'auth'; token: string }
  | { type: 'typing'; roomId: string }
  | { type: 'presence'; status: 'online' | 'away' }
  /** Whose presence to receive (replaces the previous list); at most PRESENCE_SUBSCRIPTION_MAX people. */
  | { type: 'presence.subscribe'; accountIds: string[] }
  | { type: 'ping' };

/** A client shows a few hundred people at most; presence for everyone in a large instance does not scale. */
export const PRESENCE_SUBSCRIPTION_MAX = 500;

/** WebSocket close codes Conclave uses (4000–4999 are the application's). */
export const STREAM_CLOSE = {
  normal: 1000,
  goingAway: 1001,
  unsupportedData: 1003,
  policy: 1008,
  tooBig: 1009,
  unauthenticated: 4001,
  sessionRevoked: 4003,
  slowConsumer: 4008,
  authTimeout: 4010,
} as const;

export type { Message, MyRoom, Room };
