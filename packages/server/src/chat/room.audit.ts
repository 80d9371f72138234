import type { AppContext } from '../context.ts';
import { auditActor, type Actor } from '../identity/index.ts';
import type { RoomRow } from './room.queries.ts';

/**
 * Records a read of room content; the caller returns the content only once this resolves (a read that
 * cannot be recorded does not happen). Never call it inside a transaction: the log writes in its own.
 */
export const recordRoomRead = (ctx: AppContext, actor: Actor, room: Pick<RoomRow, 'id' | 'instance_id'>, detail: Record<string, unknown>): Promise<void> =>
  ctx.audit.record({ action: 'room.read', instanceId: room.instance_id, roomId: room.id, ...auditActor(actor), detail });
