import { sql, type Kysely, type Selectable } from 'kysely';
import type { LoginChallengesTable, Schema, TwoFactorTable } from '../db/index.ts';

export type TwoFactorRow = Selectable<TwoFactorTable>;
export type LoginChallengeRow = Selectable<LoginChallengesTable>;

const changed = (result: { numUpdatedRows?: bigint; numDeletedRows?: bigint; numInsertedOrUpdatedRows?: bigint | undefined } | undefined): boolean =>
  Number(result?.numUpdatedRows ?? result?.numDeletedRows ?? result?.numInsertedOrUpdatedRows ?? 0) > 0;

export const findTwoFactor = (db: Kysely<Schema>, accountId: string): Promise<TwoFactorRow | undefined> =>
  db.selectFrom('two_factor').selectAll().where('account_id', '=', accountId).executeTakeFirst();

/** Stores a pending (unconfirmed) secret, replacing an earlier pending one; never one that is on. True when written. */
export const savePendingTwoFactor = async (db: Kysely<Schema>, row: TwoFactorRow): Promise<boolean> => {
  const result = await db
    .insertInto('two_factor')
    .values(row)
    .onConflict((oc) =>
      oc
        .column('account_id')
        .doUpdateSet({ secret: row.secret, enabled_at: null, last_used_step: null, created_at: row.created_at, updated_at: row.updated_at })
        .where('two_factor.enabled_at', 'is', null),
    )
    .executeTakeFirst();
  return changed(result);
};

/** Turns a pending secret on, with the step of its confirming code used. False when it was not pending. */
export const markTwoFactorEnabled = async (db: Kysely<Schema>, accountId: string, step: number, now: number): Promise<boolean> => {
  const result = await db
    .updateTable('two_factor')
    .set({ enabled_at: now, last_used_step: step, failed_attempts: 0, failures_since: null, updated_at: now })
    .where('account_id', '=', accountId)
    .where('enabled_at', 'is', null)
    .executeTakeFirst();
  if (!changed(result)) return false;
  await db.updateTable('accounts').set({ two_factor_enabled_at: now, updated_at: now }).where('id', '=', accountId).execute();
  return true;
};

/** Removes the authenticator, the recovery codes and pending log-in steps. */
export const deleteTwoFactor = async (db: Kysely<Schema>, accountId: string, now: number): Promise<void> => {
  await db.deleteFrom('login_challenges').where('account_id', '=', accountId).execute();
  await db.deleteFrom('two_factor_recovery_codes').where('account_id', '=', accountId).execute();
  await db.deleteFrom('two_factor').where('account_id', '=', accountId).execute();
  await db.updateTable('accounts').set({ two_factor_enabled_at: null, updated_at: now }).where('id', '=', accountId).execute();
};

/**
 * Counts one attempt at a code against the account's limit, atomically: false (refused, nothing counted)
 * when `max` attempts were already made since the window began. A success resets the count.
 */
export const reserveCodeAttempt = async (db: Kysely<Schema>, accountId: string, now: number, windowMs: number, max: number): Promise<boolean> => {
  const windowStart = now - windowMs;
  const expired = sql<boolean>`(failures_since is null or failures_since <= ${windowStart})`;
  const result = await db
    .updateTable('two_factor')
    .set({
      failed_attempts: sql<number>`case when ${expired} then 1 else failed_attempts + 1 end`,
      failures_since: sql<number>`case when ${expired} then ${now} else failures_since end`,
    })
    .where('account_id', '=', accountId)
    .where((eb) => eb.or([eb('failures_since', 'is', null), eb('failures_since', '<=', windowStart), eb('failed_attempts', '<', max)]))
    .executeTakeFirst();
  return changed(result);
};

/**
 * Records a code's step as used, only if it is newer than every step used before (RFC 6238 §5.2: a code is
 * accepted once), and clears the attempt count. False: the step (or a later one) was already used.
 */
export const useTotpStep = async (db: Kysely<Schema>, accountId: string, step: number, now: number): Promise<boolean> => {
  const result = await db
    .updateTable('two_factor')
    .set({ last_used_step: step, failed_attempts: 0, failures_since: null, updated_at: now })
    .where('account_id', '=', accountId)
    .where('enabled_at', 'is not', null)
    .where((eb) => eb.or([eb('last_used_step', 'is', null), eb('last_used_step', '<', step)]))
    .executeTakeFirst();
  return changed(result);
};

/** Marks a recovery code used (once) and clears the attempt count. False: no such unused code. */
export const useRecoveryCode = async (db: Kysely<Schema>, accountId: string, codeHash: string, now: number): Promise<boolean> => {
  const result = await db
    .updateTable('two_factor_recovery_codes')
    .set({ used_at: now })
    .where('account_id', '=', accountId)
    .where('code_hash', '=', codeHash)
    .where('used_at', 'is', null)
    .executeTakeFirst();
  if (!changed(result)) return false;
  await db.updateTable('two_factor').set({ failed_attempts: 0, failures_since: null, updated_at: now }).where('account_id', '=', accountId).execute();
  return true;
};

export const replaceRecoveryCodes = async (db: Kysely<Schema>, accountId: string, codeHashes: string[], now: number): Promise<void> => {
  await db.deleteFrom('two_factor_recovery_codes').where('account_id', '=', accountId).execute();
  await db
    .insertInto('two_factor_recovery_codes')
    .values(codeHashes.map((code_hash) => ({ account_id: accountId, code_hash, created_at: now, used_at: null })))
    .execute();
};

export const countRecoveryCodesLeft = async (db: Kysely<Schema>, accountId: string): Promise<number> => {
  const row = await db
    .selectFrom('two_factor_recovery_codes')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('account_id', '=', accountId)
    .where('used_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.n);
};

/** A new log-in step replaces any earlier one of the account: only the newest challenge works. */
export const replaceLoginChallenge = async (db: Kysely<Schema>, row: LoginChallengeRow): Promise<void> => {
  await db.deleteFrom('login_challenges').where('account_id', '=', row.account_id).execute();
  await db.insertInto('login_challenges').values(row).execute();
};

export const findLoginChallenge = (db: Kysely<Schema>, tokenHash: string): Promise<LoginChallengeRow | undefined> =>
  db.selectFrom('login_challenges').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();

/** Deletes a challenge; true only for the one caller that did (single use). */
export const consumeLoginChallenge = async (db: Kysely<Schema>, tokenHash: string): Promise<boolean> =>
  changed(await db.deleteFrom('login_challenges').where('token_hash', '=', tokenHash).executeTakeFirst());
