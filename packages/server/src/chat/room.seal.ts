import type { AppContext } from '../context.ts';
import type { InstanceKeys } from '../crypto/index.ts';
import type { RoomRow } from './room.queries.ts';

/**
 * A room's name and topic are sealed under its instance's data key (public rooms' names are read
 * instance-wide, in the directory), bound to the room id; its messages use the room's own data key.
 */
export const sealRoomName = (keys: InstanceKeys, roomId: string, name: string): string => keys.data.seal('rooms.name', roomId, name);
export const sealRoomTopic = (keys: InstanceKeys, roomId: string, topic: string): string => keys.data.seal('rooms.topic', roomId, topic);

export const openRoom = <T extends RoomRow>(keys: InstanceKeys, row: T): T => ({
  ...row,
  name: keys.data.open('rooms.name', row.id, row.name),
  topic: keys.data.open('rooms.topic', row.id, row.topic),
});

/** Opens rooms of any instances, sorted by name (the stored order, by blind index, means nothing). */
export const openRooms = async <T extends RoomRow>(ctx: AppContext, rows: T[]): Promise<T[]> => {
  const keys = new Map<string, InstanceKeys>();
  for (const instanceId of new Set(rows.map((row) => row.instance_id))) keys.set(instanceId, await ctx.keyring.instance(instanceId));
  return rows
    .map((row) => openRoom(keys.get(row.instance_id) as InstanceKeys, row))
    .sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
};
