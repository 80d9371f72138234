import type { SessionListing } from '@conclave/protocol';
import { iso } from './account.presenter.ts';
import { summarizeUserAgent } from './session.device.ts';
import type { SessionListingRow } from './session.actions.ts';

export const presentSessionListing = ({ session, client, current }: SessionListingRow): SessionListing => ({
  id: session.id,
  device: summarizeUserAgent(client.userAgent),
  userAgent: client.userAgent,
  address: client.ip,
  createdAt: iso(session.created_at),
  lastSeenAt: iso(session.last_seen_at),
  expiresAt: iso(session.expires_at),
  current,
});
