import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { AppError } from '../errors.ts';
import { IMPORT_FORMATS, ImportError, describeColumns, importAccounts, readImportFile, emailKeyOf, type ImportFormat } from '../identity/index.ts';
import { importSlack } from '../imports/index.ts';
import { EXIT } from './exit-codes.ts';
import { instanceBySlug } from './lookups.ts';
import { progressBar } from './progress.ts';
import { runCommand, withServices } from './run.ts';

const SALT_ORDERS = ['salt+password', 'password+salt'] as const;

const HELP = `
Columns (a header row names them; case does not matter; other columns are ignored):
  --hash plaintext          ${describeColumns('plaintext')}
  --hash bcrypt             ${describeColumns('bcrypt')}   ($2a$, $2b$ or $2y$, cost 04-15)
  --hash md5|sha1|sha256    ${describeColumns('md5')}
                            hex digests of the UTF-8 password; with a salt column, of salt+password
                            (or password+salt with --salt-order password+salt)

Every row is checked first; any problem is reported with its line number and nothing is written. Legacy
hashes are stored only wrapped under argon2id (with the server's pepper) and move to the native form at each
person's first log-in; plaintext passwords are hashed natively at once. An email that already has an account
is skipped, so running the command again creates nothing twice. Delete the file when done: it holds
passwords or their hashes. See docs/runbooks/legacy-import.md.`;

export const registerImportCommand = (program: Command): void => {
  const importCommand = program.command('import').description('Bring accounts over from another system');
  importCommand
    .command('users')
    .description('Create accounts from a CSV of a legacy system\'s users, wrapping each legacy password hash at once')
    .requiredOption('--file <path>', 'the CSV file')
    .requiredOption('--hash <format>', `how its passwords are stored: ${IMPORT_FORMATS.join(', ')}`)
    .option('--instance <slug>', 'make every created account a member of this instance')
    .option('--reset-required', 'the imported passwords do not log in; each person must reset theirs first', false)
    .option('--salt-order <order>', `for salted md5/sha1/sha256: ${SALT_ORDERS.join(' or ')}`, 'salt+password')
    .option('--dry-run', 'check the file and report, write nothing', false)
    .addHelpText('after', HELP)
    .action((options: { file: string; hash: string; instance?: string; resetRequired: boolean; saltOrder: string; dryRun: boolean }) =>
      runCommand(async () => {
        const format = IMPORT_FORMATS.find((f) => f === options.hash.toLowerCase());
        if (!format) throw new AppError('VALIDATION_FAILED', { message: `--hash must be one of ${IMPORT_FORMATS.join(', ')}.` });
        const saltOrder = SALT_ORDERS.find((o) => o === options.saltOrder);
        if (!saltOrder) throw new AppError('VALIDATION_FAILED', { message: `--salt-order must be ${SALT_ORDERS.join(' or ')}.` });
        const text = await readFile(options.file, 'utf8');
        return withServices(async (services) => {
          const instance = options.instance === undefined ? undefined : await instanceBySlug(services, options.instance);
          try {
            if (options.dryRun) {
              const { rows, ignoredColumns } = readImportFile(text, format as ImportFormat, (email) => emailKeyOf(services, email));
              console.log(`${options.file}: ${rows.length} row(s) would be imported as ${format}${ignoredColumns.length > 0 ? `; ignored column(s): ${ignoredColumns.join(', ')}` : ''}. Nothing was written.`);
              return EXIT.ok;
            }
            const bar = progressBar('importing');
            const summary = await importAccounts(services, text, {
              format,
              instanceId: instance?.id,
              resetRequired: options.resetRequired,
              saltOrder,
              onProgress: (done, total) => bar.update(done, total),
            });
            bar.end();
            console.log(
              `Imported ${options.file}: ${summary.rows} row(s), ${summary.created} account(s) created${instance ? ` as members of ${instance.slug}` : ''}, ` +
                `${summary.skipped} skipped (the email already had an account).`,
            );
            if (summary.ignoredColumns.length > 0) console.log(`Ignored column(s): ${summary.ignoredColumns.join(', ')}.`);
            console.log(
              format === 'plaintext'
                ? 'Passwords are stored as argon2id only.'
                : `The ${format} hashes are stored only wrapped under argon2id; each moves to the native form at its first log-in (conclave doctor --scan counts those left).`,
            );
            if (options.resetRequired) console.log('Each imported person must reset their password before logging in.');
            console.log(`Now delete ${options.file}: it holds passwords or their hashes (shred -u ${options.file}).`);
            return EXIT.ok;
          } catch (error) {
            if (!(error instanceof ImportError)) throw error;
            for (const problem of error.problems) console.error(`${options.file}:${problem.line}: ${problem.problem}`);
            console.error(`error: ${error.message}`);
            return EXIT.failure;
          }
        });
      }),
    );

  importCommand
    .command('slack')
    .description('Bring a Slack workspace export (zip) into an instance: people, public channels, messages, reactions, files')
    .requiredOption('--file <path>', 'the export zip (users.json, channels.json, a folder of YYYY-MM-DD.json per channel; files under __uploads/<id>/)')
    .requiredOption('--instance <slug>', 'the instance to bring it into')
    .addHelpText(
      'after',
      `
People are matched to existing accounts by email; others are created and must reset their password before
they can log in. Channels become public rooms (a taken name gets "-imported"); messages keep their times,
thread replies follow in time order marked "↳"; <@U…> mentions, <#C…> channel links and <url|label> links
become Conclave text. Every thing brought in is recorded, so running the command again adds nothing twice.
The archive is checked whole first (unsafe names, zip bombs, sizes) and refused before anything is written.`,
    )
    .action((options: { file: string; instance: string }) =>
      runCommand(() =>
        withServices(async (services) => {
          const instance = await instanceBySlug(services, options.instance);
          const bar = progressBar('importing');
          const summary = await importSlack(services, { file: options.file, instanceId: instance.id, onProgress: (done, total) => bar.update(done, total) });
          bar.end();
          const { people, channels, messages, files, reactions, skipped } = summary;
          console.log(`Imported ${options.file} into ${instance.slug}:`);
          console.log(`  people:   ${people.created} created (must reset their password), ${people.matched} matched by email, ${people.earlier} from an earlier run`);
          console.log(`  channels: ${channels.created} created, ${channels.earlier} from an earlier run`);
          console.log(`  messages: ${messages.created} created, ${messages.earlier} from an earlier run; ${reactions} reaction(s)`);
          console.log(`  files:    ${files.created} stored (encrypted)`);
          const reasons = Object.entries(skipped);
          console.log(reasons.length === 0 ? '  skipped:  nothing' : `  skipped:\n${reasons.map(([why, n]) => `    ${n} × ${why}`).join('\n')}`);
          return EXIT.ok;
        }),
      ),
    );
};
