import type { Command } from 'commander';
import { AppError } from '../errors.ts';
import { bumpCredentialEpoch } from '../identity/index.ts';
import { bumpInstanceEpoch } from '../instances/index.ts';
import { accountByEmail, instanceBySlug } from './lookups.ts';
import { runCommand, withServices } from './run.ts';

export const registerSessionsCommand = (program: Command): void => {
  const sessions = program.command('sessions').description('End sessions');
  sessions
    .command('revoke')
    .description('End sessions with one write: for everyone, an instance, or one account')
    .option('--everyone', 'every session on this server')
    .option('--instance <slug>', 'every session\'s access to this instance')
    .option('--email <email>', 'every session of this account')
    .action((options: { everyone?: boolean; instance?: string; email?: string }) =>
      runCommand(async () => {
        const chosen = [options.everyone === true, options.instance !== undefined, options.email !== undefined].filter(Boolean).length;
        if (chosen !== 1) throw new AppError('VALIDATION_FAILED', { message: 'Name exactly one scope: --everyone, --instance <slug> or --email <email>.' });
        await withServices(async (services) => {
          if (options.everyone) {
            await bumpCredentialEpoch(services, { kind: 'global' });
            console.log('Every session on this server has ended.');
          } else if (options.instance !== undefined) {
            const instance = await instanceBySlug(services, options.instance);
            await bumpInstanceEpoch(services, instance.id);
            console.log(`Every session's access to ${instance.slug} has ended.`);
          } else if (options.email !== undefined) {
            const account = await accountByEmail(services, options.email);
            await bumpCredentialEpoch(services, { kind: 'account', accountId: account.id });
            console.log(`Every session of ${account.email} has ended.`);
          }
        });
      }),
    );
};
