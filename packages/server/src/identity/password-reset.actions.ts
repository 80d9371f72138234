import type { AppContext } from '../context.ts';
import { TOKEN_PREFIX, hashToken, newId, newSecretToken } from '../crypto/index.ts';
import { AppError } from '../errors.ts';
import { notifyMailQueued, prepareMail, queueMail, renderPasswordChanged, renderPasswordReset, resetLink, type MailRow } from '../mail/index.ts';
import { assertPasswordAcceptable, emailKeyOf, findAccount, findAccountByEmail } from './account.actions.ts';
import { findAccountsByIds, type AccountRow } from './account.queries.ts';
import { openAccount } from './account.seal.ts';
import {
  consumeReset,
  findLatestResetAt,
  findResetByTokenHash,
  flagAccountsResetRequired,
  insertResets,
  listAccountIdsAfter,
  retireResets,
  updateAccountAfterReset,
  type PasswordResetRow,
} from './password-reset.queries.ts';
import { auditActor, bumpCredentialEpoch, publishAccountRevocations, publishRevocation, type Actor } from './session.actions.ts';

/**
 * A reset request answers no sooner than this after it began. Both paths do the same work, but a known
 * email's transaction writes two rows and wakes the mail worker: about 0.7 ms more at the median in the
 * reset-surge benchmark, measurable over many samples. The floor hides that difference (and the tail's).
 */
export const RESET_ANSWER_FLOOR_MS = 15;

/** A forced account that tries to log in gets at most one new reset mail this often. */
export const LOGIN_RESET_MAIL_INTERVAL_MS = 15 * 60_000;
/** Accounts flagged per transaction in a forced reset: SQLite stays responsive between chunks. */
export const FORCE_RESET_CHUNK = 200;

const TOKEN_SHAPE = new RegExp(`^${TOKEN_PREFIX.reset}[A-Za-z0-9_-]{43}$`);

type Client = { ip: string; userAgent: string | undefined };
type Recipient = Pick<AccountRow, 'id' | 'email' | 'display_name'>;

interface PreparedReset {
  reset: PasswordResetRow;
  mail: MailRow;
}

/** A reset token and its row: the row holds only the token's SHA-256; the token goes only into a mail. */
const newReset = (ctx: AppContext, accountId: string, reason: PasswordResetRow['reason'], now: number): { token: string; reset: PasswordResetRow; ttlMs: number } => {
  const token = newSecretToken(TOKEN_PREFIX.reset);
  const ttlMs = reason === 'requested' ? ctx.config.passwordResetTtlMs : ctx.config.forcedResetTtlMs;
  const reset: PasswordResetRow = { id: newId(now), account_id: accountId, token_hash: hashToken(token), reason, created_at: now, expires_at: now + ttlMs, used_at: null };
  return { token, reset, ttlMs };
};

/** A reset token, its row (hash only) and its mail (sealed): all made before any transaction opens. */
const prepareReset = (ctx: AppContext, account: Recipient, reason: PasswordResetRow['reason'], now: number, idempotencyKey?: string): PreparedReset => {
  const { token, reset, ttlMs } = newReset(ctx, account.id, reason, now);
  const origin = ctx.config.publicUrl.origin;
  const mail = prepareMail(
    ctx,
    {
      kind: 'password_reset',
      accountId: account.id,
      to: account.email,
      idempotencyKey: idempotencyKey ?? `password-reset:${reset.id}`,
      expiresAt: reset.expires_at,
      rendered: renderPasswordReset({ origin, displayName: account.display_name, link: resetLink(origin, token), ttlMs, reason }),
    },
    now,
  );
  return { reset, mail };
};

export interface IssuedResetLink {
  resetId: string;
  /** Goes into one mail and nowhere else (not the database, not a log). */
  link: string;
  ttlMs: number;
  expiresAt: number;
}

/**
 * Fresh reset links, made at the moment the mails that carry them are sent (an incident's "action required"
 * notices, rendered by the mail worker): the rows are stored (hash only) in one statement and the links
 * returned in order, each for its one mail alone. `forced` links last PASSWORD_RESET_FORCED_TTL (72 h by
 * default). The accounts' passwords and sessions are not touched: containment does that.
 */
export const issueResetLinks = async (ctx: AppContext, accountIds: string[], reason: 'forced' = 'forced', now: number = ctx.now()): Promise<IssuedResetLink[]> => {
  const made = accountIds.map((accountId) => newReset(ctx, accountId, reason, now));
  await insertResets(
    ctx.database.db,
    made.map((m) => m.reset),
  );
  const origin = ctx.config.publicUrl.origin;
  return made.map(({ token, reset, ttlMs }) => ({ resetId: reset.id, link: resetLink(origin, token), ttlMs, expiresAt: reset.expires_at }));
};

/**
 * Someone asks for a reset link. A known and an unknown email get the same answer after the same work (a
 * token, its hash, the mail rendered and sealed, a transaction, an audit entry): only the known one's rows
 * are written, and neither answers before RESET_ANSWER_FLOOR_MS. The mail is queued in the transaction that stores the token's hash.
 */
export const requestPasswordReset = async (ctx: AppContext, email: string, client: Client): Promise<void> => {
  const started = performance.now();
  const account = await findAccountByEmail(ctx, email);
  const now = ctx.now();
  const prepared = prepareReset(ctx, account ?? { id: newId(now), email: email.trim(), display_name: 'there' }, 'requested', now);
  await ctx.database.db.transaction().execute(async (trx) => {
    if (!account) return;
    await insertResets(trx, [prepared.reset]);
    await queueMail(trx, prepared.mail);
  });
  if (account) notifyMailQueued();
  // The same entry for both: the audit log must not become an oracle. The email only as its blind index.
  await ctx.audit.record({ action: 'auth.password_reset_request', detail: { emailKey: emailKeyOf(ctx, email) }, ip: client.ip, userAgent: client.userAgent });
  const remaining = RESET_ANSWER_FLOOR_MS - (performance.now() - started);
  if (remaining > 0) await new Promise((resolve) => setTimeout(resolve, remaining));
};

/**
 * Sets a new password with a reset token: once, before it expires, under the password policy. In one
 * transaction the token is used up (with every other outstanding one of the account), the password and the
 * credential epoch change (every session ends), a forced reset is cleared and the "password changed" notice
 * is queued. A refused password uses nothing up.
 */
export const confirmPasswordReset = async (ctx: AppContext, token: string, newPassword: string, client: Client): Promise<void> => {
  if (!TOKEN_SHAPE.test(token)) throw new AppError('RESET_TOKEN_INVALID');
  const reset = await findResetByTokenHash(ctx.database.db, hashToken(token));
  if (!reset) throw new AppError('RESET_TOKEN_INVALID');
  if (reset.used_at !== null) throw new AppError('RESET_TOKEN_USED');
  if (reset.expires_at <= ctx.now()) throw new AppError('RESET_TOKEN_EXPIRED');
  const account = await findAccount(ctx, reset.account_id);
  if (!account) throw new AppError('RESET_TOKEN_INVALID');
  assertPasswordAcceptable(ctx, newPassword, { email: account.email, displayName: account.display_name });
  const passwordHash = await ctx.hasher.hash(newPassword);
  const now = ctx.now();
  const notBefore = now + 1;
  const notice = prepareMail(
    ctx,
    {
      kind: 'password_changed',
      accountId: account.id,
      to: account.email,
      idempotencyKey: `password-changed:${reset.id}`,
      rendered: renderPasswordChanged({ origin: ctx.config.publicUrl.origin, displayName: account.display_name, changedAt: now }),
    },
    now,
  );
  await ctx.database.db.transaction().execute(async (trx) => {
    if (!(await consumeReset(trx, reset.id, now))) throw new AppError('RESET_TOKEN_USED');
    await retireResets(trx, account.id, now);
    await updateAccountAfterReset(trx, account.id, { passwordHash, notBefore, now });
    await queueMail(trx, notice);
  });
  notifyMailQueued();
  await publishRevocation(ctx, { kind: 'account', accountId: account.id, notBefore });
  await ctx.audit.record({ action: 'auth.password_reset', actorId: account.id, detail: { resetId: reset.id, reason: reset.reason, notBefore }, ip: client.ip, userAgent: client.userAgent });
};

/**
 * Log-in with the right password of an account whose reset is required: refused, and a fresh reset link is
 * mailed unless one went out in the last 15 minutes (an idempotency key per account and window closes the
 * race between two concurrent log-ins). Called only after the password was verified.
 */
export const refuseLoginIfResetRequired = async (ctx: AppContext, account: AccountRow, client: Client): Promise<void> => {
  if (account.reset_required_at === null) return;
  const now = ctx.now();
  const latest = await findLatestResetAt(ctx.database.db, account.id);
  let mailed = false;
  if (latest === undefined || latest <= now - LOGIN_RESET_MAIL_INTERVAL_MS) {
    const window = Math.floor(now / LOGIN_RESET_MAIL_INTERVAL_MS);
    const prepared = prepareReset(ctx, account, 'login', now, `reset-required:${account.id}:${window}`);
    mailed = await ctx.database.db.transaction().execute(async (trx) => {
      if (!(await queueMail(trx, prepared.mail))) return false;
      await insertResets(trx, [prepared.reset]);
      return true;
    });
    if (mailed) notifyMailQueued();
  }
  await ctx.audit.record({ action: 'auth.login_refused', actorId: account.id, detail: { reason: 'reset_required', mailed }, ip: client.ip, userAgent: client.userAgent });
  throw new AppError('PASSWORD_RESET_REQUIRED');
};

export interface ForcedResetResult {
  accounts: number;
  mailsQueued: number;
}

/** Pages of account ids in a scope, in id order: `afterId` is the last id of the previous page. */
export type AccountIdPages = (afterId: string | undefined, limit: number) => Promise<string[]>;

export interface ForceResetOptions {
  /** Who forced it (API); the CLI acts as the operator of the machine. */
  actor?: Actor | undefined;
  /** For the audit entry: what was forced. */
  scope: { kind: 'account'; accountId: string } | { kind: 'instance'; instanceId: string } | { kind: 'everyone' };
  onProgress?: (accounts: number) => void;
}

/**
 * Forces a password reset for every account the pages yield, in chunks: each chunk's accounts are flagged,
 * their credential epoch bumped (every session ends) and a reset link queued to each, in one transaction.
 * Admins never set or see a password: the link goes only to the person's address.
 */
export const forceReset = async (ctx: AppContext, pages: AccountIdPages, options: ForceResetOptions): Promise<ForcedResetResult> => {
  const db = ctx.database.db;
  if (options.scope.kind === 'everyone') {
    // One write ends every session at once; the chunks below then flag accounts and queue the mails.
    await bumpCredentialEpoch(ctx, { kind: 'global' });
  }
  let afterId: string | undefined;
  let accounts = 0;
  let mailsQueued = 0;
  for (;;) {
    const ids = await pages(afterId, FORCE_RESET_CHUNK);
    if (ids.length === 0) break;
    afterId = ids[ids.length - 1];
    const rows = (await findAccountsByIds(db, ids)).map((row) => openAccount(ctx.keyring, row));
    const now = ctx.now();
    const notBefore = now + 1;
    const prepared = rows.map((account) => prepareReset(ctx, account, 'forced', now));
    await db.transaction().execute(async (trx) => {
      await flagAccountsResetRequired(trx, rows.map((row) => row.id), now, notBefore);
      await insertResets(trx, prepared.map((p) => p.reset));
      for (const p of prepared) if (await queueMail(trx, p.mail)) mailsQueued += 1;
    });
    notifyMailQueued();
    await publishAccountRevocations(ctx, rows.map((row) => row.id), notBefore);
    accounts += rows.length;
    options.onProgress?.(accounts);
    if (ids.length < FORCE_RESET_CHUNK) break;
    // Let requests in between chunks.
    await new Promise((resolve) => setImmediate(resolve));
  }
  await ctx.audit.record({
    action: 'account.force_reset',
    ...(options.actor ? auditActor(options.actor) : {}),
    ...(options.scope.kind === 'instance' ? { instanceId: options.scope.instanceId } : {}),
    detail: { scope: options.scope.kind, ...(options.scope.kind === 'account' ? { accountId: options.scope.accountId } : {}), accounts, mailsQueued },
  });
  return { accounts, mailsQueued };
};

/** A forced reset of one account. */
export const forceResetAccount = (ctx: AppContext, accountId: string, actor?: Actor): Promise<ForcedResetResult> =>
  forceReset(ctx, async (afterId) => (afterId === undefined ? [accountId] : []), { actor, scope: { kind: 'account', accountId } });

/** A forced reset of every account on the server (operators). */
export const forceResetEveryone = (ctx: AppContext, options: { actor?: Actor; onProgress?: (accounts: number) => void } = {}): Promise<ForcedResetResult> =>
  forceReset(ctx, (afterId, limit) => listAccountIdsAfter(ctx.database.db, afterId, limit), { actor: options.actor, scope: { kind: 'everyone' }, onProgress: options.onProgress });
