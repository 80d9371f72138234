import type { ApiToken } from '@conclave/protocol';
import { iso } from './account.presenter.ts';
import type { ApiTokenListing } from './token.actions.ts';

/** A token as its owner sees it: never the token itself, which was shown once. */
export const presentApiToken = ({ row, name, scopes }: ApiTokenListing): ApiToken => ({
  id: row.id,
  name,
  scopes,
  createdAt: iso(row.created_at),
  lastUsedAt: row.last_used_at === null ? null : iso(row.last_used_at),
  expiresAt: row.expires_at === null ? null : iso(row.expires_at),
});
