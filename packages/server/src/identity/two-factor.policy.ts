import { AppError } from '../errors.ts';
import type { AccountRow } from './account.queries.ts';

/** An instance's setting: who must have two-factor authentication on to enter it. */
export type TwoFactorRequirement = 'off' | 'admins' | 'everyone';

/**
 * Whether a person must enroll in two-factor authentication before entering an instance: the instance's
 * requirement covers their role there ('admins': owners and admins; operators act as owners) and they have
 * not turned it on. Such a person can still log in, see who they are and enroll; nothing of the instance.
 */
type TwoFactorSubject = Pick<AccountRow, 'two_factor_enabled_at'> & { bot_owner_id?: string | null };

/** A bot (decision 0020) has no second factor to show: its API token, which an admin made, is its credential. */
export const needsTwoFactorEnrollment = (requirement: TwoFactorRequirement, role: 'owner' | 'admin' | 'member', account: TwoFactorSubject): boolean =>
  account.two_factor_enabled_at === null && (account.bot_owner_id ?? null) === null && (requirement === 'everyone' || (requirement === 'admins' && role !== 'member'));

export const assertTwoFactorEnrolled = (requirement: TwoFactorRequirement, role: 'owner' | 'admin' | 'member', account: TwoFactorSubject): void => {
  if (needsTwoFactorEnrollment(requirement, role, account)) throw new AppError('TWO_FACTOR_ENROLLMENT_REQUIRED');
};
