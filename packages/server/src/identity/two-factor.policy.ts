import { AppError } from '../errors.ts';
import type { AccountRow } from './account.queries.ts';

/** An instance's setting: who must have two-factor authentication on to enter it. */
export type TwoFactorRequirement = 'off' | 'admins' | 'everyone';

/**
 * Whether a person must enroll in two-factor authentication before entering an instance: the instance's
 * requirement covers their role there ('admins': owners and admins; operators act as owners) and they have
 * not turned it on. Such a person can still log in, see who they are and enroll; nothing of the instance.
 */
export const needsTwoFactorEnrollment = (requirement: TwoFactorRequirement, role: 'owner' | 'admin' | 'member', account: Pick<AccountRow, 'two_factor_enabled_at'>): boolean =>
  account.two_factor_enabled_at === null && (requirement === 'everyone' || (requirement === 'admins' && role !== 'member'));

export const assertTwoFactorEnrolled = (requirement: TwoFactorRequirement, role: 'owner' | 'admin' | 'member', account: Pick<AccountRow, 'two_factor_enabled_at'>): void => {
  if (needsTwoFactorEnrollment(requirement, role, account)) throw new AppError('TWO_FACTOR_ENROLLMENT_REQUIRED');
};
