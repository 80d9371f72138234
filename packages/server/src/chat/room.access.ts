import type { AppContext } from '../context.ts';
import type { InstanceKeys, OwnerCipher } from '../crypto/index.ts';
import { AppError } from '../errors.ts';
import { assertTwoFactorEnrolled, type Actor } from '../identity/index.ts';
import { roleAtLeast, type MemberRole } from '../instances/index.ts';
import { findRoomForActor, type RoomMemberRow, type RoomRow } from './room.queries.ts';
import { openRoom } from './room.seal.ts';

/** What the caller means to do: read content, post (and react, edit), or manage the room. */
export type RoomNeed = 'read' | 'post' | 'manage';

export interface RoomAccess {
  /** The room, its name and topic opened. */
  room: RoomRow;
  member: RoomMemberRow | undefined;
  instanceRole: MemberRole;
  /** The room's data key: its messages, edits and events. */
  keys: OwnerCipher;
  /** The instance's data and index keys: room names, topics, search terms. */
  instanceKeys: InstanceKeys;
}

/**
 * The one road to a room and its content. A private room (or direct chat) the actor is not in answers
 * exactly like a room that does not exist. Every read of room content passes here, so this is where the
 * audit log will record it.
 */
export const accessRoom = async (ctx: AppContext, actor: Actor, roomId: string, need: RoomNeed = 'read'): Promise<RoomAccess> => {
  const found = await findRoomForActor(ctx.database.db, roomId, actor.account.id);
  if (!found) throw new AppError('ROOM_NOT_FOUND');
  const { room, member } = found;
  // The instance's rules, as accessInstance applies them: members only (operators count as owners), and
  // no session older than the instance's credential epoch, and two-factor authentication where it requires it.
  const instanceRole: MemberRole | undefined = actor.account.is_operator === 1 ? 'owner' : (found.instanceRole ?? undefined);
  if (!instanceRole) throw new AppError('ROOM_NOT_FOUND');
  if (actor.session.created_at < found.instanceNotBefore) throw new AppError('UNAUTHENTICATED');
  assertTwoFactorEnrolled(found.instanceTwoFactorRequired, instanceRole, actor.account);
  if (room.privacy !== 'public' && !member) throw new AppError('ROOM_NOT_FOUND');
  if (need === 'post') {
    if (!member) throw new AppError('NOT_ROOM_MEMBER');
    if (room.archived_at !== null) throw new AppError('ROOM_ARCHIVED');
  }
  const instanceKeys = await ctx.keyring.instance(room.instance_id);
  const access: RoomAccess = { room: openRoom(instanceKeys, room), member, instanceRole, keys: await ctx.keyring.owner(room.id), instanceKeys };
  if (need === 'manage') assertCanManage(access);
  return access;
};

/** Managing a room (rename, archive, remove people) is for its owner and the instance's admins. */
export const assertCanManage = (access: RoomAccess): void => {
  if (access.member?.role !== 'owner' && !roleAtLeast(access.instanceRole, 'admin')) {
    throw new AppError('FORBIDDEN', { message: 'Only the room\'s owner or an instance admin can do that.' });
  }
};
