import type { Kysely } from 'kysely';
import type { AppContext } from '../context.ts';
import { TOKEN_PREFIX, hashToken, newId, newSecretToken } from '../crypto/index.ts';
import type { Schema } from '../db/index.ts';
import type { RevokeScope } from '../realtime/index.ts';
import { updateAccountNotBefore, type AccountRow } from './account.queries.ts';
import { openAccount } from './account.seal.ts';
import { updateServerState } from './server-state.queries.ts';
import { deleteSession, findSessionByTokenHash, insertSession, touchSession, type SessionRow } from './session.queries.ts';

/** Who is making a request, and through which session. */
export interface Actor {
  account: AccountRow;
  session: SessionRow;
  via: 'cookie' | 'bearer';
  /** The presented token, kept in memory only to derive the CSRF token. */
  token: string;
  /** The client's address and user agent (the audit log keeps keyed hashes of them). */
  client?: { ip: string; userAgent: string | undefined };
}

/** The audit fields every entry made on behalf of an actor carries. */
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
  options: { floor?: number; db?: Kysely<Schema> } = {},
): Promise<{ token: string; session: SessionRow }> => {
  const now = Math.max(ctx.now(), options.floor ?? 0);
  const token = newSecretToken(TOKEN_PREFIX.session);
  const session: SessionRow = {
    id: newId(now),
    token_hash: hashToken(token),
    account_id: accountId,
    created_at: now,
    last_seen_at: now,
    idle_expires_at: Math.min(now + ctx.config.sessionIdleTtlMs, now + ctx.config.sessionMaxTtlMs),
    expires_at: now + ctx.config.sessionMaxTtlMs,
  };
  await insertSession(options.db ?? ctx.database.db, session);
  return { token, session };
};

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
  if (session.created_at < Math.max(found.account.not_before, globalNotBefore)) return undefined;
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

/** Tells every node to close the sockets a revocation covers. The database write already took effect. */
export const publishRevocation = async (ctx: AppContext, scope: RevokeScope): Promise<void> => {
  try {
    await ctx.bus.publish([{ kind: 'revoke', scope }]);
  } catch (error) {
    ctx.log.error({ err: error }, 'revocation publish failed; sockets close at their next check');
  }
};

export type EpochScope = { kind: 'global' } | { kind: 'account'; accountId: string };

/**
 * One write that kills every older session of the scope: the new epoch is one millisecond ahead,
 * so a session created in this very millisecond (before the bump) dies too. Returns the epoch.
 */
export const bumpCredentialEpoch = async (ctx: AppContext, scope: EpochScope, db: Kysely<Schema> = ctx.database.db): Promise<number> => {
  const notBefore = ctx.now() + 1;
  if (scope.kind === 'global') await updateServerState(db, { not_before: notBefore });
  else await updateAccountNotBefore(db, scope.accountId, notBefore);
  await publishRevocation(ctx, scope.kind === 'global' ? { kind: 'global', notBefore } : { kind: 'account', accountId: scope.accountId, notBefore });
  await ctx.audit.record({ action: 'credentials.revoke', detail: { scope: scope.kind, notBefore, ...(scope.kind === 'account' ? { accountId: scope.accountId } : {}) } });
  return notBefore;
};
