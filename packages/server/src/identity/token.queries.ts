import type { Kysely, Selectable } from 'kysely';
import type { ApiTokensTable, Schema } from '../db/index.ts';
import { ACCOUNT_COLUMNS, type AccountRow } from './account.queries.ts';

export type ApiTokenRow = Selectable<ApiTokensTable>;

export const insertApiToken = async (db: Kysely<Schema>, row: ApiTokenRow): Promise<void> => {
  await db.insertInto('api_tokens').values(row).execute();
};

/** The token for a hash, with its account and the server-wide credential epoch, in one round trip. */
export const findApiTokenByHash = async (
  db: Kysely<Schema>,
  tokenHash: string,
): Promise<{ token: ApiTokenRow; account: AccountRow; globalNotBefore: number } | undefined> => {
  const row = await db
    .selectFrom('api_tokens')
    .innerJoin('accounts', 'accounts.id', 'api_tokens.account_id')
    .innerJoin('server_state', (join) => join.on('server_state.id', '=', 1))
    .select([
      'api_tokens.id as t_id',
      'api_tokens.account_id as t_account_id',
      'api_tokens.name as t_name',
      'api_tokens.token_hash as t_token_hash',
      'api_tokens.scopes as t_scopes',
      'api_tokens.created_at as t_created_at',
      'api_tokens.last_used_at as t_last_used_at',
      'api_tokens.expires_at as t_expires_at',
      ...ACCOUNT_COLUMNS,
      'server_state.not_before as global_not_before',
    ])
    .where('api_tokens.token_hash', '=', tokenHash)
    .executeTakeFirst();
  if (!row) return undefined;
  const { t_id, t_account_id, t_name, t_token_hash, t_scopes, t_created_at, t_last_used_at, t_expires_at, global_not_before, ...account } = row;
  return {
    token: {
      id: t_id,
      account_id: t_account_id,
      name: t_name,
      token_hash: t_token_hash,
      scopes: t_scopes,
      created_at: t_created_at,
      last_used_at: t_last_used_at,
      expires_at: t_expires_at,
    },
    account,
    globalNotBefore: global_not_before,
  };
};

/** The account's tokens that still work (unexpired, not older than `notBefore`), newest first. */
export const listLiveApiTokens = (db: Kysely<Schema>, accountId: string, now: number, notBefore: number): Promise<ApiTokenRow[]> =>
  db
    .selectFrom('api_tokens')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('created_at', '>=', notBefore)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .execute();

/** Deletes the account's tokens that can never work again (expired, or older than the epoch); returns how many. */
export const deleteDeadApiTokens = async (db: Kysely<Schema>, accountId: string, now: number, notBefore: number): Promise<number> => {
  const result = await db
    .deleteFrom('api_tokens')
    .where('account_id', '=', accountId)
    .where((eb) => eb.or([eb('created_at', '<', notBefore), eb.and([eb('expires_at', 'is not', null), eb('expires_at', '<=', now)])]))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
};

export const countApiTokens = async (db: Kysely<Schema>, accountId: string): Promise<number> => {
  const row = await db.selectFrom('api_tokens').select((eb) => eb.fn.countAll<number>().as('n')).where('account_id', '=', accountId).executeTakeFirstOrThrow();
  return Number(row.n);
};

/** Deletes one token of this account; false when the account has no token with that id. */
export const deleteApiTokenOfAccount = async (db: Kysely<Schema>, accountId: string, id: string): Promise<boolean> => {
  const result = await db.deleteFrom('api_tokens').where('id', '=', id).where('account_id', '=', accountId).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
};

export const touchApiToken = async (db: Kysely<Schema>, id: string, lastUsedAt: number): Promise<void> => {
  await db.updateTable('api_tokens').set({ last_used_at: lastUsedAt }).where('id', '=', id).execute();
};

/** For API tokens by id: when each was made and its account's credential epoch (a missing id was revoked). */
export const findApiTokenEpochs = (db: Kysely<Schema>, ids: string[]): Promise<Array<{ id: string; created_at: number; account_not_before: number }>> =>
  db
    .selectFrom('api_tokens')
    .innerJoin('accounts', 'accounts.id', 'api_tokens.account_id')
    .select(['api_tokens.id', 'api_tokens.created_at', 'accounts.not_before as account_not_before'])
    .where('api_tokens.id', 'in', ids)
    .execute();
