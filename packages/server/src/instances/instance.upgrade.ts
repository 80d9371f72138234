import type { AppContext } from '../context.ts';
import { emailKeyOf } from '../identity/index.ts';
import { findInstancesWithoutKeys, findInvitesWithClearEmail, setInviteEmailKey } from './instance.queries.ts';

/** Gives instances made before encryption at rest their keys, and re-keys invites' emails by blind index. */
export const sealInstancesInClear = async (ctx: AppContext): Promise<number> => {
  const instances = await findInstancesWithoutKeys(ctx.database.db);
  for (const instance of instances) {
    const keys = await ctx.keyring.prepareInstance(instance.id, ctx.now());
    await ctx.database.db.transaction().execute((trx) => keys.save(trx));
  }
  const invites = await findInvitesWithClearEmail(ctx.database.db);
  for (const invite of invites) await setInviteEmailKey(ctx.database.db, invite.id, emailKeyOf(ctx, invite.email_key ?? ''));
  return instances.length + invites.length;
};
