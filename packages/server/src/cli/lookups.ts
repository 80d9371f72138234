import { AppError } from '../errors.ts';
import { findAccountByEmail, type AccountRow } from '../identity/index.ts';
import { findInstanceBySlug, type InstanceRow } from '../instances/index.ts';
import type { Services } from '../services.ts';

/** The instance an operator named by slug, or a clear error. */
export const instanceBySlug = async (services: Services, slug: string): Promise<InstanceRow> => {
  const instance = await findInstanceBySlug(services.database.db, slug);
  if (!instance) throw new AppError('INSTANCE_NOT_FOUND', { message: `No instance with slug "${slug}".` });
  return instance;
};

/** The account an operator named by email, or a clear error. */
export const accountByEmail = async (services: Services, email: string): Promise<AccountRow> => {
  const account = await findAccountByEmail(services, email);
  if (!account) throw new AppError('MEMBER_NOT_FOUND', { message: `No account with email ${email}.` });
  return account;
};

/** A time given as ISO 8601 (or a date), in milliseconds; a clear error otherwise. */
export const parseTime = (name: string, value: string | undefined): number | undefined => {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new AppError('VALIDATION_FAILED', { message: `${name} "${value}" is not a time; write it as 2026-11-23 or 2026-11-23T10:00:00Z.` });
  return ms;
};
