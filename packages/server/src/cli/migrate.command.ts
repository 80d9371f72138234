import type { Command } from 'commander';
import { migrateToLatest, openDatabase } from '../db/index.ts';
import { configFromEnv, runCommand } from './run.ts';

export const registerMigrateCommand = (program: Command): void => {
  program
    .command('migrate')
    .description('Apply pending database migrations (start-up does this too, under a lock)')
    .action(() =>
      runCommand(async () => {
        const config = configFromEnv();
        const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, sqliteSynchronous: config.sqliteSynchronous });
        try {
          const applied = await migrateToLatest(database);
          console.log(applied.length === 0 ? `Database at ${database.location} is up to date.` : `Applied ${applied.join(', ')} to ${database.location}.`);
        } finally {
          await database.close();
        }
      }),
    );
};
