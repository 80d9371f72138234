import type { TokenScope } from '@conclave/protocol';
import type { Kysely } from 'kysely';
import type { AppContext } from '../context.ts';
import { TOKEN_PREFIX, hashToken, newId, newSecretToken } from '../crypto/index.ts';
import type { Schema } from '../db/index.ts';
import { AppError } from '../errors.ts';
import type { RevokeScope } from '../realtime/index.ts';
import { findAccountById, updateAccountNotBefore, type AccountRow } from './account.queries.ts';
import { openAccount } from './account.seal.ts';
import { findServerState, updateServerState } from './server-state.queries.ts';
import { openSessionClient, sealSessionClient, type SessionClient } from './session.seal.ts';
import { insertRevocations } from './revocation.queries.ts';
import {
  deleteSession,
  deleteSessionOfAccount,
  deleteSessionsOfAccountExcept,
  findSessionByTokenHash,
  findSessionEpochs,
  insertSession,
  listLiveSessionsOfAccount,
  touchSession,
  type SessionRow,
} from './session.queries.ts';
import { findApiTokenEpochs } from './token.queries.ts';

/**
 * What authenticated a request, as far as the audit log and the credential epochs care: its id (a session's
 * or an API token's) and when it was made.
 */
export interface Credential {
  id: string;
  created_at: number;
}

/** Who is making a request, and through which session or API token. */
export interface Actor {
  account: AccountRow;
  /** The session (the whole row); for an API token, the token's id and creation time. */
  session: Credential;
  via: 'cookie' | 'bearer' | 'token';
  /** The presented token, kept in memory only to derive the CSRF token. */
  token: string;
  /** Set when an API token authenticated the request: what it may do besides what its owner may. */
  apiToken?: { id: string; scopes: TokenScope[] };
  /** The client's address and user agent (the audit log keeps keyed hashes of them). */
  client?: { ip: string; userAgent: string | undefined };
}

/** An actor authenticated by a session (cookie or bearer): the only kind that manages sessions, tokens and the password. */
export interface SessionActor extends Actor {
  via: 'cookie' | 'bearer';
  session: SessionRow;
  apiToken?: undefined;
}

export const isSessionActor = (actor: Actor): actor is SessionActor => actor.via !== 'token';

/** The audit fields every entry made on behalf of an actor carries: an API token's id goes where a session's would. */
export const auditActor = (actor: Actor) => ({
  actorId: actor.account.id,
  sessionId: actor.session.id,
  ip: actor.client?.ip,
  userAgent: actor.client?.userAgent,
});

/** last_seen_at is written at most this often per session, not on every request. */
export const SESSION_TOUCH_INTERVAL_MS = 60_000;

/**
 * Starts a session. `floor` is a credential epoch the new session must not predate (a session made in the
 * same millisecond as the epoch bump that preceded it is still valid).
 */
export const startSession = async (
  ctx: AppContext,
  accountId: string,
  options: { floor?: number; db?: Kysely<Schema>; client?: { ip?: string | undefined; userAgent?: string | undefined } | undefined } = {},
): Promise<{ token: string; session: SessionRow }> => {
  const now = Math.max(ctx.now(), options.floor ?? 0);
  const token = newSecretToken(TOKEN_PREFIX.session);
  const id = newId(now);
  const session: SessionRow = {
    id,
    token_hash: hashToken(token),
    account_id: accountId,
    created_at: now,
    last_seen_at: now,
    idle_expires_at: Math.min(now + ctx.config.sessionIdleTtlMs, now + ctx.config.sessionMaxTtlMs),
    expires_at: now + ctx.config.sessionMaxTtlMs,
    ...sealSessionClient(ctx.keyring, id, options.client),
  };
  await insertSession(options.db ?? ctx.database.db, session);
  return { token, session };
};

/**
 * The epoch that governs a session's or API token's account: its own or the server's, whichever is later. A
 * credential made before it is dead.
 */
export const governingEpoch = (accountNotBefore: number, globalNotBefore: number): number => Math.max(accountNotBefore, globalNotBefore);

/** A session is alive while unexpired and not older than the server's or its account's credential epoch. */
export const resolveSession = async (
  ctx: AppContext,
  token: string,
): Promise<{ account: AccountRow; session: SessionRow } | undefined> => {
  if (!token.startsWith(TOKEN_PREFIX.session) || token.length > 200) return undefined;
  const found = await findSessionByTokenHash(ctx.database.db, hashToken(token));
  if (!found) return undefined;
  const { session, globalNotBefore } = found;
  const now = ctx.now();
  if (session.expires_at <= now || session.idle_expires_at <= now) return undefined;
  if (session.created_at < governingEpoch(found.account.not_before, globalNotBefore)) return undefined;
  const account = openAccount(ctx.keyring, found.account);
  if (now - session.last_seen_at >= SESSION_TOUCH_INTERVAL_MS) {
    const idleExpiresAt = Math.min(now + ctx.config.sessionIdleTtlMs, session.expires_at);
    await touchSession(ctx.database.db, session.id, now, idleExpiresAt);
    return { account, session: { ...session, last_seen_at: now, idle_expires_at: idleExpiresAt } };
  }
  return { account, session };
};

/** Ends one session; its live sockets close on every node. */
export const endSession = async (ctx: AppContext, sessionId: string): Promise<void> => {
  await deleteSession(ctx.database.db, sessionId);
  await publishRevocation(ctx, { kind: 'session', sessionId });
};

/**
 * Tells every node to close the sockets a revocation covers. The database write already took effect (call it
 * after commit). Each scope goes on the bus and into the revocation log, which every serving node reads: a
 * revocation made where the bus does not reach (the CLI beside a server without Redis) still closes sockets.
 */
export const publishRevocation = async (ctx: AppContext, scope: RevokeScope): Promise<void> => publishRevocations(ctx, [scope]);

export const publishRevocations = async (ctx: AppContext, scopes: RevokeScope[]): Promise<void> => {
  if (scopes.length === 0) return;
  try {
    await ctx.bus.publish(scopes.map((scope) => ({ kind: 'revoke' as const, scope })));
  } catch (error) {
    ctx.log.error({ err: error }, 'revocation publish failed; the revocation log still carries it');
  }
  try {
    await insertRevocations(ctx.database.db, scopes.map((scope) => JSON.stringify(scope)), ctx.now());
  } catch (error) {
    ctx.log.error({ err: error }, 'revocation log write failed; nodes the bus does not reach close these sockets at their next check');
  }
};

/**
 * After epochs changed in bulk (many accounts in one statement, as containment does): every node re-validates
 * the sockets it holds against the database and closes the dead ones. No per-account scope is needed.
 */
/** Above this many accounts, one recheck on every node replaces a revocation per account. */
export const RECHECK_ABOVE = 20;

/**
 * The sockets of these accounts' sessions and tokens older than `notBefore` close: a few accounts by their own
 * scopes (only their sockets are looked at), more as one recheck of every socket on every node.
 */
export const publishAccountRevocations = (ctx: AppContext, accountIds: string[], notBefore: number): Promise<void> =>
  publishRevocations(ctx, accountIds.length > RECHECK_ABOVE ? [{ kind: 'recheck' }] : accountIds.map((accountId) => ({ kind: 'account' as const, accountId, notBefore })));

export const publishCredentialRecheck = (ctx: AppContext): Promise<void> => publishRevocation(ctx, { kind: 'recheck' });

/** Ids per lookup when many credentials are checked at once. */
const CREDENTIAL_CHECK_CHUNK = 500;

/**
 * Of these sessions and API tokens (by id), those that no longer stand: deleted (logged out, revoked), or made
 * before the epoch that governs them (the rule resolveSession and resolveApiToken apply), in chunked lookups.
 */
export const findEndedCredentials = async (ctx: AppContext, credentials: Array<{ id: string; kind: 'session' | 'token' }>): Promise<Set<string>> => {
  const db = ctx.database.db;
  const globalNotBefore = (await findServerState(db)).not_before;
  const ended = new Set<string>();
  for (const kind of ['session', 'token'] as const) {
    const ids = [...new Set(credentials.filter((c) => c.kind === kind).map((c) => c.id))];
    for (let i = 0; i < ids.length; i += CREDENTIAL_CHECK_CHUNK) {
      const chunk = ids.slice(i, i + CREDENTIAL_CHECK_CHUNK);
      const rows = kind === 'session' ? await findSessionEpochs(db, chunk) : await findApiTokenEpochs(db, chunk);
      const standing = new Set(rows.filter((row) => row.created_at >= governingEpoch(row.account_not_before, globalNotBefore)).map((row) => row.id));
      for (const id of chunk) if (!standing.has(id)) ended.add(id);
      // Let requests in between chunks.
      if (i + CREDENTIAL_CHECK_CHUNK < ids.length) await new Promise((resolve) => setImmediate(resolve));
    }
  }
  return ended;
};

export type EpochScope = { kind: 'global' } | { kind: 'account'; accountId: string };

/**
 * One write that kills every older session of the scope: the new epoch is one millisecond ahead,
 * so a session created in this very millisecond (before the bump) dies too. Returns the epoch.
 * It publishes the revocation (bus and revocation log) at once: pass no open transaction as `db` — nodes would
 * hear of an epoch not yet committed, and on SQLite the log's insert would wait for that transaction forever.
 */
export const bumpCredentialEpoch = async (ctx: AppContext, scope: EpochScope, db: Kysely<Schema> = ctx.database.db, by?: Actor): Promise<number> => {
  const notBefore = ctx.now() + 1;
  if (scope.kind === 'global') await updateServerState(db, { not_before: notBefore });
  else await updateAccountNotBefore(db, scope.accountId, notBefore);
  await publishRevocation(ctx, scope.kind === 'global' ? { kind: 'global', notBefore } : { kind: 'account', accountId: scope.accountId, notBefore });
  await ctx.audit.record({ action: 'credentials.revoke', ...(by ? auditActor(by) : {}), detail: { scope: scope.kind, notBefore, ...(scope.kind === 'account' ? { accountId: scope.accountId } : {}) } });
  return notBefore;
};

/** The epoch that governs an account's sessions and tokens: its own or the server's, whichever is later. */
export const accountEpoch = async (ctx: AppContext, account: Pick<AccountRow, 'not_before'>): Promise<number> =>
  governingEpoch(account.not_before, (await findServerState(ctx.database.db)).not_before);

export interface SessionListingRow {
  session: SessionRow;
  client: SessionClient;
  current: boolean;
}

/** The actor's sessions that still work, newest first, with where and with what each logged in. */
export const listMySessions = async (ctx: AppContext, actor: SessionActor): Promise<SessionListingRow[]> => {
  const rows = await listLiveSessionsOfAccount(ctx.database.db, actor.account.id, ctx.now(), await accountEpoch(ctx, actor.account));
  return rows.map((session) => ({ session, client: openSessionClient(ctx.keyring, session), current: session.id === actor.session.id }));
};

/** Ends one of the actor's sessions (this one too, if named). Someone else's session answers like a missing one. */
export const endMySession = async (ctx: AppContext, actor: SessionActor, sessionId: string): Promise<{ current: boolean }> => {
  if (!(await deleteSessionOfAccount(ctx.database.db, actor.account.id, sessionId))) throw new AppError('SESSION_NOT_FOUND');
  await publishRevocation(ctx, { kind: 'session', sessionId });
  const current = sessionId === actor.session.id;
  await ctx.audit.record({ action: 'session.end', ...auditActor(actor), detail: { endedSessionId: sessionId, current } });
  return { current };
};

/** Ends every session of the actor's but the one making the request; their sockets close. API tokens stay. */
export const endOtherSessions = async (ctx: AppContext, actor: SessionActor): Promise<number> => {
  const ended = await deleteSessionsOfAccountExcept(ctx.database.db, actor.account.id, actor.session.id);
  await publishRevocations(ctx, ended.map((sessionId) => ({ kind: 'session', sessionId })));
  await ctx.audit.record({ action: 'session.end_others', ...auditActor(actor), detail: { ended: ended.length } });
  return ended.length;
};

/** Operators (the people who run the server) only; anyone else is refused with FORBIDDEN. */
export const assertOperator = (actor: Actor): Actor => {
  if (actor.account.is_operator !== 1) throw new AppError('FORBIDDEN', { message: 'Only a server operator can do that.' });
  return actor;
};

/** An operator ends every session and API token of one account (the account's credential epoch). */
export const revokeAccountCredentials = async (ctx: AppContext, actor: Actor, accountId: string): Promise<void> => {
  assertOperator(actor);
  if (!(await findAccountById(ctx.database.db, accountId))) throw new AppError('ACCOUNT_NOT_FOUND', { message: 'No such account.' });
  await bumpCredentialEpoch(ctx, { kind: 'account', accountId }, ctx.database.db, actor);
};

/** An operator ends every session and API token on the server, their own included (the server's epoch). */
export const revokeAllCredentials = async (ctx: AppContext, actor: Actor): Promise<void> => {
  assertOperator(actor);
  await bumpCredentialEpoch(ctx, { kind: 'global' }, ctx.database.db, actor);
};
