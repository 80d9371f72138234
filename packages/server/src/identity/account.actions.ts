import type { Kysely } from 'kysely';
import type { AppContext } from '../context.ts';
import { newId, newSecretToken } from '../crypto/index.ts';
import { isUniqueViolation, type Schema } from '../db/index.ts';
import { AppError } from '../errors.ts';
import { openAccount, sealAccount } from './account.seal.ts';
import {
  findAccountByEmailKey,
  findAccountById,
  findAccountsByIds,
  insertAccount,
  updateAccountCredentials,
  updateAccountPasswordHash,
  updateDisplayName,
  type AccountRow,
} from './account.queries.ts';
import type { VerifyResult } from './password.hasher.ts';
import { isWrappedLegacyHash, verifyWrappedLegacyHash } from './password.legacy.ts';
import { findPasswordProblem, type PasswordContext } from './password.policy.ts';
import { auditActor, publishRevocation, startSession, type Actor } from './session.actions.ts';
import type { SessionRow } from './session.queries.ts';

/** The lookup key of an email address: a keyed blind index of its trimmed, NFC, lower-case form. */
export const emailKeyOf = (ctx: AppContext, email: string): string => ctx.keyring.emailIndex(email);

/** The account with this email, opened; undefined when none has it. */
export const findAccountByEmail = async (ctx: AppContext, email: string, db: Kysely<Schema> = ctx.database.db): Promise<AccountRow | undefined> => {
  const row = await findAccountByEmailKey(db, emailKeyOf(ctx, email));
  return row && openAccount(ctx.keyring, row);
};

export const findAccount = async (ctx: AppContext, id: string): Promise<AccountRow | undefined> => {
  const row = await findAccountById(ctx.database.db, id);
  return row && openAccount(ctx.keyring, row);
};

/** Accounts by id, opened, in one query (those that exist; in id order). */
export const findAccounts = async (ctx: AppContext, ids: string[]): Promise<AccountRow[]> =>
  (await findAccountsByIds(ctx.database.db, [...new Set(ids)])).map((row) => openAccount(ctx.keyring, row));

/** Stores a prepared account, sealed. */
export const saveNewAccount = async (ctx: AppContext, db: Kysely<Schema>, row: AccountRow): Promise<void> => {
  await insertAccount(db, sealAccount(ctx.keyring, row));
};

export const assertPasswordAcceptable = (ctx: AppContext, password: string, context: PasswordContext): void => {
  const problem = findPasswordProblem(password, ctx.blocklist, context);
  if (problem) throw new AppError(problem);
};

export interface NewAccount {
  email: string;
  displayName: string;
  password: string;
  isOperator?: boolean;
}

/** Hashes first (slow, outside any transaction), then returns a row ready to insert. */
export const prepareAccount = async (ctx: AppContext, input: NewAccount): Promise<AccountRow> => {
  assertPasswordAcceptable(ctx, input.password, { email: input.email, displayName: input.displayName });
  const passwordHash = await ctx.hasher.hash(input.password);
  const now = ctx.now();
  return {
    id: newId(now),
    email: input.email.trim(),
    email_key: emailKeyOf(ctx, input.email),
    display_name: input.displayName.trim(),
    password_hash: passwordHash,
    is_operator: input.isOperator ? 1 : 0,
    not_before: 0,
    reset_required_at: null,
    two_factor_enabled_at: null,
    created_at: now,
    updated_at: now,
    bot_owner_id: null,
  };
};

/**
 * A bot's account (decision 0020): owned by an instance admin, it never logs in with a password. Its address
 * is made up under the reserved .invalid domain and its password hash is argon2id over 256 random bits
 * nobody keeps, so the row has the forms every account has; `authenticate` refuses it besides.
 */
export const prepareBotAccount = async (ctx: AppContext, input: { displayName: string; ownerId: string }): Promise<AccountRow> => {
  const now = ctx.now();
  const id = newId(now);
  const email = `bot-${id}@bots.conclave.invalid`;
  return {
    id,
    email,
    email_key: emailKeyOf(ctx, email),
    display_name: input.displayName.trim(),
    password_hash: await ctx.hasher.hash(newSecretToken('')),
    is_operator: 0,
    not_before: 0,
    reset_required_at: null,
    two_factor_enabled_at: null,
    created_at: now,
    updated_at: now,
    bot_owner_id: input.ownerId,
  };
};

/** Creates an account; EMAIL_TAKEN when the address is in use (for operators and admins, who may know). */
export const createAccount = async (ctx: AppContext, input: NewAccount, db: Kysely<Schema> = ctx.database.db): Promise<AccountRow> => {
  const row = await prepareAccount(ctx, input);
  try {
    await saveNewAccount(ctx, db, row);
  } catch (error) {
    if (isUniqueViolation(error)) throw new AppError('EMAIL_TAKEN');
    throw error;
  }
  return row;
};

/**
 * Checks a password against an account's stored hash: native argon2id, or a wrapped legacy hash from an
 * import (always to be replaced by the native form once it matched).
 */
const checkPassword = async (ctx: AppContext, account: AccountRow, password: string): Promise<VerifyResult> =>
  isWrappedLegacyHash(account.password_hash)
    ? { ok: await verifyWrappedLegacyHash(ctx.hasher, account.password_hash, password), needsRehash: true }
    : ctx.hasher.verify(account.password_hash, password);

/**
 * Checks an email and password. An unknown email costs one dummy verification, so it answers exactly like a
 * wrong password in body, status and time. A hash made with weaker parameters than configured, or a wrapped
 * legacy hash, is replaced by a fresh native one. An account whose reset is required still passes here: the
 * log-in route refuses it next (refuseLoginIfResetRequired, which also mails a fresh link), so only the right
 * password learns of the reset.
 *
 * This is the password step only: when the account has two-factor authentication on, the caller must not
 * start a session but a second step (startLoginChallenge); every way into a session from a password,
 * including a log-in after a password reset, goes through the log-in route that does so (decision 0013).
 */
export const authenticate = async (ctx: AppContext, email: string, password: string): Promise<AccountRow> => {
  const account = await findAccountByEmail(ctx, email);
  if (!account || account.bot_owner_id !== null) {
    // A bot acts only through its API tokens: its made-up address answers like an unknown one.
    await ctx.hasher.verifyDummy(password);
    throw new AppError('INVALID_CREDENTIALS');
  }
  const result = await checkPassword(ctx, account, password);
  if (!result.ok) throw new AppError('INVALID_CREDENTIALS');
  if (result.needsRehash) {
    const wasLegacy = isWrappedLegacyHash(account.password_hash);
    const passwordHash = await ctx.hasher.hash(password);
    await updateAccountPasswordHash(ctx.database.db, account.id, passwordHash, ctx.now());
    account.password_hash = passwordHash;
    if (wasLegacy) await ctx.audit.record({ action: 'account.legacy_hash_upgrade', actorId: account.id });
  }
  return account;
};

/** Checks a password for an account already loaded (sign-up for a known email, re-confirming a password). */
export const passwordMatches = async (ctx: AppContext, account: AccountRow, password: string): Promise<boolean> =>
  (await checkPassword(ctx, account, password)).ok;

/** Changes the name people see; sealed like every name, audited (the old and new names are not logged). */
export const renameAccount = async (ctx: AppContext, actor: Actor, displayName: string): Promise<AccountRow> => {
  const name = displayName.trim();
  if (name.length === 0) throw new AppError('VALIDATION_FAILED', { message: 'A display name cannot be blank.' });
  const now = ctx.now();
  const sealed = sealAccount(ctx.keyring, { ...actor.account, display_name: name });
  await updateDisplayName(ctx.database.db, actor.account.id, sealed.display_name, now);
  await ctx.audit.record({ action: 'account.rename', ...auditActor(actor) });
  return { ...actor.account, display_name: name, updated_at: now };
};

/**
 * Changes the password and, in the same transaction, bumps the account's credential epoch (every other
 * session dies) and starts a fresh session for the person who made the change.
 */
export const changePassword = async (
  ctx: AppContext,
  actor: Actor,
  currentPassword: string,
  newPassword: string,
): Promise<{ token: string; session: SessionRow }> => {
  const current = await checkPassword(ctx, actor.account, currentPassword);
  if (!current.ok) {
    await ctx.audit.record({ action: 'account.password_change_failed', ...auditActor(actor) });
    throw new AppError('CURRENT_PASSWORD_INCORRECT');
  }
  assertPasswordAcceptable(ctx, newPassword, { email: actor.account.email, displayName: actor.account.display_name });
  const passwordHash = await ctx.hasher.hash(newPassword);
  let notBefore = 0;
  const started = await ctx.database.db.transaction().execute(async (trx) => {
    const now = ctx.now();
    notBefore = now + 1;
    await updateAccountCredentials(trx, actor.account.id, { passwordHash, notBefore, now });
    return startSession(ctx, actor.account.id, { floor: notBefore, db: trx, client: actor.client });
  });
  await publishRevocation(ctx, { kind: 'account', accountId: actor.account.id, notBefore });
  await ctx.audit.record({ action: 'account.password_change', ...auditActor(actor), detail: { newSessionId: started.session.id, notBefore } });
  return started;
};
