import type { Kysely, Selectable } from 'kysely';
import type { PasswordResetsTable, Schema } from '../db/index.ts';

export type PasswordResetRow = Selectable<PasswordResetsTable>;

export const insertResets = async (db: Kysely<Schema>, rows: PasswordResetRow[]): Promise<void> => {
  if (rows.length > 0) await db.insertInto('password_resets').values(rows).execute();
};

export const findResetByTokenHash = (db: Kysely<Schema>, tokenHash: string): Promise<PasswordResetRow | undefined> =>
  db.selectFrom('password_resets').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();

/** Uses a reset once: false when it was used first (by a concurrent request). */
export const consumeReset = async (db: Kysely<Schema>, id: string, now: number): Promise<boolean> => {
  const result = await db.updateTable('password_resets').set({ used_at: now }).where('id', '=', id).where('used_at', 'is', null).executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
};

/** Every other outstanding link of the account stops working once one was used. */
export const retireResets = async (db: Kysely<Schema>, accountId: string, now: number): Promise<void> => {
  await db.updateTable('password_resets').set({ used_at: now }).where('account_id', '=', accountId).where('used_at', 'is', null).execute();
};

/** When the account's newest reset link was made, if it has one. */
export const findLatestResetAt = async (db: Kysely<Schema>, accountId: string): Promise<number | undefined> => {
  const row = await db.selectFrom('password_resets').select('created_at').where('account_id', '=', accountId).orderBy('created_at', 'desc').limit(1).executeTakeFirst();
  return row?.created_at;
};

/** Flags accounts for a forced reset and bumps their credential epoch (every session ends), in one statement. */
export const flagAccountsResetRequired = async (db: Kysely<Schema>, accountIds: string[], now: number, notBefore: number): Promise<void> => {
  if (accountIds.length === 0) return;
  await db.updateTable('accounts').set({ reset_required_at: now, not_before: notBefore, updated_at: now }).where('id', 'in', accountIds).execute();
};

/** The new password from a reset link: new hash, new epoch, the forced-reset flag cleared. */
export const updateAccountAfterReset = async (db: Kysely<Schema>, id: string, change: { passwordHash: string; notBefore: number; now: number }): Promise<void> => {
  await db
    .updateTable('accounts')
    .set({ password_hash: change.passwordHash, not_before: change.notBefore, reset_required_at: null, updated_at: change.now })
    .where('id', '=', id)
    .execute();
};

/** One page of every account id, in id order (keyset: pass the last id of the previous page). */
export const listAccountIdsAfter = async (db: Kysely<Schema>, afterId: string | undefined, limit: number): Promise<string[]> => {
  let query = db.selectFrom('accounts').select('id');
  if (afterId !== undefined) query = query.where('id', '>', afterId);
  return (await query.orderBy('id').limit(limit).execute()).map((row) => row.id);
};
