import { isSealed } from '../crypto/index.ts';
import type { AppContext } from '../context.ts';
import { emailKeyOf } from './account.actions.ts';
import { sealAccount } from './account.seal.ts';
import { findAccountsInClear, resealAccount } from './account.queries.ts';

const CHUNK = 500;

/** Seals emails and names stored before encryption at rest, and re-keys their lookup by blind index. */
export const sealAccountsInClear = async (ctx: AppContext): Promise<number> => {
  let sealed = 0;
  for (;;) {
    const rows = await findAccountsInClear(ctx.database.db, CHUNK);
    if (rows.length === 0) return sealed;
    await ctx.database.db.transaction().execute(async (trx) => {
      for (const row of rows) {
        const displayName = isSealed(row.display_name) ? ctx.keyring.server.open('accounts.display_name', row.id, row.display_name) : row.display_name;
        const next = sealAccount(ctx.keyring, { ...row, display_name: displayName });
        await resealAccount(trx, row, { email: next.email, display_name: next.display_name, email_key: emailKeyOf(ctx, row.email) });
      }
    });
    sealed += rows.length;
  }
};
