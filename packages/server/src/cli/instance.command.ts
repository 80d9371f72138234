import type { Command } from 'commander';
import { AppError } from '../errors.ts';
import { setInstanceFileLimit } from '../files/index.ts';
import { deleteInstance } from '../instances/index.ts';
import { instanceBySlug } from './lookups.ts';
import { progressLine } from './progress.ts';
import { runCommand, withServices } from './run.ts';

export const registerInstanceCommand = (program: Command): void => {
  const instance = program.command('instance').description('Manage instances');
  instance
    .command('file-limit')
    .description('Set the largest file one upload may carry in an instance (bytes), or "default" for the server\'s FILE_MAX_BYTES')
    .argument('<slug>', 'the instance')
    .argument('<bytes>', 'a whole number of bytes, or default')
    .action((slug: string, bytes: string) =>
      runCommand(() =>
        withServices(async (services) => {
          const limit = bytes === 'default' ? null : /^\d{1,13}$/.test(bytes) && Number(bytes) >= 1 ? Number(bytes) : undefined;
          if (limit === undefined) throw new AppError('VALIDATION_FAILED', { message: `"${bytes}" is not a number of bytes (1 or more) or default.` });
          const found = await instanceBySlug(services, slug);
          await setInstanceFileLimit(services.database.db, found.id, limit);
          await services.audit.record({ action: 'instance.file_limit', instanceId: found.id, detail: { maxBytes: limit } });
          console.log(`${slug}: uploads up to ${(limit ?? services.config.fileMaxBytes).toLocaleString('en-US')} bytes${limit === null ? ' (the server\'s FILE_MAX_BYTES)' : ''}.`);
        }),
      ),
    );
  instance
    .command('delete')
    .description('Delete an instance with its rooms, messages and members; --shred also makes it unreadable in every backup')
    .argument('<slug>', 'the instance')
    .option('--shred', 'destroy its keys first and rotate the master key (the old one destroyed): earlier backups no longer open', false)
    .option('--yes', 'confirm: this cannot be undone', false)
    .action((slug: string, options: { shred: boolean; yes: boolean }) =>
      runCommand(async () => {
        if (!options.yes) {
          throw new AppError('VALIDATION_FAILED', {
            message: `Deleting ${slug} cannot be undone${options.shred ? ', and --shred makes every earlier backup unopenable' : ''}. Run again with --yes to go ahead.`,
          });
        }
        await withServices(async (services) => {
          const found = await instanceBySlug(services, slug);
          const progress = progressLine('messages deleted');
          const result = await deleteInstance(services, found.id, { shred: options.shred, onProgress: progress.update });
          progress.end();
          console.log(`Deleted instance ${found.slug} (${found.id}) with ${result.messages} message(s).`);
          if (result.shredded) {
            console.log(
              `Shredded: ${result.shredded.rootKeys + result.shredded.dataKeys} key(s) of ${found.slug} destroyed, and the master key rotated ` +
                `(now ${result.shredded.master.newId.slice(0, 12)}; the old one destroyed). Its rows, in this database and in every backup made before now, can no longer be read.`,
            );
            console.log('Backups made before now no longer open for any instance: take a fresh backup now, and copy the new keys directory to every node.');
          } else {
            console.log('Backups made before now still hold it, readable with the current keys. Use --shred to make them unreadable too.');
          }
        });
      }),
    );
};
