import type { AppContext } from '../context.ts';
import type { DeliveryStatus } from '../db/index.ts';
import { AppError } from '../errors.ts';
import { listDeliveriesForOperator } from './delivery.queries.ts';
import { listAllIncomingHooks, revokeIncomingHookById } from './incoming-hook.queries.ts';
import { openOutgoingHook } from './outgoing-hook.actions.ts';
import { listAllOutgoingHooks, revokeOutgoingHookById } from './outgoing-hook.queries.ts';

/** What `conclave hook list` prints: every hook, never a token, a secret, or (for outgoing) more than the host. */
export interface HookSummary {
  id: string;
  kind: 'incoming' | 'outgoing';
  instanceId: string;
  roomId: string;
  name: string;
  target: string;
  events: string;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

export const listHooksForOperator = async (ctx: AppContext, instanceId?: string): Promise<HookSummary[]> => {
  const incoming = await Promise.all(
    (await listAllIncomingHooks(ctx.database.db, instanceId)).map(async (row): Promise<HookSummary> => ({
      id: row.id,
      kind: 'incoming',
      instanceId: row.instance_id,
      roomId: row.room_id,
      name: (await ctx.keyring.owner(row.instance_id, [row.name])).open('incoming_hooks.name', row.id, row.name),
      target: '-',
      events: '-',
      createdAt: row.created_at,
      lastUsedAt: row.last_used_at,
      revokedAt: row.revoked_at,
    })),
  );
  const outgoing = await Promise.all(
    (await listAllOutgoingHooks(ctx.database.db, instanceId)).map(async (row): Promise<HookSummary> => {
      const listing = await openOutgoingHook(ctx, row);
      return {
        id: row.id,
        kind: 'outgoing',
        instanceId: row.instance_id,
        roomId: row.room_id,
        name: listing.name,
        target: new URL(listing.target.url).host,
        events: row.events,
        createdAt: row.created_at,
        lastUsedAt: null,
        revokedAt: row.revoked_at,
      };
    }),
  );
  return [...incoming, ...outgoing].sort((a, b) => b.createdAt - a.createdAt);
};

export const listDeliveriesOfServer = (ctx: AppContext, filter: { status?: DeliveryStatus | undefined; hookId?: string | undefined; limit: number }) =>
  listDeliveriesForOperator(ctx.database.db, filter);

/** The operator revokes a hook of either kind by id (an incident, a leaked URL); audited. */
export const revokeHookByOperator = async (ctx: AppContext, hookId: string): Promise<'incoming' | 'outgoing'> => {
  const now = ctx.now();
  const incoming = await revokeIncomingHookById(ctx.database.db, hookId, now);
  const outgoing = incoming ? undefined : await revokeOutgoingHookById(ctx.database.db, hookId, now);
  const row = incoming ?? outgoing;
  if (!row) throw new AppError('HOOK_NOT_FOUND', { message: `No live webhook with id ${hookId}.` });
  const kind = incoming ? 'incoming' : 'outgoing';
  await ctx.audit.record({ action: 'hook.revoke', instanceId: row.instance_id, roomId: row.room_id, detail: { hookId, kind, by: 'operator' } });
  return kind;
};
