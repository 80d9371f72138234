import type { Kysely, Selectable } from 'kysely';
import type { AccountsTable, Schema } from '../db/index.ts';

export type AccountRow = Selectable<AccountsTable>;

/** Every account column, for queries that join an account to what authenticates it (sessions, API tokens). */
export const ACCOUNT_COLUMNS = [
  'accounts.id',
  'accounts.email',
  'accounts.email_key',
  'accounts.display_name',
  'accounts.password_hash',
  'accounts.is_operator',
  'accounts.not_before',
  'accounts.reset_required_at',
  'accounts.two_factor_enabled_at',
  'accounts.created_at',
  'accounts.updated_at',
  'accounts.bot_owner_id',
] as const;

export const findAccountByEmailKey = (db: Kysely<Schema>, emailKey: string): Promise<AccountRow | undefined> =>
  db.selectFrom('accounts').selectAll().where('email_key', '=', emailKey).executeTakeFirst();

export const findAccountById = (db: Kysely<Schema>, id: string): Promise<AccountRow | undefined> =>
  db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst();

export const findAccountsByIds = (db: Kysely<Schema>, ids: string[]): Promise<AccountRow[]> =>
  ids.length === 0 ? Promise.resolve([]) : db.selectFrom('accounts').selectAll().where('id', 'in', ids).orderBy('id').execute();

export const insertAccount = async (db: Kysely<Schema>, row: AccountRow): Promise<void> => {
  await db.insertInto('accounts').values(row).execute();
};

export const updateAccountPasswordHash = async (db: Kysely<Schema>, id: string, passwordHash: string, now: number): Promise<void> => {
  await db.updateTable('accounts').set({ password_hash: passwordHash, updated_at: now }).where('id', '=', id).execute();
};

export const updateAccountCredentials = async (
  db: Kysely<Schema>,
  id: string,
  change: { passwordHash: string; notBefore: number; now: number },
): Promise<void> => {
  await db
    .updateTable('accounts')
    .set({ password_hash: change.passwordHash, not_before: change.notBefore, updated_at: change.now })
    .where('id', '=', id)
    .execute();
};

export const updateAccountNotBefore = async (db: Kysely<Schema>, id: string, notBefore: number): Promise<void> => {
  await db.updateTable('accounts').set({ not_before: notBefore, updated_at: notBefore }).where('id', '=', id).execute();
};

export const setAccountOperator = async (db: Kysely<Schema>, id: string, isOperator: boolean, now: number): Promise<void> => {
  await db.updateTable('accounts').set({ is_operator: isOperator ? 1 : 0, updated_at: now }).where('id', '=', id).execute();
};

export const listAccounts = (db: Kysely<Schema>): Promise<AccountRow[]> =>
  db.selectFrom('accounts').selectAll().orderBy('created_at').orderBy('id').execute();

export const countAccounts = async (db: Kysely<Schema>): Promise<number> => {
  const row = await db.selectFrom('accounts').select((eb) => eb.fn.countAll<number>().as('count')).executeTakeFirstOrThrow();
  return Number(row.count);
};

/** Accounts whose email is still stored in clear (from before encryption at rest). */
export const findAccountsInClear = (db: Kysely<Schema>, limit: number): Promise<AccountRow[]> =>
  db.selectFrom('accounts').selectAll().where('email', 'not like', 'cv1.%').limit(limit).execute();

/** Replaces the clear fields, only if they are still the ones read (another node may have sealed them). */
export const resealAccount = async (db: Kysely<Schema>, before: AccountRow, after: Pick<AccountRow, 'email' | 'email_key' | 'display_name'>): Promise<void> => {
  await db.updateTable('accounts').set(after).where('id', '=', before.id).where('email', '=', before.email).execute();
};

export const updateDisplayName = async (db: Kysely<Schema>, accountId: string, sealedName: string, now: number): Promise<void> => {
  await db.updateTable('accounts').set({ display_name: sealedName, updated_at: now }).where('id', '=', accountId).execute();
};
