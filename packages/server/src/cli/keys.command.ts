import type { Command } from 'commander';
import { rotateInstanceKeys, rotateMasterKey } from '../crypto/index.ts';
import { instanceBySlug } from './lookups.ts';
import { progressLine } from './progress.ts';
import { runCommand, withServices } from './run.ts';

export const registerKeysCommand = (program: Command): void => {
  const keys = program.command('keys').description('Rotate the keys that encrypt names, topics, messages and emails');
  keys
    .command('rotate')
    .description('Rotate an instance\'s key-encryption key: re-wrap its data keys (no message is rewritten) and start new data keys')
    .requiredOption('--instance <slug>', 'the instance')
    .action((options: { instance: string }) =>
      runCommand(async () => {
        await withServices(async (services) => {
          const instance = await instanceBySlug(services, options.instance);
          const progress = progressLine('data keys re-wrapped');
          const result = await rotateInstanceKeys(services.keyring, services.database.db, instance.id, services.now(), progress.update);
          progress.end();
          await services.audit.record({ action: 'keys.rotate', instanceId: instance.id, detail: { kekVersion: result.kekVersion, rewrapped: result.rewrapped, via: 'cli' } });
          console.log(
            `Rotated the keys of ${instance.slug}: key-encryption key version ${result.kekVersion}; ${result.rewrapped} data key(s) re-wrapped, ` +
              `${result.newDataKeys} new data key(s) for new content; no message was rewritten.` +
              (result.retiredKekVersions.length > 0 ? ` Destroyed KEK version(s) ${result.retiredKekVersions.join(', ')}.` : ''),
          );
          console.log('Running nodes pick up the new keys within 30 seconds.');
        });
      }),
    );
  keys
    .command('rotate-master')
    .description('Replace the master key: re-wrap every instance and server key under a new one')
    .option('--destroy-old', 'destroy the old master key instead of keeping it in keys/retired/ (backups made before now then no longer open)', false)
    .action((options: { destroyOld: boolean }) =>
      runCommand(async () => {
        await withServices(async (services) => {
          const result = await rotateMasterKey(services.keyring, services.database.db, { keepOld: !options.destroyOld });
          await services.audit.record({ action: 'keys.rotate_master', detail: { from: result.oldId.slice(0, 16), to: result.newId.slice(0, 16), oldKept: result.retiredTo !== undefined, via: 'cli' } });
          console.log(`The master key is now ${result.newId.slice(0, 12)} (was ${result.oldId.slice(0, 12)}); ${result.rewrapped} key(s) re-wrapped.`);
          console.log(
            result.retiredTo
              ? `The old master key is kept at ${result.retiredTo}: backups made before now open only with it. Move it offline; delete it to make those backups unreadable.`
              : 'The old master key is destroyed: backups made before now can no longer be opened. Take a fresh backup now.',
          );
          console.log('Copy the new keys directory to every node and to your keys backup; running nodes reload it on their own.');
        });
      }),
    );
};
