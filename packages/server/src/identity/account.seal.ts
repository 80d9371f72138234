import type { Keyring } from '../crypto/index.ts';
import type { AccountRow } from './account.queries.ts';

/** An account as stored: email and display name sealed under the server's data key, bound to the account id. */
export const sealAccount = (keyring: Keyring, row: AccountRow): AccountRow => ({
  ...row,
  email: keyring.server.seal('accounts.email', row.id, row.email),
  display_name: keyring.server.seal('accounts.display_name', row.id, row.display_name),
});

/** An account as read from the database, opened. */
export const openAccount = <T extends Pick<AccountRow, 'id' | 'email' | 'display_name'>>(keyring: Keyring, row: T): T => ({
  ...row,
  email: keyring.server.open('accounts.email', row.id, row.email),
  display_name: keyring.server.open('accounts.display_name', row.id, row.display_name),
});

/** Only the display name (listings that never show emails). */
export const openDisplayName = (keyring: Keyring, accountId: string, sealed: string): string => keyring.server.open('accounts.display_name', accountId, sealed);
export const openEmail = (keyring: Keyring, accountId: string, sealed: string): string => keyring.server.open('accounts.email', accountId, sealed);
