import type { AppContext } from '../context.ts';
import { AppError } from '../errors.ts';
import { assertTwoFactorEnrolled, type Actor } from '../identity/index.ts';
import { findInstanceById, findMembership, type InstanceRow, type MemberRole } from './instance.queries.ts';

const RANK: Record<MemberRole, number> = { member: 1, admin: 2, owner: 3 };

export const roleAtLeast = (role: MemberRole, minimum: MemberRole): boolean => RANK[role] >= RANK[minimum];

export interface InstanceAccess {
  instance: InstanceRow;
  /** The actor's role; operators act as owners of every instance. */
  role: MemberRole;
}

/**
 * Loads an instance for an actor. An instance the actor is not in answers exactly like one that does not
 * exist; a session (or API token) older than the instance's credential epoch, or than the person's own epoch in
 * the instance, is not accepted for it, nor a person the instance's two-factor requirement covers who has not
 * enrolled (TWO_FACTOR_ENROLLMENT_REQUIRED).
 */
export const accessInstance = async (
  ctx: AppContext,
  actor: Actor,
  instanceId: string,
  minimum: MemberRole = 'member',
): Promise<InstanceAccess> => {
  const instance = await findInstanceById(ctx.database.db, instanceId);
  if (!instance) throw new AppError('INSTANCE_NOT_FOUND');
  const membership = await findMembership(ctx.database.db, instanceId, actor.account.id);
  const role: MemberRole | undefined = actor.account.is_operator === 1 ? 'owner' : membership?.role;
  if (!role) throw new AppError('INSTANCE_NOT_FOUND');
  // The instance's epoch, and this person's in this instance (an admin ended their sessions here).
  if (actor.session.created_at < Math.max(instance.not_before, membership?.not_before ?? 0)) throw new AppError('UNAUTHENTICATED');
  assertTwoFactorEnrolled(instance.two_factor_required, role, actor.account);
  if (!roleAtLeast(role, minimum)) throw new AppError('FORBIDDEN');
  return { instance, role };
};
