import type { Command } from 'commander';
import { API_VERSION } from '../app.ts';
import { assertBackupPlacement, checkRestore, confirmRestoredCheckpoint, createBackup, restoreBackup, type BackupManifest } from '../ops/index.ts';
import { progressBar } from './progress.ts';
import { configFromEnv, runCommand, withServices } from './run.ts';

/** Said on stderr, so that it shows even when the output is captured. */
const shout = (lines: string[]): void => {
  console.error(['', ...lines.map((line) => `!! ${line}`), ''].join('\n'));
};

const neededKeys = (manifest: BackupManifest): string =>
  [
    manifest.keys.pepper ? `the password pepper (id ${manifest.keys.pepper.slice(0, 12)})` : undefined,
    manifest.keys.master ? `the master key (id ${manifest.keys.master.slice(0, 12)})` : undefined,
    manifest.keys.audit ? `the audit signing key (${manifest.keys.audit})` : undefined,
  ]
    .filter(Boolean)
    .join(', ');

const megabytes = (bytes: number): string => `${(bytes / 1_048_576).toFixed(1)} MiB`;

export const registerBackupCommands = (program: Command): void => {
  program
    .command('backup')
    .description('Write a consistent backup of the database while the server runs (SQLite online backup, or pg_dump), with the audit witness; never the keys')
    .requiredOption('--out <file>', 'the backup file to write (a gzip tar; not beside the keys or a key export)')
    .option('--force', 'write it even beside key files or a key export', false)
    .action((options: { out: string; force: boolean }) =>
      runCommand(async () => {
        const config = configFromEnv();
        await assertBackupPlacement(config, options.out, { force: options.force });
        await withServices(async (services) => {
          const bar = progressBar('database pages copied');
          const result = await createBackup(services, { out: options.out, conclaveVersion: API_VERSION, onProgress: bar.update });
          bar.end();
          const { manifest } = result;
          console.log(
            `Wrote ${result.out} (${megabytes(result.sizeBytes)}): the ${manifest.engine === 'sqlite' ? 'SQLite' : `PostgreSQL (schema ${manifest.postgres?.schema ?? '?'})`} database ` +
              `with ${manifest.audit.entries} audit entries under a signed checkpoint of size ${manifest.audit.checkpoint?.size ?? 0}` +
              `${manifest.files.some((f) => f.name === 'audit-witness.log') ? ', and the audit witness file' : ''}.`,
          );
          shout([
            'THIS BACKUP DOES NOT CONTAIN THE KEYS, AND CANNOT BE READ WITHOUT THEM:',
            `   ${neededKeys(manifest)}.`,
            'Keep a key export (conclave keys export --out FILE) in ANOTHER place, with other access: a backup kept with its keys',
            'is a breach waiting (whoever takes both reads everything); a backup whose keys are lost is noise.',
          ]);
        });
      }),
    );

  program
    .command('restore')
    .description('Restore a backup onto an empty data directory (or empty PostgreSQL schema); the keys must be in CONCLAVE_KEYS_DIR first (conclave keys import)')
    .argument('<file>', 'the backup file (conclave backup)')
    .option('--check', 'only check that the backup, the target and the keys are right; write nothing', false)
    .action((file: string, options: { check: boolean }) =>
      runCommand(async () => {
        const config = configFromEnv();
        if (options.check) {
          const manifest = await checkRestore(config, file);
          console.log(`The backup of ${manifest.createdAt} (${manifest.engine}, ${manifest.audit.entries} audit entries) can be restored here: the target is empty and every key it needs is present.`);
          return;
        }
        const manifest = await restoreBackup(config, file);
        // The first start on the restored database: migrates it if the backup is older, proves the keys open it,
        // and records the restore in the log it came back with.
        await withServices(async (services) => {
          const problem = await confirmRestoredCheckpoint(services, manifest);
          if (problem) throw new Error(problem);
          await services.audit.record({ action: 'backup.restore', detail: { via: 'cli', backupCreatedAt: manifest.createdAt, entries: manifest.audit.entries, engine: manifest.engine } });
        });
        console.log(
          `Restored the backup of ${manifest.createdAt} (Conclave ${manifest.conclaveVersion}, ${manifest.audit.entries} audit entries) onto ${manifest.engine === 'sqlite' ? config.dataDir : `PostgreSQL schema ${manifest.postgres?.schema ?? '?'}`}.`,
        );
        console.log('Next: conclave audit verify (the restored log must verify), conclave doctor, then start the server.');
        shout([
          'Everything written after this backup was made is NOT in it. Sessions and tokens that existed then work again:',
          'if the backup is restored after a breach, run conclave incident contain (or sessions revoke) before opening the server.',
          `The keys in ${config.keysDir} open this data: keep them apart from every backup.`,
        ]);
      }),
    );
};
