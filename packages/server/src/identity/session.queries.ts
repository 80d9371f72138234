import type { Kysely, Selectable } from 'kysely';
import type { Schema, SessionsTable } from '../db/index.ts';
import { ACCOUNT_COLUMNS, type AccountRow } from './account.queries.ts';

export type SessionRow = Selectable<SessionsTable>;

export interface SessionWithEpochs {
  session: SessionRow;
  account: AccountRow;
  globalNotBefore: number;
}

export const insertSession = async (db: Kysely<Schema>, row: SessionRow): Promise<void> => {
  await db.insertInto('sessions').values(row).execute();
};

/** The session for a token hash, with its account and the server-wide credential epoch, in one round trip. */
export const findSessionByTokenHash = async (db: Kysely<Schema>, tokenHash: string): Promise<SessionWithEpochs | undefined> => {
  const row = await db
    .selectFrom('sessions')
    .innerJoin('accounts', 'accounts.id', 'sessions.account_id')
    .innerJoin('server_state', (join) => join.on('server_state.id', '=', 1))
    .select([
      'sessions.id as s_id',
      'sessions.token_hash as s_token_hash',
      'sessions.account_id as s_account_id',
      'sessions.created_at as s_created_at',
      'sessions.last_seen_at as s_last_seen_at',
      'sessions.idle_expires_at as s_idle_expires_at',
      'sessions.expires_at as s_expires_at',
      'sessions.ip as s_ip',
      'sessions.user_agent as s_user_agent',
      ...ACCOUNT_COLUMNS,
      'server_state.not_before as global_not_before',
    ])
    .where('sessions.token_hash', '=', tokenHash)
    .executeTakeFirst();
  if (!row) return undefined;
  const { s_id, s_token_hash, s_account_id, s_created_at, s_last_seen_at, s_idle_expires_at, s_expires_at, s_ip, s_user_agent, global_not_before, ...account } = row;
  return {
    session: {
      id: s_id,
      token_hash: s_token_hash,
      account_id: s_account_id,
      created_at: s_created_at,
      last_seen_at: s_last_seen_at,
      idle_expires_at: s_idle_expires_at,
      expires_at: s_expires_at,
      ip: s_ip,
      user_agent: s_user_agent,
    },
    account,
    globalNotBefore: global_not_before,
  };
};

export const touchSession = async (db: Kysely<Schema>, id: string, lastSeenAt: number, idleExpiresAt: number): Promise<void> => {
  await db.updateTable('sessions').set({ last_seen_at: lastSeenAt, idle_expires_at: idleExpiresAt }).where('id', '=', id).execute();
};

export const deleteSession = async (db: Kysely<Schema>, id: string): Promise<void> => {
  await db.deleteFrom('sessions').where('id', '=', id).execute();
};

/** The account's sessions that are unexpired and not older than `notBefore` (its governing epoch), newest first. */
export const listLiveSessionsOfAccount = (db: Kysely<Schema>, accountId: string, now: number, notBefore: number): Promise<SessionRow[]> =>
  db
    .selectFrom('sessions')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('expires_at', '>', now)
    .where('idle_expires_at', '>', now)
    .where('created_at', '>=', notBefore)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .execute();

/** Deletes one session of this account; false when the account has no session with that id. */
export const deleteSessionOfAccount = async (db: Kysely<Schema>, accountId: string, id: string): Promise<boolean> => {
  const result = await db.deleteFrom('sessions').where('id', '=', id).where('account_id', '=', accountId).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
};

/** Deletes every session of the account but one; returns the ids deleted (their sockets are closed by id). */
export const deleteSessionsOfAccountExcept = async (db: Kysely<Schema>, accountId: string, keepId: string): Promise<string[]> => {
  const rows = await db.deleteFrom('sessions').where('account_id', '=', accountId).where('id', '<>', keepId).returning('id').execute();
  return rows.map((r) => r.id);
};

/** For sessions by id: when each was made and its account's credential epoch (a missing id has ended). */
export const findSessionEpochs = (db: Kysely<Schema>, ids: string[]): Promise<Array<{ id: string; created_at: number; account_not_before: number }>> =>
  db
    .selectFrom('sessions')
    .innerJoin('accounts', 'accounts.id', 'sessions.account_id')
    .select(['sessions.id', 'sessions.created_at', 'accounts.not_before as account_not_before'])
    .where('sessions.id', 'in', ids)
    .execute();
