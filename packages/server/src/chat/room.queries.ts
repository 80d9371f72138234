import type { Kysely, Selectable } from 'kysely';
import type { RoomMembersTable, RoomsTable, Schema } from '../db/index.ts';

export type RoomRow = Selectable<RoomsTable>;
export type RoomMemberRow = Selectable<RoomMembersTable>;

export const insertRoom = async (db: Kysely<Schema>, row: RoomRow): Promise<void> => {
  await db.insertInto('rooms').values(row).execute();
};

export const findRoomByNameKey = (db: Kysely<Schema>, instanceId: string, nameKey: string): Promise<RoomRow | undefined> =>
  db.selectFrom('rooms').selectAll().where('instance_id', '=', instanceId).where('name_key', '=', nameKey).executeTakeFirst();

export const updateRoomFields = async (
  db: Kysely<Schema>,
  id: string,
  patch: Partial<Pick<RoomRow, 'name' | 'name_key' | 'topic' | 'archived_at' | 'last_message_at'>>,
  now: number,
): Promise<void> => {
  await db.updateTable('rooms').set({ ...patch, updated_at: now }).where('id', '=', id).execute();
};

export const touchRoomLastMessage = async (db: Kysely<Schema>, id: string, at: number): Promise<void> => {
  await db.updateTable('rooms').set({ last_message_at: at }).where('id', '=', id).execute();
};

export interface RoomAccessRow {
  room: RoomRow;
  /** The later of the instance's credential epoch and the actor's own in the instance (membership). */
  instanceNotBefore: number;
  instanceTwoFactorRequired: 'off' | 'admins' | 'everyone';
  instanceRole: 'owner' | 'admin' | 'member' | null;
  member: RoomMemberRow | undefined;
}

/** A room with its instance's epoch and the actor's instance and room memberships: one round trip. */
export const findRoomForActor = async (db: Kysely<Schema>, roomId: string, accountId: string): Promise<RoomAccessRow | undefined> => {
  const row = await db
    .selectFrom('rooms as r')
    .innerJoin('instances as i', 'i.id', 'r.instance_id')
    .leftJoin('memberships as im', (join) => join.onRef('im.instance_id', '=', 'r.instance_id').on('im.account_id', '=', accountId))
    .leftJoin('room_members as rm', (join) => join.onRef('rm.room_id', '=', 'r.id').on('rm.account_id', '=', accountId))
    .selectAll('r')
    .select([
      'i.not_before as instance_not_before',
      'im.not_before as membership_not_before',
      'i.two_factor_required as instance_two_factor_required',
      'im.role as instance_role',
      'rm.role as member_role',
      'rm.joined_at as member_joined_at',
      'rm.last_read_message_id as member_last_read',
    ])
    .where('r.id', '=', roomId)
    .executeTakeFirst();
  if (!row) return undefined;
  const { instance_not_before, membership_not_before, instance_two_factor_required, instance_role, member_role, member_joined_at, member_last_read, ...room } = row;
  return {
    room,
    instanceNotBefore: Math.max(instance_not_before, membership_not_before ?? 0),
    instanceTwoFactorRequired: instance_two_factor_required,
    instanceRole: instance_role,
    member:
      member_role === null || member_joined_at === null
        ? undefined
        : { room_id: room.id, account_id: accountId, role: member_role, joined_at: member_joined_at, last_read_message_id: member_last_read },
  };
};

/** True when a row was added (false: already a member). */
export const insertRoomMember = async (db: Kysely<Schema>, row: RoomMemberRow): Promise<boolean> => {
  const result = await db
    .insertInto('room_members')
    .values(row)
    .onConflict((oc) => oc.columns(['room_id', 'account_id']).doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
};

export const deleteRoomMember = async (db: Kysely<Schema>, roomId: string, accountId: string): Promise<boolean> => {
  const result = await db.deleteFrom('room_members').where('room_id', '=', roomId).where('account_id', '=', accountId).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
};

export const countRoomMembers = async (db: Kysely<Schema>, roomId: string): Promise<number> => {
  const row = await db.selectFrom('room_members').select((eb) => eb.fn.countAll<number>().as('n')).where('room_id', '=', roomId).executeTakeFirstOrThrow();
  return Number(row.n);
};

export const listRoomMemberNames = (db: Kysely<Schema>, roomId: string): Promise<Array<{ account_id: string; display_name: string }>> =>
  db
    .selectFrom('room_members')
    .innerJoin('accounts', 'accounts.id', 'room_members.account_id')
    .select(['room_members.account_id', 'accounts.display_name'])
    .where('room_members.room_id', '=', roomId)
    .execute();

export const setReadMarker = async (db: Kysely<Schema>, roomId: string, accountId: string, messageId: string): Promise<void> => {
  await db.updateTable('room_members').set({ last_read_message_id: messageId }).where('room_id', '=', roomId).where('account_id', '=', accountId).execute();
};

export interface MyRoomRow extends RoomRow {
  role: 'owner' | 'member';
  last_read_message_id: string | null;
  unread_count: number;
  mention_count: number;
  member_count: number;
}

/** The rooms an account is in (optionally in one instance), with unread and mention counts since its read marker. */
export const listMyRooms = async (db: Kysely<Schema>, accountId: string, instanceId?: string): Promise<MyRoomRow[]> => {
  let query = db
    .selectFrom('room_members as rm')
    .innerJoin('rooms as r', 'r.id', 'rm.room_id')
    .selectAll('r')
    .select(['rm.role', 'rm.last_read_message_id'])
    .select((eb) => [
      eb
        .selectFrom('messages as m')
        .select((inner) => inner.fn.countAll<number>().as('n'))
        .whereRef('m.room_id', '=', 'r.id')
        .where('m.deleted_at', 'is', null)
        .whereRef('m.author_id', '<>', 'rm.account_id')
        .where((w) => w.or([w('rm.last_read_message_id', 'is', null), w('m.id', '>', w.ref('rm.last_read_message_id'))]))
        .as('unread_count'),
      eb
        .selectFrom('message_mentions as mm')
        .innerJoin('messages as m2', 'm2.id', 'mm.message_id')
        .select((inner) => inner.fn.countAll<number>().as('n'))
        .whereRef('mm.room_id', '=', 'r.id')
        .whereRef('mm.account_id', '=', 'rm.account_id')
        .where('m2.deleted_at', 'is', null)
        .where((w) => w.or([w('rm.last_read_message_id', 'is', null), w('mm.message_id', '>', w.ref('rm.last_read_message_id'))]))
        .as('mention_count'),
      eb.selectFrom('room_members as c').select((inner) => inner.fn.countAll<number>().as('n')).whereRef('c.room_id', '=', 'r.id').as('member_count'),
    ])
    .where('rm.account_id', '=', accountId);
  if (instanceId) query = query.where('r.instance_id', '=', instanceId);
  const rows = await query.orderBy('r.name_key').execute();
  return rows.map((row) => ({
    ...row,
    unread_count: Number(row.unread_count ?? 0),
    mention_count: Number(row.mention_count ?? 0),
    member_count: Number(row.member_count ?? 0),
  })) as MyRoomRow[];
};

export const listPublicRooms = async (db: Kysely<Schema>, instanceId: string): Promise<Array<RoomRow & { member_count: number }>> => {
  const rows = await db
    .selectFrom('rooms as r')
    .selectAll('r')
    .select((eb) => eb.selectFrom('room_members as c').select((inner) => inner.fn.countAll<number>().as('n')).whereRef('c.room_id', '=', 'r.id').as('member_count'))
    .where('r.instance_id', '=', instanceId)
    .where('r.kind', '=', 'room')
    .where('r.privacy', '=', 'public')
    .orderBy('r.name_key')
    .execute();
  return rows.map((row) => ({ ...row, member_count: Number(row.member_count ?? 0) }));
};

/** Rooms made before encryption at rest: no data key yet. */
export const findRoomsWithoutKeys = (db: Kysely<Schema>, limit: number): Promise<RoomRow[]> =>
  db
    .selectFrom('rooms')
    .selectAll()
    .where((eb) => eb.not(eb.exists(eb.selectFrom('data_keys').select('owner_id').whereRef('data_keys.owner_id', '=', 'rooms.id'))))
    .limit(limit)
    .execute();

export const findRoomsInClear = (db: Kysely<Schema>, limit: number): Promise<RoomRow[]> =>
  db.selectFrom('rooms').selectAll().where('name', 'not like', 'cv1.%').limit(limit).execute();

export const resealRoom = async (db: Kysely<Schema>, before: RoomRow, after: Pick<RoomRow, 'name' | 'topic' | 'name_key'>): Promise<void> => {
  await db.updateTable('rooms').set(after).where('id', '=', before.id).where('name', '=', before.name).execute();
};

/** Who wrote in these rooms (ids only, never what): an incident's scope puts them among the affected. */
export const listAuthorsOfRooms = async (db: Kysely<Schema>, roomIds: string[]): Promise<string[]> => {
  const authors = new Set<string>();
  for (let i = 0; i < roomIds.length; i += 2_000) {
    const rows = await db.selectFrom('messages').select('author_id').distinct().where('room_id', 'in', roomIds.slice(i, i + 2_000)).execute();
    for (const row of rows) authors.add(row.author_id);
  }
  return [...authors];
};
