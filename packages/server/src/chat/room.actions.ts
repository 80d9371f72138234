import type { CreateRoomRequest, Room, UpdateRoomRequest } from '@conclave/protocol';
import type { Kysely } from 'kysely';
import type { AuditInput } from '../audit/index.ts';
import type { AppContext } from '../context.ts';
import { newId } from '../crypto/index.ts';
import { isUniqueViolation, type Schema } from '../db/index.ts';
import { AppError } from '../errors.ts';
import { auditActor, type Actor } from '../identity/index.ts';
import { accessInstance, assertMemberRemovable, deleteMember, findMembership } from '../instances/index.ts';
import { publishCommitted, recordEvents, type Audience, type PendingEvent } from '../realtime/index.ts';
import { presentRoom } from './chat.presenter.ts';
import { openRoom, openRooms, sealRoomName, sealRoomTopic } from './room.seal.ts';
import { findMessage } from './message.queries.ts';
import { accessRoom, assertCanManage } from './room.access.ts';
import {
  countRoomMembers,
  deleteRoomMember,
  findRoomByNameKey,
  insertRoom,
  insertRoomMember,
  listMyRooms,
  listPublicRooms,
  setReadMarker,
  updateRoomFields,
  type RoomRow,
} from './room.queries.ts';


/** The room's members hear about its messages; a public room's name and state concern the whole instance. */
export const roomAudience = (room: RoomRow): Audience => ({ kind: 'room', roomId: room.id, instanceId: room.instance_id });
const roomStateAudience = (room: RoomRow): Audience =>
  room.privacy === 'public' && room.kind === 'room' ? { kind: 'instance', instanceId: room.instance_id } : roomAudience(room);

const presentWithCount = async (db: Kysely<Schema>, room: RoomRow): Promise<Room> => presentRoom(room, await countRoomMembers(db, room.id));

/**
 * Runs writes and their events in one transaction; publishes the events once it has committed, then records
 * the audit entry (administrative actions) before answering.
 */
export const commitWithEvents = async <T>(
  ctx: AppContext,
  work: (trx: Kysely<Schema>, now: number) => Promise<{ result: T; events: PendingEvent[] }>,
  audit?: AuditInput,
): Promise<T> => {
  const { result, messages } = await ctx.database.db.transaction().execute(async (trx) => {
    const now = ctx.now();
    const done = await work(trx, now);
    const messages = await recordEvents(trx, ctx.keyring, done.events, now);
    if (messages.length > 0) {
      const events = messages.flatMap((m) => (m.kind === 'event' ? [m.event] : []));
      for (const tap of ctx.eventTaps) await tap(trx, events, now);
    }
    return { result: done.result, messages };
  });
  await publishCommitted(ctx, messages);
  if (audit) await ctx.audit.record(audit);
  return result;
};

export const createRoom = async (ctx: AppContext, actor: Actor, instanceId: string, input: CreateRoomRequest): Promise<Room> => {
  const { instance } = await accessInstance(ctx, actor, instanceId);
  const instanceKeys = await ctx.keyring.instance(instance.id);
  const roomId = newId(ctx.now());
  const roomKey = await ctx.keyring.prepareRoom(instance.id, roomId, ctx.now());
  try {
    return await commitWithEvents(ctx, async (trx, now) => {
      const room: RoomRow = {
        id: roomId,
        instance_id: instance.id,
        kind: 'room',
        name: input.name.trim(),
        name_key: instanceKeys.roomNameKey(input.name),
        topic: (input.topic ?? '').trim(),
        privacy: input.privacy ?? 'public',
        archived_at: null,
        created_by: actor.account.id,
        created_at: now,
        updated_at: now,
        last_message_at: null,
      };
      await insertRoom(trx, { ...room, name: sealRoomName(instanceKeys, room.id, room.name), topic: sealRoomTopic(instanceKeys, room.id, room.topic) });
      await roomKey.save(trx);
      await insertRoomMember(trx, { room_id: room.id, account_id: actor.account.id, role: 'owner', joined_at: now, last_read_message_id: null });
      const presented = presentRoom(room, 1);
      return {
        result: presented,
        events: [{ event: { type: 'room.created', room: presented, memberIds: [actor.account.id] }, audience: roomStateAudience(room), subjectId: actor.account.id }],
      };
    }, { action: 'room.create', instanceId: instance.id, roomId, ...auditActor(actor) });
  } catch (error) {
    if (isUniqueViolation(error)) throw new AppError('ROOM_NAME_TAKEN');
    throw error;
  }
};

export const updateRoom = async (ctx: AppContext, actor: Actor, roomId: string, input: UpdateRoomRequest): Promise<Room> => {
  const access = await accessRoom(ctx, actor, roomId, 'read');
  const { room } = access;
  if (room.kind === 'direct') throw new AppError('DIRECT_CHAT_FIXED', { message: 'A direct chat has no name or topic to change.' });
  assertCanManage(access);
  const keys = access.instanceKeys;
  const patch = {
    ...(input.name !== undefined ? { name: input.name.trim(), name_key: keys.roomNameKey(input.name) } : {}),
    ...(input.topic !== undefined ? { topic: input.topic.trim() } : {}),
  };
  const sealedPatch = {
    ...patch,
    ...(patch.name !== undefined ? { name: sealRoomName(keys, room.id, patch.name) } : {}),
    ...(patch.topic !== undefined ? { topic: sealRoomTopic(keys, room.id, patch.topic) } : {}),
  };
  try {
    return await commitWithEvents(ctx, async (trx, now) => {
      await updateRoomFields(trx, room.id, sealedPatch, now);
      const updated = await presentWithCount(trx, { ...room, ...patch, updated_at: now });
      return { result: updated, events: [{ event: { type: 'room.updated', room: updated }, audience: roomStateAudience(room) }] };
    }, { action: 'room.update', instanceId: room.instance_id, roomId: room.id, ...auditActor(actor), detail: { fields: Object.keys(patch).filter((k) => k !== 'name_key').sort() } });
  } catch (error) {
    if (isUniqueViolation(error)) throw new AppError('ROOM_NAME_TAKEN');
    throw error;
  }
};

export const setRoomArchived = async (ctx: AppContext, actor: Actor, roomId: string, archived: boolean): Promise<Room> => {
  const access = await accessRoom(ctx, actor, roomId, 'read');
  const { room } = access;
  if (room.kind === 'direct') throw new AppError('DIRECT_CHAT_FIXED', { message: 'Direct chats cannot be archived.' });
  assertCanManage(access);
  if ((room.archived_at !== null) === archived) return presentWithCount(ctx.database.db, room);
  return commitWithEvents(ctx, async (trx, now) => {
    const archivedAt = archived ? now : null;
    await updateRoomFields(trx, room.id, { archived_at: archivedAt }, now);
    const updated = await presentWithCount(trx, { ...room, archived_at: archivedAt, updated_at: now });
    return { result: updated, events: [{ event: { type: archived ? 'room.archived' : 'room.updated', room: updated }, audience: roomStateAudience(room) }] };
  }, { action: archived ? 'room.archive' : 'room.unarchive', instanceId: room.instance_id, roomId: room.id, ...auditActor(actor) });
};

export const addMember = async (ctx: AppContext, room: RoomRow, accountId: string): Promise<void> => {
  await commitWithEvents(ctx, async (trx, now) => {
    const added = await insertRoomMember(trx, { room_id: room.id, account_id: accountId, role: 'member', joined_at: now, last_read_message_id: null });
    if (!added) return { result: undefined, events: [] };
    const presented = await presentWithCount(trx, room);
    return { result: undefined, events: [{ event: { type: 'member.joined', roomId: room.id, accountId, room: presented }, audience: roomAudience(room), subjectId: accountId }] };
  });
};

const removeMember = async (ctx: AppContext, room: RoomRow, accountId: string): Promise<void> => {
  await commitWithEvents(ctx, async (trx) => {
    const removed = await deleteRoomMember(trx, room.id, accountId);
    if (!removed) return { result: undefined, events: [] };
    const presented = await presentWithCount(trx, room);
    return { result: undefined, events: [{ event: { type: 'member.left', roomId: room.id, accountId, room: presented }, audience: roomAudience(room), subjectId: accountId }] };
  });
};

export const joinRoom = async (ctx: AppContext, actor: Actor, roomId: string): Promise<void> => {
  const { room, member } = await accessRoom(ctx, actor, roomId, 'read');
  if (member) return;
  if (room.archived_at !== null) throw new AppError('ROOM_ARCHIVED');
  await addMember(ctx, room, actor.account.id);
  // From here on this person's open sockets hear the room: recorded like the rooms a socket opens with.
  await ctx.audit.record({ action: 'room.join', instanceId: room.instance_id, roomId: room.id, ...auditActor(actor) });
};

export const leaveRoom = async (ctx: AppContext, actor: Actor, roomId: string): Promise<void> => {
  const { room, member } = await accessRoom(ctx, actor, roomId, 'read');
  if (room.kind === 'direct') throw new AppError('DIRECT_CHAT_FIXED');
  if (!member) throw new AppError('NOT_ROOM_MEMBER');
  await removeMember(ctx, room, actor.account.id);
};

/**
 * An instance's admin removes someone from it: they leave each of its rooms (their members see them go), then
 * the membership ends and their sockets there close. Direct chats keep both people as a record; without the
 * membership neither can open them. Checked in full before anything is written.
 */
export const removeFromInstance = async (ctx: AppContext, actor: Actor, instanceId: string, accountId: string): Promise<void> => {
  const { instance } = await assertMemberRemovable(ctx, actor, instanceId, accountId);
  for (const room of await openRooms(ctx, await listMyRooms(ctx.database.db, accountId, instance.id))) {
    if (room.kind === 'room') await removeMember(ctx, room, accountId);
  }
  await deleteMember(ctx, actor, instance.id, accountId);
};

/** Members add people of the same instance (the way into a private room). */
export const addRoomMember = async (ctx: AppContext, actor: Actor, roomId: string, accountId: string): Promise<void> => {
  const { room } = await accessRoom(ctx, actor, roomId, 'post');
  if (room.kind === 'direct') throw new AppError('DIRECT_CHAT_FIXED');
  if (!(await findMembership(ctx.database.db, room.instance_id, accountId))) throw new AppError('ACCOUNT_NOT_FOUND');
  await addMember(ctx, room, accountId);
  await ctx.audit.record({ action: 'room.add_member', instanceId: room.instance_id, roomId: room.id, ...auditActor(actor), detail: { accountId } });
};

/** The room's owner or an instance admin removes someone; anyone may remove themselves (leave). */
export const removeRoomMember = async (ctx: AppContext, actor: Actor, roomId: string, accountId: string): Promise<void> => {
  if (accountId === actor.account.id) return leaveRoom(ctx, actor, roomId);
  const access = await accessRoom(ctx, actor, roomId, 'read');
  if (access.room.kind === 'direct') throw new AppError('DIRECT_CHAT_FIXED');
  assertCanManage(access);
  await removeMember(ctx, access.room, accountId);
  await ctx.audit.record({ action: 'room.remove_member', instanceId: access.room.instance_id, roomId: access.room.id, ...auditActor(actor), detail: { accountId } });
};

/** The one direct chat between two members of an instance, made on first use. */
export const openDirectChat = async (ctx: AppContext, actor: Actor, instanceId: string, otherId: string): Promise<{ room: Room; created: boolean }> => {
  const { instance } = await accessInstance(ctx, actor, instanceId);
  if (otherId === actor.account.id) throw new AppError('VALIDATION_FAILED', { message: 'A direct chat needs another person.' });
  if (!(await findMembership(ctx.database.db, instance.id, otherId))) throw new AppError('ACCOUNT_NOT_FOUND');
  const pair = [actor.account.id, otherId].sort();
  const nameKey = `direct:${pair.join(':')}`;
  const instanceKeys = await ctx.keyring.instance(instance.id);
  const existing = await findRoomByNameKey(ctx.database.db, instance.id, nameKey);
  if (existing) return { room: await presentWithCount(ctx.database.db, openRoom(instanceKeys, existing)), created: false };
  const roomId = newId(ctx.now());
  const roomKey = await ctx.keyring.prepareRoom(instance.id, roomId, ctx.now());
  try {
    const room = await commitWithEvents(ctx, async (trx, now) => {
      const row: RoomRow = {
        id: roomId,
        instance_id: instance.id,
        kind: 'direct',
        name: '',
        name_key: nameKey,
        topic: '',
        privacy: 'private',
        archived_at: null,
        created_by: actor.account.id,
        created_at: now,
        updated_at: now,
        last_message_at: null,
      };
      await insertRoom(trx, { ...row, name: sealRoomName(instanceKeys, row.id, ''), topic: sealRoomTopic(instanceKeys, row.id, '') });
      await roomKey.save(trx);
      for (const accountId of pair) {
        await insertRoomMember(trx, { room_id: row.id, account_id: accountId, role: 'member', joined_at: now, last_read_message_id: null });
      }
      const presented = presentRoom(row, 2);
      return { result: presented, events: [{ event: { type: 'room.created', room: presented, memberIds: pair }, audience: roomAudience(row) }] };
    });
    return { room, created: true };
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    const raced = await findRoomByNameKey(ctx.database.db, instance.id, nameKey);
    if (!raced) throw error;
    return { room: await presentWithCount(ctx.database.db, openRoom(instanceKeys, raced)), created: false };
  }
};

/** Moves the read marker forward (never back); only the reader's own sockets hear of it. */
export const markRead = async (ctx: AppContext, actor: Actor, roomId: string, messageId: string): Promise<void> => {
  const { room, member } = await accessRoom(ctx, actor, roomId, 'read');
  if (!member) throw new AppError('NOT_ROOM_MEMBER');
  if (!(await findMessage(ctx.database.db, room.id, messageId))) throw new AppError('MESSAGE_NOT_FOUND');
  if (member.last_read_message_id !== null && member.last_read_message_id >= messageId) return;
  await commitWithEvents(ctx, async (trx) => {
    await setReadMarker(trx, room.id, actor.account.id, messageId);
    return {
      result: undefined,
      events: [{ event: { type: 'read.updated', roomId: room.id, accountId: actor.account.id, messageId }, audience: { kind: 'account', accountId: actor.account.id } }],
    };
  });
};

/** The rooms an account is in (optionally of one instance), names opened, sorted by name. */
export const listRoomsOf = async (ctx: AppContext, accountId: string, instanceId?: string) => openRooms(ctx, await listMyRooms(ctx.database.db, accountId, instanceId));

/** An instance's public rooms, names opened, sorted by name. */
export const listRoomDirectory = async (ctx: AppContext, instanceId: string) => openRooms(ctx, await listPublicRooms(ctx.database.db, instanceId));
