import type { Kysely } from 'kysely';
import type { Schema } from '../db/index.ts';

export interface BotListing {
  id: string;
  display_name: string;
  bot_owner_id: string;
  created_at: number;
}

/** The instance's bots (bot accounts that are members and belong to no incoming webhook), oldest first. */
export const listBotsOfInstance = async (db: Kysely<Schema>, instanceId: string): Promise<BotListing[]> =>
  (
    await db
      .selectFrom('memberships')
      .innerJoin('accounts', 'accounts.id', 'memberships.account_id')
      .select(['accounts.id', 'accounts.display_name', 'accounts.bot_owner_id', 'accounts.created_at'])
      .where('memberships.instance_id', '=', instanceId)
      .where('accounts.bot_owner_id', 'is not', null)
      .where((eb) => eb.not(eb.exists(eb.selectFrom('incoming_hooks').select('incoming_hooks.id').whereRef('incoming_hooks.bot_account_id', '=', 'accounts.id'))))
      .orderBy('accounts.created_at')
      .orderBy('accounts.id')
      .execute()
  ).map((row) => ({ ...row, bot_owner_id: row.bot_owner_id ?? '' }));

/** Takes a bot out of an instance (only a bot account: a person's membership is never touched here). */
export const deleteBotMembership = async (db: Kysely<Schema>, instanceId: string, botId: string): Promise<boolean> => {
  const result = await db
    .deleteFrom('memberships')
    .where('instance_id', '=', instanceId)
    .where('account_id', '=', botId)
    .where('account_id', 'in', (eb) => eb.selectFrom('accounts').select('id').where('bot_owner_id', 'is not', null))
    .executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
};
