import type { Command } from 'commander';
import { AppError } from '../errors.ts';
import { bumpCredentialEpoch } from '../identity/index.ts';
import { bumpInstanceEpoch, bumpMemberEpoch } from '../instances/index.ts';
import { accountByEmail, instanceBySlug } from './lookups.ts';
import { runCommand, withServices } from './run.ts';

export const registerSessionsCommand = (program: Command): void => {
  const sessions = program.command('sessions').description('End sessions');
  sessions
    .command('revoke')
    .description('End sessions and API tokens with one write: for everyone, an instance, one account, or one account in one instance')
    .option('--everyone', 'every session and token on this server')
    .option('--instance <slug>', 'every session\'s and token\'s access to this instance (with --email: only that person\'s)')
    .option('--email <email>', 'every session and token of this account (with --instance: only its access to that instance)')
    .action((options: { everyone?: boolean; instance?: string; email?: string }) =>
      runCommand(async () => {
        const everyone = options.everyone === true;
        if (everyone ? options.instance !== undefined || options.email !== undefined : options.instance === undefined && options.email === undefined) {
          throw new AppError('VALIDATION_FAILED', { message: 'Name one scope: --everyone, --instance <slug>, --email <email>, or --instance <slug> --email <email>.' });
        }
        await withServices(async (services) => {
          if (everyone) {
            await bumpCredentialEpoch(services, { kind: 'global' });
            console.log('Every session and API token on this server has ended.');
          } else if (options.instance !== undefined && options.email !== undefined) {
            const instance = await instanceBySlug(services, options.instance);
            const account = await accountByEmail(services, options.email);
            await bumpMemberEpoch(services, instance.id, account.id, 'owner');
            console.log(`Every session and API token of ${account.email} has lost access to ${instance.slug}.`);
          } else if (options.instance !== undefined) {
            const instance = await instanceBySlug(services, options.instance);
            await bumpInstanceEpoch(services, instance.id);
            console.log(`Every session's and API token's access to ${instance.slug} has ended.`);
          } else if (options.email !== undefined) {
            const account = await accountByEmail(services, options.email);
            await bumpCredentialEpoch(services, { kind: 'account', accountId: account.id });
            console.log(`Every session and API token of ${account.email} has ended.`);
          }
        });
      }),
    );
};
