import type { Command } from 'commander';
import { AppError } from '../errors.ts';
import { createAccount, forceResetAccount, forceResetEveryone, listAccounts, openAccount, setAccountOperator } from '../identity/index.ts';
import { changeRole, forceInstanceReset, insertMembershipIfAbsent, listInstanceMembers, listMembershipsOfAccount, type MemberRole } from '../instances/index.ts';
import { progressLine } from './progress.ts';
import { accountByEmail, instanceBySlug } from './lookups.ts';
import { readNewPassword } from './password-input.ts';
import { runCommand, withServices } from './run.ts';

const ROLES: readonly MemberRole[] = ['owner', 'admin', 'member'];

const parseRole = (value: string): MemberRole => {
  const role = ROLES.find((r) => r === value);
  if (!role) throw new AppError('VALIDATION_FAILED', { message: `--role must be one of ${ROLES.join(', ')}.` });
  return role;
};

export const registerUserCommand = (program: Command): void => {
  const user = program.command('user').description('Manage accounts');

  user
    .command('create')
    .description('Create an account (password from the terminal or stdin), optionally adding it to an instance')
    .requiredOption('--email <email>', 'email address')
    .requiredOption('--display-name <name>', 'name as others see it')
    .option('--instance <slug>', 'add the account to this instance')
    .option('--role <role>', 'role in that instance: owner, admin or member', 'member')
    .option('--operator', 'make the account a server operator', false)
    .action((options: { email: string; displayName: string; instance?: string; role: string; operator: boolean }) =>
      runCommand(async () => {
        const role = parseRole(options.role);
        const password = await readNewPassword(`Password for ${options.email}`);
        await withServices(async (services) => {
          const instance = options.instance === undefined ? undefined : await instanceBySlug(services, options.instance);
          const account = await createAccount(services, { email: options.email, displayName: options.displayName, password, isOperator: options.operator });
          if (instance) {
            await insertMembershipIfAbsent(services.database.db, { instance_id: instance.id, account_id: account.id, role, created_at: services.now() });
          }
          console.log(`Created ${account.email} (${account.id})${instance ? ` as ${role} of ${instance.slug}` : ''}${options.operator ? ', operator' : ''}.`);
        });
      }),
    );

  user
    .command('list')
    .description('List accounts, or the members of one instance')
    .option('--instance <slug>', 'only members of this instance')
    .option('--json', 'print JSON lines', false)
    .action((options: { instance?: string; json: boolean }) =>
      runCommand(async () => {
        await withServices(async (services) => {
          const rows: Array<Record<string, string>> = [];
          if (options.instance !== undefined) {
            const instance = await instanceBySlug(services, options.instance);
            for (const m of await listInstanceMembers(services, instance.id)) {
              rows.push({ id: m.account_id, email: m.email, name: m.display_name, role: m.role });
            }
          } else {
            for (const sealed of await listAccounts(services.database.db)) {
              const a = openAccount(services.keyring, sealed);
              const memberships = await listMembershipsOfAccount(services.database.db, a.id);
              rows.push({
                id: a.id,
                email: a.email,
                name: a.display_name,
                operator: a.is_operator === 1 ? 'yes' : 'no',
                instances: memberships.map((m) => `${m.slug}:${m.role}`).join(',') || '-',
              });
            }
          }
          if (options.json) {
            for (const row of rows) console.log(JSON.stringify(row));
          } else if (rows.length === 0) {
            console.log('No accounts.');
          } else {
            console.table(rows);
          }
        });
      }),
    );

  user
    .command('set-role')
    .description('Set a member\'s role in an instance (adds the account to the instance if needed)')
    .requiredOption('--instance <slug>', 'instance slug')
    .requiredOption('--email <email>', 'the account\'s email')
    .requiredOption('--role <role>', 'owner, admin or member')
    .action((options: { instance: string; email: string; role: string }) =>
      runCommand(async () => {
        const role = parseRole(options.role);
        await withServices(async (services) => {
          const instance = await instanceBySlug(services, options.instance);
          const account = await accountByEmail(services, options.email);
          const added = await insertMembershipIfAbsent(services.database.db, { instance_id: instance.id, account_id: account.id, role, created_at: services.now() });
          if (!added) await changeRole(services, instance.id, account.id, role, 'owner');
          console.log(`${account.email} is now ${role} of ${instance.slug}.`);
        });
      }),
    );

  user
    .command('set-operator')
    .description('Grant or remove server-operator rights')
    .requiredOption('--email <email>', 'the account\'s email')
    .option('--remove', 'remove operator rights', false)
    .action((options: { email: string; remove: boolean }) =>
      runCommand(async () => {
        await withServices(async (services) => {
          const account = await accountByEmail(services, options.email);
          await setAccountOperator(services.database.db, account.id, !options.remove, services.now());
          console.log(`${account.email} is ${options.remove ? 'no longer' : 'now'} an operator.`);
        });
      }),
    );

  user
    .command('force-reset')
    .description('Force a password reset: the password stops working, sessions end, each person is mailed a reset link')
    .option('--email <email>', 'one account')
    .option('--instance <slug>', 'every member of this instance')
    .option('--everyone', 'every account on this server')
    .option('--yes', 'confirm a reset of an instance or of everyone', false)
    .action((options: { email?: string; instance?: string; everyone?: boolean; yes: boolean }) =>
      runCommand(async () => {
        const chosen = [options.everyone === true, options.instance !== undefined, options.email !== undefined].filter(Boolean).length;
        if (chosen !== 1) throw new AppError('VALIDATION_FAILED', { message: 'Name exactly one scope: --email <email>, --instance <slug> or --everyone.' });
        if (options.email === undefined && !options.yes) {
          throw new AppError('VALIDATION_FAILED', { message: 'This resets many passwords and ends their sessions; run it again with --yes to confirm.' });
        }
        await withServices(async (services) => {
          const progress = progressLine('accounts reset');
          let result;
          let what: string;
          if (options.email !== undefined) {
            const account = await accountByEmail(services, options.email);
            result = await forceResetAccount(services, account.id);
            what = account.email;
          } else if (options.instance !== undefined) {
            const instance = await instanceBySlug(services, options.instance);
            result = await forceInstanceReset(services, undefined, instance.id, { onProgress: (n) => progress.update(n) });
            what = `every member of ${instance.slug}`;
          } else {
            result = await forceResetEveryone(services, { onProgress: (n) => progress.update(n) });
            what = 'every account';
          }
          progress.end();
          console.log(`Password reset forced for ${what}: ${result.accounts} account(s), their sessions ended; ${result.mailsQueued} reset mail(s) queued.`);
          if (!services.config.smtpUrl) console.log('SMTP_URL is not set: the mails wait in the outbox (conclave mail list, conclave mail show <id>).');
        });
      }),
    );
};
