import type { Command } from 'commander';
import { createFirstInstance } from '../instances/index.ts';
import { readNewPassword } from './password-input.ts';
import { runCommand, withServices } from './run.ts';

export const registerSetupCommand = (program: Command): void => {
  program
    .command('setup')
    .description('Create the first instance and its owner (the server operator). Reads the password from the terminal or stdin')
    .requiredOption('--instance-slug <slug>', 'address of the instance, e.g. acme')
    .requiredOption('--instance-name <name>', 'display name of the instance')
    .requiredOption('--email <email>', 'the owner\'s email')
    .requiredOption('--display-name <name>', 'the owner\'s name as others see it')
    .action((options: { instanceSlug: string; instanceName: string; email: string; displayName: string }) =>
      runCommand(async () => {
        const password = await readNewPassword('Owner password');
        await withServices(async (services) => {
          const { instance, account } = await createFirstInstance(services, {
            instance: { slug: options.instanceSlug, name: options.instanceName },
            owner: { email: options.email, displayName: options.displayName, password },
          });
          console.log(`Created instance ${instance.slug} (${instance.id}) owned by ${account.email}, the server operator. Log in at ${services.config.publicUrl.origin}.`);
        });
      }),
    );
};
