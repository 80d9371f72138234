import { LIMITS, type CreateIncomingHookRequest, type IncomingHook, type Message } from '@conclave/protocol';
import type { AppContext } from '../context.ts';
import { TOKEN_PREFIX, hashToken, newId, newSecretToken } from '../crypto/index.ts';
import { AppError } from '../errors.ts';
import { accessRoom, addRoomMemberDirectly, postMessage } from '../chat/index.ts';
import { auditActor, findAccount, findServerState, iso, type Actor } from '../identity/index.ts';
import { prepareBotMember } from './bot.actions.ts';
import type { RenderedPost } from './hook.render.ts';
import {
  countLiveIncomingHooks,
  findIncomingHookByHash,
  insertIncomingHook,
  listIncomingHooks,
  revokeIncomingHookRow,
  touchIncomingHook,
  type IncomingHookRow,
} from './incoming-hook.queries.ts';

/** last_used_at is written at most this often per hook, as API tokens' is. */
const HOOK_TOUCH_INTERVAL_MS = 60_000;

export interface IncomingHookListing {
  row: IncomingHookRow;
  name: string;
}

export const presentIncomingHook = ({ row, name }: IncomingHookListing): IncomingHook => ({
  id: row.id,
  roomId: row.room_id,
  name,
  botAccountId: row.bot_account_id,
  createdBy: row.created_by,
  createdAt: iso(row.created_at),
  lastUsedAt: row.last_used_at === null ? null : iso(row.last_used_at),
  revokedAt: row.revoked_at === null ? null : iso(row.revoked_at),
});

const openHook = async (ctx: AppContext, row: IncomingHookRow): Promise<IncomingHookListing> => ({
  row,
  name: (await ctx.keyring.owner(row.instance_id, [row.name])).open('incoming_hooks.name', row.id, row.name),
});

/**
 * A room's owner or an instance admin makes an incoming webhook: a secret URL (the token, shown once, kept
 * as SHA-256 only) and the bot account it posts as, which joins the room.
 */
export const createIncomingHook = async (ctx: AppContext, actor: Actor, roomId: string, input: CreateIncomingHookRequest): Promise<{ token: string; listing: IncomingHookListing }> => {
  const access = await accessRoom(ctx, actor, roomId, 'manage');
  const { room } = access;
  if (room.kind === 'direct') throw new AppError('DIRECT_CHAT_FIXED', { message: 'Webhooks post to rooms, not direct chats.' });
  if (room.archived_at !== null) throw new AppError('ROOM_ARCHIVED');
  const name = input.name.trim();
  if (name === '') throw new AppError('VALIDATION_FAILED', { message: 'Name the webhook (it is shown as the poster).' });
  if ((await countLiveIncomingHooks(ctx.database.db, room.id)) >= LIMITS.incomingHooksPerRoomMax) throw new AppError('HOOK_LIMIT_REACHED');
  const member = await prepareBotMember(ctx, { instanceId: room.instance_id, ownerId: actor.account.id, displayName: name });
  const now = ctx.now();
  const token = newSecretToken(TOKEN_PREFIX.incomingHook);
  const id = newId(now);
  const instanceCipher = await ctx.keyring.owner(room.instance_id);
  const row: IncomingHookRow = {
    id,
    instance_id: room.instance_id,
    room_id: room.id,
    bot_account_id: member.row.id,
    name: instanceCipher.seal('incoming_hooks.name', id, name),
    token_hash: hashToken(token),
    created_by: actor.account.id,
    created_at: now,
    last_used_at: null,
    revoked_at: null,
  };
  await ctx.database.db.transaction().execute(async (trx) => {
    await member.save(trx);
    await insertIncomingHook(trx, row);
  });
  // The room hears its new member arrive (it shows as a bot).
  await addRoomMemberDirectly(ctx, room, member.row.id);
  await ctx.audit.record({ action: 'hook.create', instanceId: room.instance_id, roomId: room.id, ...auditActor(actor), detail: { hookId: id, kind: 'incoming', botId: member.row.id } });
  return { token, listing: { row, name } };
};

export const listRoomIncomingHooks = async (ctx: AppContext, actor: Actor, roomId: string): Promise<IncomingHookListing[]> => {
  const { room } = await accessRoom(ctx, actor, roomId, 'manage');
  return Promise.all((await listIncomingHooks(ctx.database.db, room.id)).map((row) => openHook(ctx, row)));
};

/** Revokes a hook: its URL answers HOOK_REVOKED from now on (the row stays, as a record). */
export const revokeIncomingHook = async (ctx: AppContext, actor: Actor, roomId: string, hookId: string): Promise<void> => {
  const { room } = await accessRoom(ctx, actor, roomId, 'manage');
  const revoked = await revokeIncomingHookRow(ctx.database.db, room.id, hookId, ctx.now());
  if (!revoked) throw new AppError('HOOK_NOT_FOUND');
  await ctx.audit.record({ action: 'hook.revoke', instanceId: room.instance_id, roomId: room.id, ...auditActor(actor), detail: { hookId, kind: 'incoming' } });
};

/** The live hook a presented token belongs to: HOOK_NOT_FOUND for an unknown one, HOOK_REVOKED for a revoked one. */
export const findLiveHook = async (ctx: AppContext, token: string): Promise<IncomingHookRow> => {
  if (!token.startsWith(TOKEN_PREFIX.incomingHook) || token.length > 200) throw new AppError('HOOK_NOT_FOUND');
  const row = await findIncomingHookByHash(ctx.database.db, hashToken(token));
  if (!row) throw new AppError('HOOK_NOT_FOUND');
  if (row.revoked_at !== null) throw new AppError('HOOK_REVOKED');
  return row;
};

/**
 * Posts what a hook received, through the normal message path (accessRoom, sealed, event log, sockets,
 * search), as the hook's bot account. The hook stands where a session would: an instance's credential epoch
 * (containment) ends it too. Shown under the payload's name, or the hook's.
 */
export const postThroughHook = async (ctx: AppContext, hook: IncomingHookRow, post: RenderedPost, client: { ip: string; userAgent: string | undefined }): Promise<Message> => {
  const account = await findAccount(ctx, hook.bot_account_id);
  if (!account) throw new AppError('HOOK_NOT_FOUND');
  // A server-wide credential epoch (containment) ends hooks made before it; the instance's is checked by accessRoom.
  if (hook.created_at < Math.max(account.not_before, (await findServerState(ctx.database.db)).not_before)) {
    throw new AppError('HOOK_REVOKED', { message: 'This webhook was ended by a credential revocation (containment); ask an admin of the room for a new one.' });
  }
  const actor: Actor = { account, session: { id: hook.id, created_at: hook.created_at }, via: 'token', token: '', apiToken: { id: hook.id, scopes: ['write'] }, client };
  const name = post.name ?? (await openHook(ctx, hook)).name;
  const message = await postMessage(ctx, actor, hook.room_id, post.text, { via: { kind: 'webhook', id: hook.id, name, ...(post.icon ? { icon: post.icon } : {}) } });
  const now = ctx.now();
  if (now - (hook.last_used_at ?? 0) >= HOOK_TOUCH_INTERVAL_MS) {
    await touchIncomingHook(ctx.database.db, hook.id, now);
    await ctx.audit.record({ action: 'hook.use', instanceId: hook.instance_id, roomId: hook.room_id, actorId: account.id, sessionId: hook.id, ip: client.ip, userAgent: client.userAgent, detail: { hookId: hook.id } });
  }
  return message;
};
