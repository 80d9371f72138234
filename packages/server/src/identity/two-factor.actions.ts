import type { Kysely } from 'kysely';
import type { AppContext } from '../context.ts';
import { TOKEN_PREFIX, hashToken, newSecretToken } from '../crypto/index.ts';
import type { Schema } from '../db/index.ts';
import { AppError } from '../errors.ts';
import { findAccount, passwordMatches } from './account.actions.ts';
import type { AccountRow } from './account.queries.ts';
import { findServerState } from './server-state.queries.ts';
import { auditActor, startSession, type Actor } from './session.actions.ts';
import type { SessionRow } from './session.queries.ts';
import {
  RECOVERY_CODE_COUNT,
  hashRecoveryCode,
  matchTotpStep,
  newRecoveryCode,
  newTotpSecret,
  otpauthUri,
} from './two-factor.codes.ts';
import {
  consumeLoginChallenge,
  countRecoveryCodesLeft,
  deleteTwoFactor,
  findLoginChallenge,
  findTwoFactor,
  markTwoFactorEnabled,
  replaceLoginChallenge,
  replaceRecoveryCodes,
  reserveCodeAttempt,
  savePendingTwoFactor,
  useRecoveryCode,
  useTotpStep,
  type TwoFactorRow,
} from './two-factor.queries.ts';

/** Wrong codes (TOTP or recovery) an account may submit per window, across log-ins and settings. */
export const TWO_FACTOR_MAX_ATTEMPTS = 5;
export const TWO_FACTOR_ATTEMPT_WINDOW_MS = 15 * 60_000;
/** How long the second step of a log-in stays open after the password. */
export const LOGIN_CHALLENGE_TTL_MS = 5 * 60_000;

const SECRET_FIELD = 'two_factor.secret';

export interface SecondFactor {
  code?: string | undefined;
  recoveryCode?: string | undefined;
}

type AuditContext = { actorId: string; sessionId?: string | undefined; ip?: string | undefined; userAgent?: string | undefined };

const openSecret = (ctx: AppContext, row: TwoFactorRow): string => ctx.keyring.server.open(SECRET_FIELD, row.account_id, row.secret);

export interface TwoFactorState {
  enabled: boolean;
  enabledAt: number | null;
  pending: boolean;
  recoveryCodesLeft: number;
}

export const findTwoFactorState = async (ctx: AppContext, accountId: string): Promise<TwoFactorState> => {
  const row = await findTwoFactor(ctx.database.db, accountId);
  return {
    enabled: row?.enabled_at != null,
    enabledAt: row?.enabled_at ?? null,
    pending: row !== undefined && row.enabled_at === null,
    recoveryCodesLeft: row?.enabled_at != null ? await countRecoveryCodesLeft(ctx.database.db, accountId) : 0,
  };
};

const assertPassword = async (ctx: AppContext, actor: Actor, password: string, purpose: string): Promise<void> => {
  if (await passwordMatches(ctx, actor.account, password)) return;
  await ctx.audit.record({ action: 'two_factor.password_failed', ...auditActor(actor), detail: { purpose } });
  throw new AppError('CURRENT_PASSWORD_INCORRECT');
};

const newRecoveryCodes = (): { codes: string[]; hashes: string[] } => {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
  return { codes, hashes: codes.map(hashRecoveryCode) };
};

/**
 * Checks one second factor and, in one transaction, consumes it (a TOTP step is used once; a recovery code
 * once) together with whatever `body` writes. Every attempt counts against the account's limit first; a
 * success clears the count. A wrong code is audited and answers TWO_FACTOR_CODE_INVALID.
 */
const withSecondFactor = async <T>(
  ctx: AppContext,
  row: TwoFactorRow,
  proof: SecondFactor,
  purpose: 'login' | 'enable' | 'disable' | 'recovery_codes',
  audit: AuditContext,
  body: (trx: Kysely<Schema>) => Promise<T>,
): Promise<{ result: T; method: 'totp' | 'recovery_code' }> => {
  if ((proof.code === undefined) === (proof.recoveryCode === undefined)) {
    throw new AppError('VALIDATION_FAILED', { message: 'Send exactly one of code and recoveryCode.', details: [{ path: '/body', problem: 'send exactly one of code and recoveryCode' }] });
  }
  const method = proof.code !== undefined ? 'totp' : 'recovery_code';
  if (method === 'recovery_code' && purpose === 'enable') throw new AppError('TWO_FACTOR_CODE_INVALID');
  const now = ctx.now();
  if (!(await reserveCodeAttempt(ctx.database.db, row.account_id, now, TWO_FACTOR_ATTEMPT_WINDOW_MS, TWO_FACTOR_MAX_ATTEMPTS))) {
    const current = await findTwoFactor(ctx.database.db, row.account_id);
    const waitS = Math.max(1, Math.ceil(((current?.failures_since ?? now) + TWO_FACTOR_ATTEMPT_WINDOW_MS - now) / 1000));
    await ctx.audit.record({ action: 'two_factor.rate_limited', ...audit, detail: { purpose } });
    throw new AppError('RATE_LIMITED', { message: `Too many wrong codes for this account; try again in ${waitS} s.`, headers: { 'retry-after': String(waitS) } });
  }
  let consume: ((trx: Kysely<Schema>) => Promise<boolean>) | undefined;
  if (proof.code !== undefined) {
    const step = matchTotpStep(openSecret(ctx, row), proof.code, now);
    // A step already used (or older than one used) is refused here and, against a race, again in the write.
    if (step !== undefined && (row.last_used_step === null || step > row.last_used_step)) {
      consume = (trx) => (purpose === 'enable' ? markTwoFactorEnabled(trx, row.account_id, step, now) : useTotpStep(trx, row.account_id, step, now));
    }
  } else if (proof.recoveryCode !== undefined) {
    const codeHash = hashRecoveryCode(proof.recoveryCode);
    consume = (trx) => useRecoveryCode(trx, row.account_id, codeHash, now);
  }
  const fail = async (): Promise<never> => {
    await ctx.audit.record({ action: 'two_factor.code_failed', ...audit, detail: { purpose, method } });
    throw new AppError('TWO_FACTOR_CODE_INVALID');
  };
  if (!consume) return fail();
  const use = consume;
  let codeRefused = false;
  let result: T;
  try {
    result = await ctx.database.db.transaction().execute(async (trx) => {
      if (!(await use(trx))) {
        codeRefused = true;
        throw new AppError('TWO_FACTOR_CODE_INVALID');
      }
      return body(trx);
    });
  } catch (error) {
    if (codeRefused) return fail();
    throw error;
  }
  if (method === 'recovery_code') {
    await ctx.audit.record({ action: 'two_factor.recovery_code_used', ...audit, detail: { purpose, left: await countRecoveryCodesLeft(ctx.database.db, row.account_id) } });
  }
  return { result, method };
};

/**
 * Starts (or restarts) a setup: a fresh secret, sealed, pending until a code from it confirms it. Needs the
 * current password. The secret and its otpauth:// URI are shown once.
 */
export const startTwoFactorSetup = async (ctx: AppContext, actor: Actor, password: string): Promise<{ secret: string; otpauthUri: string }> => {
  await assertPassword(ctx, actor, password, 'setup');
  if (actor.account.two_factor_enabled_at !== null) throw new AppError('TWO_FACTOR_ALREADY_ENABLED');
  const secret = newTotpSecret();
  const now = ctx.now();
  const saved = await savePendingTwoFactor(ctx.database.db, {
    account_id: actor.account.id,
    secret: ctx.keyring.server.seal(SECRET_FIELD, actor.account.id, secret),
    enabled_at: null,
    last_used_step: null,
    failed_attempts: 0,
    failures_since: null,
    created_at: now,
    updated_at: now,
  });
  if (!saved) throw new AppError('TWO_FACTOR_ALREADY_ENABLED');
  await ctx.audit.record({ action: 'two_factor.setup', ...auditActor(actor) });
  const issuer = `Conclave (${ctx.config.publicUrl.host})`;
  return { secret, otpauthUri: otpauthUri(secret, actor.account.email, issuer) };
};

/** Confirms a pending setup with a current code: 2FA is on, and the recovery codes are returned once. */
export const enableTwoFactor = async (ctx: AppContext, actor: Actor, code: string): Promise<{ recoveryCodes: string[] }> => {
  const row = await findTwoFactor(ctx.database.db, actor.account.id);
  if (!row) throw new AppError('TWO_FACTOR_SETUP_MISSING');
  if (row.enabled_at !== null) throw new AppError('TWO_FACTOR_ALREADY_ENABLED');
  const { codes, hashes } = newRecoveryCodes();
  await withSecondFactor(ctx, row, { code }, 'enable', auditActor(actor), (trx) => replaceRecoveryCodes(trx, actor.account.id, hashes, ctx.now()));
  await ctx.audit.record({ action: 'two_factor.enable', ...auditActor(actor), detail: { recoveryCodes: codes.length } });
  return { recoveryCodes: codes };
};

const enabledRow = async (ctx: AppContext, accountId: string): Promise<TwoFactorRow> => {
  const row = await findTwoFactor(ctx.database.db, accountId);
  if (!row || row.enabled_at === null) throw new AppError('TWO_FACTOR_NOT_ENABLED');
  return row;
};

/** Turns 2FA off: the password and a current code or a recovery code. */
export const disableTwoFactor = async (ctx: AppContext, actor: Actor, password: string, proof: SecondFactor): Promise<void> => {
  await assertPassword(ctx, actor, password, 'disable');
  const row = await enabledRow(ctx, actor.account.id);
  const { method } = await withSecondFactor(ctx, row, proof, 'disable', auditActor(actor), (trx) => deleteTwoFactor(trx, actor.account.id, ctx.now()));
  await ctx.audit.record({ action: 'two_factor.disable', ...auditActor(actor), detail: { method } });
};

/** New recovery codes (the old ones stop working): the password and a current code or a recovery code. */
export const regenerateRecoveryCodes = async (ctx: AppContext, actor: Actor, password: string, proof: SecondFactor): Promise<{ recoveryCodes: string[] }> => {
  await assertPassword(ctx, actor, password, 'recovery_codes');
  const row = await enabledRow(ctx, actor.account.id);
  const { codes, hashes } = newRecoveryCodes();
  await withSecondFactor(ctx, row, proof, 'recovery_codes', auditActor(actor), (trx) => replaceRecoveryCodes(trx, actor.account.id, hashes, ctx.now()));
  await ctx.audit.record({ action: 'two_factor.recovery_codes_regenerate', ...auditActor(actor), detail: { recoveryCodes: codes.length } });
  return { recoveryCodes: codes };
};

/**
 * After a right password for an account with 2FA on: no session yet, but a single-use challenge (stored as
 * its SHA-256) for the second step. A newer challenge replaces an older one.
 */
export const startLoginChallenge = async (ctx: AppContext, account: AccountRow, client: { ip: string; userAgent: string | undefined }): Promise<{ token: string; expiresAt: number }> => {
  const now = ctx.now();
  const token = newSecretToken(TOKEN_PREFIX.loginChallenge);
  const expiresAt = now + LOGIN_CHALLENGE_TTL_MS;
  await replaceLoginChallenge(ctx.database.db, { token_hash: hashToken(token), account_id: account.id, created_at: now, expires_at: expiresAt });
  await ctx.audit.record({ action: 'auth.two_factor_challenge', actorId: account.id, ip: client.ip, userAgent: client.userAgent });
  return { token, expiresAt };
};

/**
 * The second step of a log-in: a live challenge and one second factor. The challenge dies with use, expiry,
 * a credential-epoch bump after it was made, a required reset, or 2FA being turned off.
 */
export const completeLoginChallenge = async (
  ctx: AppContext,
  challengeToken: string,
  proof: SecondFactor,
  client: { ip: string; userAgent: string | undefined },
): Promise<{ account: AccountRow; token: string; session: SessionRow; method: 'totp' | 'recovery_code' }> => {
  const tokenHash = hashToken(challengeToken);
  const challenge = challengeToken.startsWith(TOKEN_PREFIX.loginChallenge) ? await findLoginChallenge(ctx.database.db, tokenHash) : undefined;
  if (!challenge || challenge.expires_at <= ctx.now()) throw new AppError('TWO_FACTOR_CHALLENGE_INVALID');
  const account = await findAccount(ctx, challenge.account_id);
  const globalNotBefore = (await findServerState(ctx.database.db)).not_before;
  if (!account || account.two_factor_enabled_at === null || account.reset_required_at !== null || challenge.created_at < Math.max(account.not_before, globalNotBefore)) {
    throw new AppError('TWO_FACTOR_CHALLENGE_INVALID');
  }
  const row = await enabledRow(ctx, account.id);
  const { result, method } = await withSecondFactor(ctx, row, proof, 'login', { actorId: account.id, ip: client.ip, userAgent: client.userAgent }, async (trx) => {
    if (!(await consumeLoginChallenge(trx, tokenHash))) throw new AppError('TWO_FACTOR_CHALLENGE_INVALID');
    return startSession(ctx, account.id, { db: trx, client });
  });
  return { account, ...result, method };
};
