import type { Instance } from '@conclave/protocol';
import { iso } from '../identity/index.ts';
import type { InstanceRow, MemberListing } from './instance.queries.ts';

export const presentInstance = (row: InstanceRow): Instance => ({
  id: row.id,
  slug: row.slug,
  name: row.name,
  signupMode: row.signup_mode,
  twoFactorRequired: row.two_factor_required,
  createdAt: iso(row.created_at),
});

export const presentMember = (row: MemberListing, options: { withEmail: boolean }) => ({
  accountId: row.account_id,
  displayName: row.display_name,
  ...(options.withEmail ? { email: row.email } : {}),
  role: row.role,
  joinedAt: iso(row.created_at),
  isBot: row.bot_owner_id !== null,
});
