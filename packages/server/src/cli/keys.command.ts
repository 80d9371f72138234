import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { rotateInstanceKeys, rotateMasterKey } from '../crypto/index.ts';
import { AppError } from '../errors.ts';
import {
  MIN_PASSPHRASE_LENGTH,
  assertKeyExportPlacement,
  fingerprintsOfFiles,
  openKeyExport,
  parseKeyExport,
  readKeyFiles,
  sealKeyExport,
  writeKeyFiles,
  type KeyFingerprints,
} from '../ops/index.ts';
import { instanceBySlug } from './lookups.ts';
import { readPassphrase } from './password-input.ts';
import { progressLine } from './progress.ts';
import { configFromEnv, runCommand, withServices } from './run.ts';

const describeFingerprints = (f: KeyFingerprints): string =>
  [`pepper ${f.pepper?.slice(0, 12) ?? '(none)'}`, `master ${f.master?.slice(0, 12) ?? '(none)'}`, `audit ${f.audit ?? '(none)'}`].join(', ');

/** Said on stderr, so that it shows even when the output is captured. */
const shout = (lines: string[]): void => {
  console.error(['', ...lines.map((line) => `!! ${line}`), ''].join('\n'));
};

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
  keys
    .command('export')
    .description('Write every key of the keys directory to one file sealed with a passphrase (argon2id + AES-256-GCM), for the keys backup')
    .requiredOption('--out <file>', 'where to write the export (not beside a database backup)')
    .option('--passphrase-file <file>', 'read the passphrase from the first line of this file (otherwise it is asked on the terminal; never give it on the command line)')
    .option('--force', 'write it even beside a database backup or inside the data directory', false)
    .action((options: { out: string; passphraseFile?: string; force: boolean }) =>
      runCommand(async () => {
        const config = configFromEnv();
        const out = resolve(options.out);
        if (!options.force) await assertKeyExportPlacement(config, out);
        const passphrase = await readPassphrase({ file: options.passphraseFile, confirm: true, minLength: MIN_PASSPHRASE_LENGTH });
        // Through the services: they refuse keys that do not open this database, so a useless export is never made.
        await withServices(async (services) => {
          const files = await readKeyFiles(config.keysDir);
          if (files.length === 0) throw new AppError('VALIDATION_FAILED', { message: `${config.keysDir} holds no key files.` });
          const fingerprints = fingerprintsOfFiles(files);
          await services.audit.record({ action: 'keys.export', detail: { via: 'cli', files: files.length } });
          const doc = await sealKeyExport(files, fingerprints, passphrase);
          await writeFile(out, `${JSON.stringify(doc, null, 2)}\n`, { mode: 0o600, flag: 'wx' }).catch((error: NodeJS.ErrnoException) => {
            if (error.code === 'EEXIST') throw new AppError('VALIDATION_FAILED', { message: `${out} exists; Conclave does not overwrite it. Give a new file name.` });
            throw error;
          });
          console.log(`Wrote ${files.length} key file(s) (${files.map((f) => f.path).join(', ')}) to ${out}, sealed with the passphrase.`);
          console.log(`Fingerprints: ${describeFingerprints(fingerprints)}.`);
          const warnings = [
            'THIS FILE AND ITS PASSPHRASE OPEN EVERY BACKUP OF THIS SERVER: names, messages, emails, password hashes.',
            'Keep it apart from the database backups: other storage, other people\'s access. Keep the passphrase apart from both.',
            'Without it (or the keys directory), every backup is unreadable. Test a restore: conclave keys import, conclave restore.',
            'Export again after every key rotation: this export does not open data written under newer keys.',
          ];
          if (config.masterKeyEnv !== undefined) warnings.push('The master key comes from CONCLAVE_MASTER_KEY and is NOT in this export: keep it in your secrets manager\'s backup.');
          shout(warnings);
        });
      }),
    );
  keys
    .command('import')
    .description('Write the keys of an export (conclave keys export) into CONCLAVE_KEYS_DIR, before a restore; never overwrites a key')
    .argument('<file>', 'the key export')
    .option('--passphrase-file <file>', 'read the passphrase from the first line of this file (otherwise it is asked on the terminal)')
    .action((file: string, options: { passphraseFile?: string }) =>
      runCommand(async () => {
        const config = configFromEnv();
        let text: string;
        try {
          text = await readFile(file, 'utf8');
        } catch {
          throw new AppError('KEY_EXPORT_UNREADABLE', { message: `${file} cannot be read.` });
        }
        const doc = parseKeyExport(text);
        const passphrase = await readPassphrase({ file: options.passphraseFile, confirm: false });
        const files = await openKeyExport(doc, passphrase);
        const result = await writeKeyFiles(config.keysDir, files);
        console.log(`Imported into ${config.keysDir}: ${result.written.length > 0 ? result.written.join(', ') : 'nothing new'}${result.alreadyPresent.length > 0 ? `; already there, identical: ${result.alreadyPresent.join(', ')}` : ''}.`);
        console.log(`Fingerprints: ${describeFingerprints(fingerprintsOfFiles(files))} (exported ${doc.createdAt}).`);
        shout([
          `${config.keysDir} now holds the keys that open this server's backups. Keep it readable only by the user Conclave runs as (0700, files 0600),`,
          'outside the data directory, and never inside a backup of the data.',
        ]);
      }),
    );
};
