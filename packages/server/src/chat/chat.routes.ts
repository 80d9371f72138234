import {
  AddRoomMemberRequest,
  CreateRoomRequest,
  DirectChatRequest,
  EditMessageRequest,
  ErrorBody,
  HistoryPage,
  HistoryQuery,
  InstanceParams,
  LIMITS,
  MemberParams,
  Message,
  MessageParams,
  PostMessageRequest,
  ReactionParams,
  ReadMarkerRequest,
  Room,
  RoomDirectory,
  RoomList,
  RoomMemberParams,
  RoomParams,
  Snapshot,
  UpdateRoomRequest,
} from '@conclave/protocol';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { AppContext } from '../context.ts';
import { AppError } from '../errors.ts';
import { actorOf, createAuthGuard } from '../http/auth-guard.ts';
import type { App } from '../http/types.ts';
import { accessInstance } from '../instances/index.ts';
import { currentSeq } from '../realtime/index.ts';
import { presentMyRoom, presentRoom } from './chat.presenter.ts';
import { deleteMessage, editMessage, postMessage, readHistory, readMessage, setReaction } from './message.actions.ts';
import { accessRoom } from './room.access.ts';
import {
  addRoomMember,
  createRoom,
  joinRoom,
  leaveRoom,
  listRoomDirectory,
  listRoomsOf,
  markRead,
  openDirectChat,
  removeFromInstance,
  removeRoomMember,
  setRoomArchived,
  updateRoom,
} from './room.actions.ts';
import { countRoomMembers } from './room.queries.ts';

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody, 429: ErrorBody };
const noContent = { 204: Type.Null(), ...errors };

export const registerChatRoutes = (app: App, ctx: AppContext): void => {
  // API tokens: reading needs the read scope; posting, editing, reacting and changing rooms the write scope.
  const reading = { preHandler: [createAuthGuard(ctx, { scope: 'read' })] };
  const writeGuard = createAuthGuard(ctx, { scope: 'write' });
  const writing = { preHandler: [writeGuard] };

  // Flood control after HipChat's: so many messages per person per room per window.
  const floodCheck = app.createRateLimit({
    max: ctx.config.messageRateLimit.max,
    timeWindow: ctx.config.messageRateLimit.windowMs,
    keyGenerator: (request: FastifyRequest) => `flood:${request.actor?.account.id ?? '-'}:${(request.params as { roomId?: string }).roomId ?? '-'}`,
  });
  const floodControl = async (request: FastifyRequest): Promise<void> => {
    const result = await floodCheck(request);
    if (!result.isAllowed && result.isExceeded) {
      throw new AppError('MESSAGE_RATE_LIMITED', { headers: { 'retry-after': String(result.ttlInSeconds) } });
    }
  };

  app.get(
    '/api/v1/instances/:instanceId/rooms',
    { schema: { tags: ['rooms'], summary: 'The rooms and direct chats you are in, with unread and mention counts', params: InstanceParams, response: { 200: RoomList, ...errors } }, ...reading },
    async (request) => {
      const { instance } = await accessInstance(ctx, actorOf(request), request.params.instanceId);
      return { rooms: (await listRoomsOf(ctx, actorOf(request).account.id, instance.id)).map(presentMyRoom) };
    },
  );

  app.get(
    '/api/v1/instances/:instanceId/rooms/directory',
    { schema: { tags: ['rooms'], summary: 'Public rooms of the instance, joined or not', params: InstanceParams, response: { 200: RoomDirectory, ...errors } }, ...reading },
    async (request) => {
      const { instance } = await accessInstance(ctx, actorOf(request), request.params.instanceId);
      return { rooms: (await listRoomDirectory(ctx, instance.id)).map((row) => presentRoom(row, row.member_count)) };
    },
  );

  app.post(
    '/api/v1/instances/:instanceId/rooms',
    { schema: { tags: ['rooms'], summary: 'Create a room; you become its owner', params: InstanceParams, body: CreateRoomRequest, response: { 201: Room, ...errors } }, ...writing },
    async (request, reply) => reply.code(201).send(await createRoom(ctx, actorOf(request), request.params.instanceId, request.body)),
  );

  app.post(
    '/api/v1/instances/:instanceId/direct',
    { schema: { tags: ['rooms'], summary: 'Open (or find) the direct chat with another member', params: InstanceParams, body: DirectChatRequest, response: { 200: Room, 201: Room, ...errors } }, ...writing },
    async (request, reply) => {
      const { room, created } = await openDirectChat(ctx, actorOf(request), request.params.instanceId, request.body.accountId);
      return reply.code(created ? 201 : 200).send(room);
    },
  );

  app.get('/api/v1/rooms/:roomId', { schema: { tags: ['rooms'], summary: 'A room', params: RoomParams, response: { 200: Room, ...errors } }, ...reading }, async (request) => {
    const { room } = await accessRoom(ctx, actorOf(request), request.params.roomId);
    return presentRoom(room, await countRoomMembers(ctx.database.db, room.id));
  });

  app.patch(
    '/api/v1/rooms/:roomId',
    { schema: { tags: ['rooms'], summary: 'Rename a room or change its topic (owner or admin)', params: RoomParams, body: UpdateRoomRequest, response: { 200: Room, ...errors } }, ...writing },
    async (request) => updateRoom(ctx, actorOf(request), request.params.roomId, request.body),
  );

  for (const [path, archived] of [['archive', true], ['unarchive', false]] as const) {
    app.post(
      `/api/v1/rooms/:roomId/${path}`,
      { schema: { tags: ['rooms'], summary: `${archived ? 'Archive' : 'Unarchive'} a room (owner or admin)`, params: RoomParams, response: { 200: Room, ...errors } }, ...writing },
      async (request) => setRoomArchived(ctx, actorOf(request), request.params.roomId, archived),
    );
  }

  app.post('/api/v1/rooms/:roomId/join', { schema: { tags: ['rooms'], summary: 'Join a public room', params: RoomParams, response: noContent }, ...writing }, async (request, reply) => {
    await joinRoom(ctx, actorOf(request), request.params.roomId);
    return reply.code(204).send(null);
  });

  app.post('/api/v1/rooms/:roomId/leave', { schema: { tags: ['rooms'], summary: 'Leave a room', params: RoomParams, response: noContent }, ...writing }, async (request, reply) => {
    await leaveRoom(ctx, actorOf(request), request.params.roomId);
    return reply.code(204).send(null);
  });

  app.post(
    '/api/v1/rooms/:roomId/members',
    { schema: { tags: ['rooms'], summary: 'Add a member of the instance to the room', params: RoomParams, body: AddRoomMemberRequest, response: noContent }, ...writing },
    async (request, reply) => {
      await addRoomMember(ctx, actorOf(request), request.params.roomId, request.body.accountId);
      return reply.code(204).send(null);
    },
  );

  app.delete(
    '/api/v1/rooms/:roomId/members/:accountId',
    { schema: { tags: ['rooms'], summary: 'Remove someone (owner or admin), or yourself', params: RoomMemberParams, response: noContent }, ...writing },
    async (request, reply) => {
      await removeRoomMember(ctx, actorOf(request), request.params.roomId, request.params.accountId);
      return reply.code(204).send(null);
    },
  );

  app.delete(
    '/api/v1/instances/:instanceId/members/:accountId',
    {
      schema: { tags: ['instances'], summary: 'Remove someone from the instance (admins; an owner by owners): they leave its rooms, their sockets there close', params: MemberParams, response: noContent },
      preHandler: [createAuthGuard(ctx, { scope: 'admin' })],
    },
    async (request, reply) => {
      await removeFromInstance(ctx, actorOf(request), request.params.instanceId, request.params.accountId);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/v1/rooms/:roomId/messages',
    { schema: { tags: ['messages'], summary: `History, oldest first; before/after a message id, at most ${LIMITS.historyPageMax} a page`, params: RoomParams, querystring: HistoryQuery, response: { 200: HistoryPage, ...errors } }, ...reading },
    async (request) => readHistory(ctx, actorOf(request), request.params.roomId, request.query),
  );

  app.post(
    '/api/v1/rooms/:roomId/messages',
    {
      schema: { tags: ['messages'], summary: 'Post a message; 201 means it is stored', params: RoomParams, body: PostMessageRequest, response: { 201: Message, ...errors } },
      preHandler: [writeGuard, floodControl],
    },
    async (request, reply) => reply.code(201).send(await postMessage(ctx, actorOf(request), request.params.roomId, request.body.body)),
  );

  app.get(
    '/api/v1/rooms/:roomId/messages/:messageId',
    { schema: { tags: ['messages'], summary: 'One message', params: MessageParams, response: { 200: Message, ...errors } }, ...reading },
    async (request) => readMessage(ctx, actorOf(request), request.params.roomId, request.params.messageId),
  );

  app.patch(
    '/api/v1/rooms/:roomId/messages/:messageId',
    { schema: { tags: ['messages'], summary: 'Edit your message', params: MessageParams, body: EditMessageRequest, response: { 200: Message, ...errors } }, ...writing },
    async (request) => editMessage(ctx, actorOf(request), request.params.roomId, request.params.messageId, request.body.body),
  );

  app.delete(
    '/api/v1/rooms/:roomId/messages/:messageId',
    { schema: { tags: ['messages'], summary: 'Delete a message (author, room owner or admin); a tombstone stays', params: MessageParams, response: { 200: Message, ...errors } }, ...writing },
    async (request) => deleteMessage(ctx, actorOf(request), request.params.roomId, request.params.messageId),
  );

  for (const [method, present] of [['put', true], ['delete', false]] as const) {
    app[method](
      '/api/v1/rooms/:roomId/messages/:messageId/reactions/:emoji',
      { schema: { tags: ['messages'], summary: present ? 'React with an emoji' : 'Take your reaction back', params: ReactionParams, response: noContent }, ...writing },
      async (request, reply) => {
        await setReaction(ctx, actorOf(request), request.params.roomId, request.params.messageId, request.params.emoji, present);
        return reply.code(204).send(null);
      },
    );
  }

  app.post(
    '/api/v1/rooms/:roomId/read',
    { schema: { tags: ['messages'], summary: 'Move your read marker forward', params: RoomParams, body: ReadMarkerRequest, response: noContent }, ...writing },
    async (request, reply) => {
      await markRead(ctx, actorOf(request), request.params.roomId, request.body.messageId);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/v1/snapshot',
    { schema: { tags: ['realtime'], summary: 'Your rooms and their latest messages, with the seq to resume the stream from', response: { 200: Snapshot, ...errors } }, ...reading },
    async (request) => {
      const actor = actorOf(request);
      // Read the seq first: events after it may already be in the state below; applying them again is harmless.
      const seq = await currentSeq(ctx.database.db);
      const all = await listRoomsOf(ctx, actor.account.id);
      // Instances this session may still enter, checked once each (not once per room).
      const enterable = new Set<string>();
      for (const instanceId of new Set(all.map((row) => row.instance_id))) {
        try {
          await accessInstance(ctx, actor, instanceId);
          enterable.add(instanceId);
        } catch {
          // an instance this session may no longer enter
        }
      }
      const rooms = all.filter((row) => enterable.has(row.instance_id));
      const messages: Record<string, { messages: Message[]; hasMore: boolean }> = {};
      for (const row of rooms) messages[row.id] = await readHistory(ctx, actor, row.id, { limit: LIMITS.historyPageDefault });
      return { seq, rooms: rooms.map(presentMyRoom), messages };
    },
  );
};
