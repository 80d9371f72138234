import type { CreateInstanceRequest, CreateInviteRequest, SetupRequest, SignupRequest, UpdateInstanceRequest } from '@conclave/protocol';
import type { AppContext } from '../context.ts';
import { MasterKeyError, TOKEN_PREFIX, hashToken, newId, newSecretToken, safeEqual, shredInstanceKeys, type MasterRotation } from '../crypto/index.ts';
import { isUniqueViolation } from '../db/index.ts';
import { AppError } from '../errors.ts';
import {
  assertPasswordAcceptable,
  auditActor,
  emailKeyOf,
  findAccountByEmail,
  findServerState,
  openDisplayName,
  openEmail,
  passwordMatches,
  prepareAccount,
  publishRevocation,
  saveNewAccount,
  updateServerState,
  type AccountRow,
  type Actor,
} from '../identity/index.ts';
import { accessInstance, roleAtLeast, type InstanceAccess } from './instance.access.ts';
import {
  consumeInvite,
  countOwners,
  deleteInstanceMessagesChunk,
  deleteInstanceRow,
  deleteMembership,
  findInstanceBySlug,
  findInviteByTokenHash,
  findMembership,
  insertInstance,
  insertInvite,
  insertMembershipIfAbsent,
  listMembers,
  markSetupCompleted,
  updateInstanceFields,
  updateMembershipNotBefore,
  updateMembershipRole,
  type InstanceRow,
  type InviteRow,
  type MemberListing,
  type MemberRole,
} from './instance.queries.ts';

const INVITE_DEFAULT_TTL_HOURS = 72;

const newInstanceRow = (
  input: { slug: string; name: string; signupMode?: 'open' | 'invite' | undefined; twoFactorRequired?: InstanceRow['two_factor_required'] | undefined },
  now: number,
): InstanceRow => ({
  id: newId(now),
  slug: input.slug,
  name: input.name.trim(),
  signup_mode: input.signupMode ?? 'invite',
  two_factor_required: input.twoFactorRequired ?? 'off',
  not_before: 0,
  created_at: now,
  updated_at: now,
  file_max_bytes: null,
});

/** A new one-time setup token while the server is not set up (its hash replaces any earlier one); else undefined. */
export const issueSetupToken = async (ctx: AppContext): Promise<string | undefined> => {
  const state = await findServerState(ctx.database.db);
  if (state.setup_completed_at !== null) return undefined;
  const token = newSecretToken(TOKEN_PREFIX.setup);
  await updateServerState(ctx.database.db, { setup_token_hash: hashToken(token) });
  return token;
};

export const isSetupRequired = async (ctx: AppContext): Promise<boolean> =>
  (await findServerState(ctx.database.db)).setup_completed_at === null;

export interface FirstInstanceInput {
  instance: { slug: string; name: string };
  owner: { email: string; displayName: string; password: string };
}

/**
 * Creates the first instance and its owner (who becomes the server's operator) and marks setup done, in one
 * transaction. The CLI calls this directly (it runs with the operator's access to the machine); the API
 * calls it through completeSetup, which demands the setup token.
 */
export const createFirstInstance = async (ctx: AppContext, input: FirstInstanceInput): Promise<{ account: AccountRow; instance: InstanceRow }> => {
  if (!(await isSetupRequired(ctx))) throw new AppError('SETUP_ALREADY_DONE');
  const account = await prepareAccount(ctx, { ...input.owner, isOperator: true });
  const now = ctx.now();
  const instance = newInstanceRow({ ...input.instance, signupMode: 'invite' }, now);
  const keys = await ctx.keyring.prepareInstance(instance.id, now);
  await ctx.database.db.transaction().execute(async (trx) => {
    if (!(await markSetupCompleted(trx, now))) throw new AppError('SETUP_ALREADY_DONE');
    await insertInstance(trx, instance);
    await keys.save(trx);
    try {
      await saveNewAccount(ctx, trx, account);
    } catch (error) {
      if (isUniqueViolation(error)) throw new AppError('EMAIL_TAKEN');
      throw error;
    }
    await insertMembershipIfAbsent(trx, { instance_id: instance.id, account_id: account.id, role: 'owner', created_at: now });
  });
  ctx.log.info({ instanceId: instance.id, accountId: account.id }, 'setup completed');
  await ctx.audit.record({ action: 'setup.complete', instanceId: instance.id, actorId: account.id, detail: { slug: instance.slug } });
  return { account, instance };
};

export const completeSetup = async (ctx: AppContext, input: SetupRequest): Promise<{ account: AccountRow; instance: InstanceRow }> => {
  const state = await findServerState(ctx.database.db);
  if (state.setup_completed_at !== null) throw new AppError('SETUP_ALREADY_DONE');
  if (state.setup_token_hash === null || !safeEqual(hashToken(input.setupToken), state.setup_token_hash)) {
    throw new AppError('SETUP_TOKEN_INVALID');
  }
  return createFirstInstance(ctx, input);
};

const findUsableInvite = async (ctx: AppContext, token: string, instance: InstanceRow, emailKey: string): Promise<InviteRow> => {
  const invite = await findInviteByTokenHash(ctx.database.db, hashToken(token));
  const usable =
    invite !== undefined &&
    invite.instance_id === instance.id &&
    invite.used_at === null &&
    invite.expires_at > ctx.now() &&
    (invite.email_key === null || invite.email_key === emailKey);
  if (!usable) throw new AppError('INVITE_INVALID');
  return invite;
};

/**
 * Sign-up never reveals whether the email has an account. For a new email the account is created; for a
 * known one whose password matches, the account joins the instance (one account, many instances); for a
 * known one whose password does not match, nothing happens. All three answer the same after one hash.
 */
export const signUp = async (ctx: AppContext, input: SignupRequest): Promise<void> => {
  const instance = await findInstanceBySlug(ctx.database.db, input.instance);
  if (!instance) throw new AppError('INSTANCE_NOT_FOUND');
  const emailKey = emailKeyOf(ctx, input.email);
  const invite = input.inviteToken === undefined ? undefined : await findUsableInvite(ctx, input.inviteToken, instance, emailKey);
  if (!invite && instance.signup_mode !== 'open') throw new AppError('SIGNUP_INVITE_REQUIRED');
  assertPasswordAcceptable(ctx, input.password, { email: input.email, displayName: input.displayName });
  const role: MemberRole = invite?.role ?? 'member';

  const join = async (account: AccountRow, insertIt: boolean): Promise<void> => {
    await ctx.database.db.transaction().execute(async (trx) => {
      const now = ctx.now();
      if (insertIt) await saveNewAccount(ctx, trx, account);
      if (invite && !(await consumeInvite(trx, invite.id, account.id, now))) throw new AppError('INVITE_INVALID');
      await insertMembershipIfAbsent(trx, { instance_id: instance.id, account_id: account.id, role, created_at: now });
    });
    await ctx.audit.record({ action: 'instance.join', instanceId: instance.id, actorId: account.id, detail: { role, inviteId: invite?.id ?? null, newAccount: insertIt } });
  };

  const existing = await findAccountByEmail(ctx, input.email);
  if (existing) {
    // A password whose reset is required no longer proves anything (the same answer, nothing joined).
    if ((await passwordMatches(ctx, existing, input.password)) && existing.reset_required_at === null) await join(existing, false);
    return;
  }
  const account = await prepareAccount(ctx, input);
  try {
    await join(account, true);
  } catch (error) {
    // Someone signed up with this email between our lookup and insert: answer as for a known email.
    if (!isUniqueViolation(error)) throw error;
  }
};

export const createInstance = async (ctx: AppContext, actor: Actor, input: CreateInstanceRequest): Promise<InstanceRow> => {
  if (actor.account.is_operator !== 1) throw new AppError('FORBIDDEN', { message: 'Only the server operator can create instances.' });
  const now = ctx.now();
  const instance = newInstanceRow(input, now);
  const keys = await ctx.keyring.prepareInstance(instance.id, now);
  try {
    await ctx.database.db.transaction().execute(async (trx) => {
      await insertInstance(trx, instance);
      await keys.save(trx);
      await insertMembershipIfAbsent(trx, { instance_id: instance.id, account_id: actor.account.id, role: 'owner', created_at: now });
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw new AppError('INSTANCE_SLUG_TAKEN');
    throw error;
  }
  await ctx.audit.record({ action: 'instance.create', instanceId: instance.id, ...auditActor(actor), detail: { slug: instance.slug } });
  return instance;
};

export const updateInstance = async (ctx: AppContext, actor: Actor, instanceId: string, input: UpdateInstanceRequest): Promise<InstanceRow> => {
  const { instance } = await accessInstance(ctx, actor, instanceId, 'admin');
  const patch = {
    ...(input.name !== undefined ? { name: input.name.trim() } : {}),
    ...(input.signupMode !== undefined ? { signup_mode: input.signupMode } : {}),
    ...(input.twoFactorRequired !== undefined ? { two_factor_required: input.twoFactorRequired } : {}),
  };
  const now = ctx.now();
  await updateInstanceFields(ctx.database.db, instance.id, patch, now);
  await ctx.audit.record({ action: 'instance.update', instanceId: instance.id, ...auditActor(actor), detail: { fields: Object.keys(patch).sort(), ...(patch.two_factor_required !== undefined ? { twoFactorRequired: patch.two_factor_required } : {}) } });
  return { ...instance, ...patch, updated_at: now };
};

/**
 * Changes a member's role. Admins manage members and admins; only owners grant or take away ownership;
 * the last owner stays an owner.
 */
export const setMemberRole = async (ctx: AppContext, actor: Actor, instanceId: string, accountId: string, role: MemberRole): Promise<void> => {
  const access = await accessInstance(ctx, actor, instanceId, 'admin');
  await changeRole(ctx, access.instance.id, accountId, role, access.role);
  await ctx.audit.record({ action: 'member.set_role', instanceId: access.instance.id, ...auditActor(actor), detail: { accountId, role } });
};

/** The role change itself, checked against the acting role; the CLI calls it as an operator ('owner'). */
export const changeRole = async (ctx: AppContext, instanceId: string, accountId: string, role: MemberRole, actingRole: MemberRole): Promise<void> => {
  await ctx.database.db.transaction().execute(async (trx) => {
    const target = await findMembership(trx, instanceId, accountId);
    if (!target) throw new AppError('MEMBER_NOT_FOUND');
    if ((target.role === 'owner' || role === 'owner') && !roleAtLeast(actingRole, 'owner')) {
      throw new AppError('FORBIDDEN', { message: 'Only an owner can grant or remove ownership.' });
    }
    if (target.role === 'owner' && role !== 'owner' && (await countOwners(trx, instanceId)) <= 1) throw new AppError('LAST_OWNER');
    await updateMembershipRole(trx, instanceId, accountId, role);
  });
};

export const createInvite = async (
  ctx: AppContext,
  actor: Actor,
  instanceId: string,
  input: CreateInviteRequest,
): Promise<{ invite: InviteRow; token: string }> => {
  const { instance } = await accessInstance(ctx, actor, instanceId, 'admin');
  const now = ctx.now();
  const token = newSecretToken(TOKEN_PREFIX.invite);
  const invite: InviteRow = {
    id: newId(now),
    instance_id: instance.id,
    token_hash: hashToken(token),
    email_key: input.email === undefined ? null : emailKeyOf(ctx, input.email),
    role: input.role ?? 'member',
    created_by: actor.account.id,
    created_at: now,
    expires_at: now + (input.ttlHours ?? INVITE_DEFAULT_TTL_HOURS) * 3_600_000,
    used_at: null,
    used_by: null,
  };
  await insertInvite(ctx.database.db, invite);
  await ctx.audit.record({ action: 'invite.create', instanceId: instance.id, ...auditActor(actor), detail: { inviteId: invite.id, role: invite.role, forEmail: invite.email_key !== null } });
  return { invite, token };
};

/** One write that ends every session's (and API token's) access to this instance; people log in again to come back. */
export const bumpInstanceEpoch = async (ctx: AppContext, instanceId: string, by?: Actor): Promise<number> => {
  const notBefore = ctx.now() + 1;
  await updateInstanceFields(ctx.database.db, instanceId, { not_before: notBefore }, notBefore);
  await publishRevocation(ctx, { kind: 'instance', instanceId, notBefore });
  await ctx.audit.record({ action: 'credentials.revoke', instanceId, ...(by ? auditActor(by) : {}), detail: { scope: 'instance', notBefore } });
  return notBefore;
};

export const revokeInstanceSessions = async (ctx: AppContext, actor: Actor, instanceId: string): Promise<number> => {
  const { instance } = await accessInstance(ctx, actor, instanceId, 'admin');
  return bumpInstanceEpoch(ctx, instance.id, actor);
};

/**
 * One write that ends one person's sessions' and API tokens' access to this instance, and nothing of theirs
 * elsewhere: an instance's admins have no say over the person's other instances. Admins do this to members
 * and admins, owners to anyone; the CLI acts as an operator ('owner').
 */
export const bumpMemberEpoch = async (ctx: AppContext, instanceId: string, accountId: string, actingRole: MemberRole, by?: Actor): Promise<number> => {
  const target = await findMembership(ctx.database.db, instanceId, accountId);
  if (!target) throw new AppError('MEMBER_NOT_FOUND');
  if (target.role === 'owner' && !roleAtLeast(actingRole, 'owner')) throw new AppError('FORBIDDEN', { message: 'Only an owner can end an owner\'s sessions.' });
  const notBefore = ctx.now() + 1;
  if (!(await updateMembershipNotBefore(ctx.database.db, instanceId, accountId, notBefore))) throw new AppError('MEMBER_NOT_FOUND');
  await publishRevocation(ctx, { kind: 'member', instanceId, accountId, notBefore });
  await ctx.audit.record({ action: 'credentials.revoke', instanceId, ...(by ? auditActor(by) : {}), detail: { scope: 'member', accountId, notBefore } });
  return notBefore;
};

/**
 * Whether `actor` may remove `accountId` from the instance: its admins may (an owner only by an owner), never
 * themselves, never its last owner. Throws the answer; returns the instance and the acting role.
 */
export const assertMemberRemovable = async (ctx: AppContext, actor: Actor, instanceId: string, accountId: string): Promise<InstanceAccess> => {
  const access = await accessInstance(ctx, actor, instanceId, 'admin');
  const target = await findMembership(ctx.database.db, access.instance.id, accountId);
  if (!target) throw new AppError('MEMBER_NOT_FOUND');
  if (accountId === actor.account.id) throw new AppError('FORBIDDEN', { message: 'You cannot remove yourself; ask another admin.' });
  if (target.role === 'owner' && !roleAtLeast(access.role, 'owner')) throw new AppError('FORBIDDEN', { message: 'Only an owner can remove an owner.' });
  if (target.role === 'owner' && (await countOwners(ctx.database.db, access.instance.id)) <= 1) throw new AppError('LAST_OWNER');
  return access;
};

/**
 * Ends a membership (after its rooms were left: chat's removeFromInstance): the person no longer reaches the
 * instance, and their open sockets that hear it close. Their account, their other instances and what they
 * wrote stay; an invite brings them back.
 */
export const deleteMember = async (ctx: AppContext, actor: Actor, instanceId: string, accountId: string): Promise<void> => {
  if (!(await deleteMembership(ctx.database.db, instanceId, accountId))) throw new AppError('MEMBER_NOT_FOUND');
  await publishRevocation(ctx, { kind: 'member', instanceId, accountId, notBefore: ctx.now() + 1 });
  await ctx.audit.record({ action: 'member.remove', instanceId, ...auditActor(actor), detail: { accountId } });
};

export const revokeMemberSessions = async (ctx: AppContext, actor: Actor, instanceId: string, accountId: string): Promise<number> => {
  const access = await accessInstance(ctx, actor, instanceId, 'admin');
  return bumpMemberEpoch(ctx, access.instance.id, accountId, access.role, actor);
};

/** An instance's members with their names and emails opened. */
export const listInstanceMembers = async (ctx: AppContext, instanceId: string): Promise<MemberListing[]> =>
  (await listMembers(ctx.database.db, instanceId)).map((row) => ({
    ...row,
    email: openEmail(ctx.keyring, row.account_id, row.email),
    display_name: openDisplayName(ctx.keyring, row.account_id, row.display_name),
  }));

const DELETE_CHUNK = 2_000;

export interface InstanceDeletion {
  messages: number;
  shredded?: { rootKeys: number; dataKeys: number; master: MasterRotation };
}

/**
 * Deletes an instance and everything in it, in chunks so a large one does not stall the server. With
 * `shred`, its keys are destroyed first (and the master key rotated, the old one destroyed), so its content
 * does not open from any backup either, even if the deletion itself were interrupted.
 */
export const deleteInstance = async (
  ctx: AppContext,
  instanceId: string,
  options: { shred: boolean; onProgress?: (messages: number) => void },
): Promise<InstanceDeletion> => {
  if (options.shred && ctx.keyring.masterSource.fromEnv !== undefined) {
    throw new MasterKeyError('Shredding rotates the master key, but it comes from CONCLAVE_MASTER_KEY. Rotate it in your secrets manager instead, or keep the key in the keys directory.');
  }
  const shredded = options.shred ? await shredInstanceKeys(ctx.keyring, ctx.database.db, instanceId) : undefined;
  let messages = 0;
  for (;;) {
    const deleted = await deleteInstanceMessagesChunk(ctx.database.db, instanceId, DELETE_CHUNK);
    messages += deleted;
    options.onProgress?.(messages);
    if (deleted < DELETE_CHUNK) break;
  }
  await ctx.database.db.transaction().execute(async (trx) => {
    await deleteInstanceRow(trx, instanceId);
    if (!options.shred) await trx.deleteFrom('data_keys').where('instance_id', '=', instanceId).execute();
    if (!options.shred) await trx.deleteFrom('root_keys').where('instance_id', '=', instanceId).execute();
  });
  ctx.keyring.forgetInstance(instanceId);
  await publishRevocation(ctx, { kind: 'instance', instanceId, notBefore: ctx.now() + 1 });
  await ctx.audit.record({ action: 'instance.delete', instanceId, detail: { shredded: options.shred, messages } });
  return { messages, ...(shredded ? { shredded } : {}) };
};
