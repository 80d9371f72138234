import { LIMITS, type Bot, type CreateBotRequest } from '@conclave/protocol';
import type { Kysely } from 'kysely';
import type { AppContext } from '../context.ts';
import type { Schema } from '../db/index.ts';
import { AppError } from '../errors.ts';
import { auditActor, bumpCredentialEpoch, iso, issueBotToken, openDisplayName, prepareBotAccount, saveNewAccount, type AccountRow, type Actor } from '../identity/index.ts';
import { accessInstance, insertMembershipIfAbsent } from '../instances/index.ts';
import { deleteBotMembership, listBotsOfInstance, type BotListing } from './bot.queries.ts';

/**
 * A bot account in an instance (decision 0020): an account with `bot_owner_id`, a member of the instance,
 * acting only through API tokens. Incoming webhooks post as one of their own; bots made by an admin get a
 * scoped token. The slow part (the unusable password's hash) runs before the caller's transaction.
 */
export const prepareBotMember = async (ctx: AppContext, input: { instanceId: string; ownerId: string; displayName: string }) => {
  const row = await prepareBotAccount(ctx, { displayName: input.displayName, ownerId: input.ownerId });
  return {
    row,
    save: async (db: Kysely<Schema>): Promise<void> => {
      await saveNewAccount(ctx, db, row);
      await insertMembershipIfAbsent(db, { instance_id: input.instanceId, account_id: row.id, role: 'member', created_at: row.created_at, not_before: 0 });
    },
  };
};

export const presentBot = (instanceId: string, row: Pick<AccountRow, 'id' | 'display_name' | 'created_at'> & { bot_owner_id: string | null }): Bot => ({
  id: row.id,
  instanceId,
  displayName: row.display_name,
  ownerId: row.bot_owner_id ?? '',
  isBot: true,
  createdAt: iso(row.created_at),
});

/** An instance admin makes a bot and its API token (shown once), with the scopes asked. */
export const createBot = async (ctx: AppContext, actor: Actor, instanceId: string, input: CreateBotRequest): Promise<{ bot: Bot; token: string }> => {
  const { instance } = await accessInstance(ctx, actor, instanceId, 'admin');
  const displayName = input.displayName.trim();
  if (displayName === '') throw new AppError('VALIDATION_FAILED', { message: 'Name the bot.' });
  if ((await listBotsOfInstance(ctx.database.db, instance.id)).length >= LIMITS.botsPerInstanceMax) throw new AppError('BOT_LIMIT_REACHED');
  const member = await prepareBotMember(ctx, { instanceId: instance.id, ownerId: actor.account.id, displayName });
  const issued = await ctx.database.db.transaction().execute(async (trx) => {
    await member.save(trx);
    return issueBotToken(ctx, trx, member.row.id, { name: `bot: ${displayName}`, scopes: input.scopes });
  });
  await ctx.audit.record({ action: 'bot.create', instanceId: instance.id, ...auditActor(actor), detail: { botId: member.row.id, tokenId: issued.tokenId, scopes: input.scopes } });
  return { bot: presentBot(instance.id, member.row), token: issued.token };
};

export const listBots = async (ctx: AppContext, actor: Actor, instanceId: string): Promise<Bot[]> => {
  const { instance } = await accessInstance(ctx, actor, instanceId, 'admin');
  return (await listBotsOfInstance(ctx.database.db, instance.id)).map((row: BotListing) => presentBot(instance.id, { ...row, display_name: openDisplayName(ctx.keyring, row.id, row.display_name) }));
};

/** Removes a bot: every token it has dies at once (its credential epoch), its sockets close, it leaves the instance. */
export const removeBot = async (ctx: AppContext, actor: Actor, instanceId: string, botId: string): Promise<void> => {
  const { instance } = await accessInstance(ctx, actor, instanceId, 'admin');
  if (!(await listBotsOfInstance(ctx.database.db, instance.id)).some((bot) => bot.id === botId)) throw new AppError('BOT_NOT_FOUND');
  await bumpCredentialEpoch(ctx, { kind: 'account', accountId: botId }, ctx.database.db, actor);
  await deleteBotMembership(ctx.database.db, instance.id, botId);
  await ctx.audit.record({ action: 'bot.remove', instanceId: instance.id, ...auditActor(actor), detail: { botId } });
};
