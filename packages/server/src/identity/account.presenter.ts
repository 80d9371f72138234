import type { Static } from 'typebox';
import type { Account, SessionInfo } from '@conclave/protocol';
import type { AccountRow } from './account.queries.ts';
import type { SessionRow } from './session.queries.ts';

export const iso = (ms: number): string => new Date(ms).toISOString();

export const presentAccount = (row: AccountRow): Account => ({
  id: row.id,
  email: row.email,
  displayName: row.display_name,
  isOperator: row.is_operator === 1,
  twoFactorEnabled: row.two_factor_enabled_at !== null,
  createdAt: iso(row.created_at),
  isBot: row.bot_owner_id !== null,
});

export const presentSession = (row: SessionRow): Static<typeof SessionInfo> => ({
  id: row.id,
  createdAt: iso(row.created_at),
  expiresAt: iso(row.expires_at),
  idleExpiresAt: iso(row.idle_expires_at),
});
