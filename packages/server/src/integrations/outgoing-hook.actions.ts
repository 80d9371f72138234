import {
  LIMITS,
  OUTGOING_EVENTS,
  type ChatEvent,
  type CreateOutgoingHookRequest,
  type HookDelivery,
  type OutgoingEvent,
  type OutgoingHook,
} from '@conclave/protocol';
import type { Kysely } from 'kysely';
import type { AppContext } from '../context.ts';
import { TOKEN_PREFIX, newId, newSecretToken } from '../crypto/index.ts';
import type { Schema } from '../db/index.ts';
import { AppError } from '../errors.ts';
import { accessRoom } from '../chat/index.ts';
import { auditActor, iso, type Actor } from '../identity/index.ts';
import type { EventTap } from '../realtime/index.ts';
import { insertDeliveries, listDeliveries, type DeliveryRow } from './delivery.queries.ts';
import { assertTargetAllowed, parseTarget } from './outgoing-hook.target.ts';
import {
  countLiveOutgoingHooks,
  findOutgoingHook,
  insertOutgoingHook,
  listLiveOutgoingHooksOfRooms,
  listOutgoingHooks,
  revokeOutgoingHookRow,
  type OutgoingHookRow,
} from './outgoing-hook.queries.ts';

/** Where a hook sends and how it signs: sealed together under the instance's data key. */
export interface HookTarget {
  url: string;
  secret: string;
  pattern: string | null;
}

export interface OutgoingHookListing {
  row: OutgoingHookRow;
  name: string;
  target: HookTarget;
}

const eventsOf = (row: Pick<OutgoingHookRow, 'events'>): OutgoingEvent[] => OUTGOING_EVENTS.filter((e) => row.events.split(' ').includes(e));

export const openOutgoingHook = async (ctx: AppContext, row: OutgoingHookRow, db?: Kysely<Schema>): Promise<OutgoingHookListing> => {
  const cipher = await ctx.keyring.owner(row.instance_id, [row.name, row.target], db);
  return { row, name: cipher.open('outgoing_hooks.name', row.id, row.name), target: JSON.parse(cipher.open('outgoing_hooks.target', row.id, row.target)) as HookTarget };
};

export const presentOutgoingHook = ({ row, name, target }: OutgoingHookListing): OutgoingHook => ({
  id: row.id,
  roomId: row.room_id,
  name,
  url: target.url,
  events: eventsOf(row),
  pattern: target.pattern,
  createdBy: row.created_by,
  createdAt: iso(row.created_at),
  revokedAt: row.revoked_at === null ? null : iso(row.revoked_at),
});

/**
 * A room's owner or an instance admin subscribes a URL to the room's events. The signing secret is made here
 * and shown once; it is kept sealed (not hashed), since the server signs every delivery with it.
 */
export const createOutgoingHook = async (ctx: AppContext, actor: Actor, roomId: string, input: CreateOutgoingHookRequest): Promise<{ secret: string; listing: OutgoingHookListing }> => {
  const { room } = await accessRoom(ctx, actor, roomId, 'manage');
  if (room.kind === 'direct') throw new AppError('DIRECT_CHAT_FIXED', { message: 'Webhooks belong to rooms, not direct chats.' });
  const name = input.name.trim();
  if (name === '') throw new AppError('VALIDATION_FAILED', { message: 'Name the webhook.' });
  const url = parseTarget(input.url.trim());
  await assertTargetAllowed(url, ctx.config.webhookAllowPrivateTargets);
  if ((await countLiveOutgoingHooks(ctx.database.db, room.id)) >= LIMITS.outgoingHooksPerRoomMax) throw new AppError('HOOK_LIMIT_REACHED');
  const now = ctx.now();
  const id = newId(now);
  const secret = newSecretToken(TOKEN_PREFIX.hookSecret);
  const target: HookTarget = { url: url.href, secret, pattern: input.pattern?.trim() || null };
  const cipher = await ctx.keyring.owner(room.instance_id);
  const row: OutgoingHookRow = {
    id,
    instance_id: room.instance_id,
    room_id: room.id,
    name: cipher.seal('outgoing_hooks.name', id, name),
    target: cipher.seal('outgoing_hooks.target', id, JSON.stringify(target)),
    events: OUTGOING_EVENTS.filter((e) => input.events.includes(e)).join(' '),
    created_by: actor.account.id,
    created_at: now,
    revoked_at: null,
  };
  await insertOutgoingHook(ctx.database.db, row);
  await ctx.audit.record({ action: 'hook.create', instanceId: room.instance_id, roomId: room.id, ...auditActor(actor), detail: { hookId: id, kind: 'outgoing', events: eventsOf(row), host: url.host } });
  return { secret, listing: { row, name, target } };
};

export const listRoomOutgoingHooks = async (ctx: AppContext, actor: Actor, roomId: string): Promise<OutgoingHookListing[]> => {
  const { room } = await accessRoom(ctx, actor, roomId, 'manage');
  return Promise.all((await listOutgoingHooks(ctx.database.db, room.id)).map((row) => openOutgoingHook(ctx, row)));
};

/** Revokes a subscription: nothing more is queued; deliveries already queued are dropped when their turn comes. */
export const revokeOutgoingHook = async (ctx: AppContext, actor: Actor, roomId: string, hookId: string): Promise<void> => {
  const { room } = await accessRoom(ctx, actor, roomId, 'manage');
  if (!(await revokeOutgoingHookRow(ctx.database.db, room.id, hookId, ctx.now()))) throw new AppError('HOOK_NOT_FOUND');
  await ctx.audit.record({ action: 'hook.revoke', instanceId: room.instance_id, roomId: room.id, ...auditActor(actor), detail: { hookId, kind: 'outgoing' } });
};

export const presentDelivery = (row: DeliveryRow): HookDelivery => ({
  id: row.id,
  hookId: row.hook_id,
  event: row.event_type,
  status: row.status,
  attempts: row.attempts,
  lastStatusCode: row.last_status_code,
  lastError: row.last_error,
  lastLatencyMs: row.last_latency_ms,
  createdAt: iso(row.created_at),
  nextAttemptAt: row.status === 'queued' ? iso(row.next_attempt_at) : null,
  deliveredAt: row.delivered_at === null ? null : iso(row.delivered_at),
});

/** The delivery log of one of the room's hooks, for its admins: status, attempts, response code, latency. */
export const listHookDeliveries = async (ctx: AppContext, actor: Actor, roomId: string, hookId: string, limit: number): Promise<HookDelivery[]> => {
  const { room } = await accessRoom(ctx, actor, roomId, 'manage');
  const hook = await findOutgoingHook(ctx.database.db, hookId);
  if (!hook || hook.room_id !== room.id) throw new AppError('HOOK_NOT_FOUND');
  return (await listDeliveries(ctx.database.db, hook.id, limit)).map(presentDelivery);
};

/** Which subscription an event concerns, and the room it is about; undefined for events no hook hears. */
const classify = (event: ChatEvent): { kind: OutgoingEvent; roomId: string } | undefined => {
  switch (event.type) {
    case 'message.created':
      // Messages integrations posted are not sent on: a bot answering a hook would otherwise loop.
      return event.message.via === undefined ? { kind: 'message', roomId: event.roomId } : undefined;
    case 'member.joined':
    case 'member.left':
      return { kind: 'member', roomId: event.roomId };
    case 'room.updated':
      return event.room.kind === 'room' ? { kind: 'topic', roomId: event.room.id } : undefined;
    case 'room.archived':
      return { kind: 'archive', roomId: event.room.id };
    default:
      return undefined;
  }
};

/** What a receiver gets: the event's facts, never more than the room's members saw. */
const deliveryData = (event: ChatEvent): Record<string, unknown> => {
  switch (event.type) {
    case 'message.created':
      return { message: { id: event.message.id, authorId: event.message.authorId, text: event.message.body, createdAt: event.message.createdAt, mentions: event.message.mentions } };
    case 'member.joined':
    case 'member.left':
      return { accountId: event.accountId };
    case 'room.updated':
    case 'room.archived':
      return { room: { id: event.room.id, name: event.room.name, topic: event.room.topic, archived: event.room.archived } };
    default:
      return {};
  }
};

/** How long deliveries wait before their first attempt: none. */
const FIRST_ATTEMPT_DELAY_MS = 0;

/**
 * The event tap (decision 0020): in the transaction that records room events, queue a delivery for every
 * live subscription that hears one, its body built and sealed now (the room's key). Committed with the
 * event or not at all, so a delivery is never lost to a crash and never made for an event that did not happen.
 */
export const createDeliveryTap = (ctx: AppContext): EventTap => async (db, events, now) => {
  const relevant = events.flatMap((event) => {
    const found = classify(event);
    return found ? [{ event, ...found }] : [];
  });
  if (relevant.length === 0) return;
  const hooks = await listLiveOutgoingHooksOfRooms(db, [...new Set(relevant.map((r) => r.roomId))]);
  if (hooks.length === 0) return;
  const rows: DeliveryRow[] = [];
  for (const hook of hooks) {
    const listing = await openOutgoingHook(ctx, hook, db);
    const kinds = eventsOf(hook);
    for (const { event, kind, roomId } of relevant) {
      if (roomId !== hook.room_id || !kinds.includes(kind)) continue;
      const pattern = listing.target.pattern;
      if (kind === 'message' && pattern !== null && event.type === 'message.created' && !event.message.body.toLowerCase().includes(pattern.toLowerCase())) continue;
      const id = newId(now);
      const body = JSON.stringify({ id, type: event.type, hookId: hook.id, instanceId: hook.instance_id, roomId, seq: event.seq, occurredAt: iso(now), data: deliveryData(event) });
      const cipher = await ctx.keyring.owner(roomId, [], db);
      rows.push({
        id,
        hook_id: hook.id,
        room_id: roomId,
        event_type: event.type,
        event_seq: event.seq,
        payload: cipher.seal('hook_deliveries.payload', id, body),
        status: 'queued',
        attempts: 0,
        next_attempt_at: now + FIRST_ATTEMPT_DELAY_MS,
        claimed_by: null,
        claimed_at: null,
        last_status_code: null,
        last_error: null,
        last_latency_ms: null,
        created_at: now,
        updated_at: now,
        delivered_at: null,
      });
    }
  }
  await insertDeliveries(db, rows);
};
