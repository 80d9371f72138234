import { LIMITS, type ErrorCode } from '@conclave/protocol';
import type { PasswordBlocklist } from './password.blocklist.ts';

export interface PasswordContext {
  email?: string;
  displayName?: string;
}

/** Length in characters as a person counts them (code points after NFKC), never bytes. */
export const passwordLength = (password: string): number => [...password.normalize('NFKC')].length;

/**
 * NIST SP 800-63B: a minimum length, a generous maximum that is never truncated, no composition rules,
 * and a check against known-bad and context-specific values. Returns the broken rule, or undefined.
 */
export const findPasswordProblem = (
  password: string,
  blocklist: PasswordBlocklist,
  context: PasswordContext = {},
): ErrorCode | undefined => {
  const length = passwordLength(password);
  if (length < LIMITS.passwordMinLength) return 'PASSWORD_TOO_SHORT';
  if (length > LIMITS.passwordMaxLength) return 'PASSWORD_TOO_LONG';
  if (blocklist.has(password)) return 'PASSWORD_TOO_COMMON';
  const lowered = password.normalize('NFKC').toLowerCase();
  const email = context.email?.toLowerCase();
  const forbidden = [email, email?.split('@')[0], context.displayName?.normalize('NFKC').toLowerCase()];
  if (forbidden.some((value) => value !== undefined && value.length > 0 && lowered === value)) return 'PASSWORD_MATCHES_CONTEXT';
  return undefined;
};

/** Advice (not a rule) for passwords that pass but are shorter than NIST's advised length. */
export const passwordAdvice = (password: string): string | undefined =>
  passwordLength(password) < LIMITS.passwordAdvisedLength
    ? `Your password is accepted; ${LIMITS.passwordAdvisedLength} or more characters (a few unrelated words) would be stronger.`
    : undefined;
