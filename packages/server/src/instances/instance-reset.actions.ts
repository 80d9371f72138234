import type { AppContext } from '../context.ts';
import { AppError } from '../errors.ts';
import { findAccount, forceReset, forceResetAccount, type Actor, type ForcedResetResult } from '../identity/index.ts';
import { accessInstance } from './instance.access.ts';
import { listMemberIdsAfter } from './instance-reset.queries.ts';
import { findMembership } from './instance.queries.ts';

/**
 * An instance's admins force a reset for one of its members (operators for anyone, through identity). An
 * operator's account is a server-wide key: only an operator forces its reset.
 */
export const forceMemberReset = async (ctx: AppContext, actor: Actor, instanceId: string, accountId: string): Promise<ForcedResetResult> => {
  const { instance } = await accessInstance(ctx, actor, instanceId, 'admin');
  if (!(await findMembership(ctx.database.db, instance.id, accountId))) throw new AppError('MEMBER_NOT_FOUND');
  const target = await findAccount(ctx, accountId);
  if (!target) throw new AppError('MEMBER_NOT_FOUND');
  if (target.is_operator === 1 && actor.account.is_operator !== 1) {
    throw new AppError('FORBIDDEN', { message: 'Only a server operator can force a reset for an operator.' });
  }
  return forceResetAccount(ctx, accountId, actor);
};

/** The instance's admins and owners force a reset for every member of it, themselves included. */
export const forceInstanceReset = async (
  ctx: AppContext,
  actor: Actor | undefined,
  instanceId: string,
  options: { onProgress?: (accounts: number) => void } = {},
): Promise<ForcedResetResult> => {
  const id = actor ? (await accessInstance(ctx, actor, instanceId, 'admin')).instance.id : instanceId;
  return forceReset(ctx, (afterId, limit) => listMemberIdsAfter(ctx.database.db, id, afterId, limit), {
    actor,
    scope: { kind: 'instance', instanceId: id },
    onProgress: options.onProgress,
  });
};
