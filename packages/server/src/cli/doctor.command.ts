import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { ConfigError, loadConfig, type Config } from '../config/config.ts';
import { KEY_NAMES, inspectKeyFile, isInside, keyFingerprint, keyPath, readKey, readMasterKey, scanStorage } from '../crypto/index.ts';
import { openDatabase, pendingMigrations, SQLITE_FILE } from '../db/index.ts';
import { findServerState } from '../identity/index.ts';
import { EXIT } from './exit-codes.ts';
import { runCommand } from './run.ts';

export type Finding = { level: 'ok' | 'warn' | 'fail'; check: string; message: string };

const checkKeys = async (config: Config): Promise<Finding[]> => {
  const findings: Finding[] = [];
  if (isInside(config.keysDir, config.dataDir)) {
    findings.push({
      level: 'warn',
      check: 'keys',
      message: `The keys directory ${config.keysDir} is inside the data directory ${config.dataDir}: a backup of the data would carry its keys. Move it outside and set CONCLAVE_KEYS_DIR.`,
    });
  }
  if (!existsSync(config.keysDir)) {
    findings.push({ level: 'warn', check: 'keys', message: `${config.keysDir} does not exist yet; the first start creates it and its keys.` });
    return findings;
  }
  const dirMode = (await stat(config.keysDir)).mode & 0o777;
  if ((dirMode & 0o077) !== 0) {
    findings.push({ level: 'warn', check: 'keys', message: `${config.keysDir} is open to other users (mode ${dirMode.toString(8)}); run chmod 700 ${config.keysDir}.` });
  }
  for (const name of KEY_NAMES) {
    if (name === 'master' && config.masterKeyEnv !== undefined) continue;
    for (const message of await inspectKeyFile(config.keysDir, name, config.dataDir)) {
      if (!message.includes('inside the data directory')) findings.push({ level: 'warn', check: 'keys', message });
    }
  }
  if (!findings.some((f) => f.check === 'keys')) findings.push({ level: 'ok', check: 'keys', message: `${config.keysDir} holds ${KEY_NAMES.join(', ')}, readable by its owner only, outside the data directory.` });
  return findings;
};

const checkMasterKey = async (config: Config, recorded: string | null): Promise<Finding> => {
  if (recorded === null) return { level: 'ok', check: 'master', message: 'No master key recorded yet; the first start makes one.' };
  const where = config.masterKeyEnv !== undefined ? 'CONCLAVE_MASTER_KEY' : keyPath(config.keysDir, 'master');
  const master = await readMasterKey({ keysDir: config.keysDir, fromEnv: config.masterKeyEnv }, { create: false });
  if (!master) return { level: 'fail', check: 'master', message: `${where} is missing but the database's keys are wrapped by a master key; restore the keys directory from backup.` };
  if (master.id !== recorded) return { level: 'fail', check: 'master', message: `${where} is not the master key this database's keys are wrapped with.` };
  return { level: 'ok', check: 'master', message: `The master key (${where}) matches the database.` };
};

const checkDatabase = async (config: Config, scan: boolean): Promise<Finding[]> => {
  if (!config.databaseUrl && !existsSync(join(config.dataDir, SQLITE_FILE))) {
    return [{ level: 'warn', check: 'database', message: `No database yet at ${join(config.dataDir, SQLITE_FILE)}; the first start creates it.` }];
  }
  const findings: Finding[] = [];
  let database;
  try {
    database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, sqliteSynchronous: config.sqliteSynchronous });
    await database.ping();
  } catch (error) {
    await database?.close();
    return [{ level: 'fail', check: 'database', message: `Cannot reach the database: ${(error as Error).message}. Check DATABASE_URL and that the server runs.` }];
  }
  try {
    findings.push({ level: 'ok', check: 'database', message: `${database.engine} at ${database.location} answers.` });
    const pending = await pendingMigrations(database);
    if (pending.length > 0) {
      findings.push({ level: 'warn', check: 'migrations', message: `${pending.length} migration(s) pending (${pending.join(', ')}); run conclave migrate or start the server.` });
      return findings;
    }
    findings.push({ level: 'ok', check: 'migrations', message: 'The schema is up to date.' });
    const state = await findServerState(database.db);
    if (state.pepper_id !== null) {
      const pepper = await readKey(config.keysDir, 'pepper');
      if (!pepper) findings.push({ level: 'fail', check: 'pepper', message: `${keyPath(config.keysDir, 'pepper')} is missing but the database needs it; restore the keys directory from backup.` });
      else if (keyFingerprint(pepper, 'pepper') !== state.pepper_id) findings.push({ level: 'fail', check: 'pepper', message: `${keyPath(config.keysDir, 'pepper')} is not the pepper this database was set up with.` });
      else findings.push({ level: 'ok', check: 'pepper', message: 'The password pepper matches the database.' });
    }
    findings.push(await checkMasterKey(config, state.master_key_id));
    if (scan) findings.push(...(await scanStorage(database.db, database.engine)).map((f) => ({ level: f.level, check: 'scan', message: f.message })));
    findings.push(
      state.setup_completed_at === null
        ? { level: 'warn', check: 'setup', message: 'Setup is not done: start the server and use the printed token, or run conclave setup.' }
        : { level: 'ok', check: 'setup', message: `Set up on ${new Date(state.setup_completed_at).toISOString()}.` },
    );
  } finally {
    await database.close();
  }
  return findings;
};

/** Every check doctor makes, in order; exported for tests. */
export const diagnose = async (env: Record<string, string | undefined>, options: { scan?: boolean } = {}): Promise<Finding[]> => {
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((message) => ({ level: 'fail' as const, check: 'config', message }));
    throw error;
  }
  const findings: Finding[] = [{ level: 'ok', check: 'config', message: `Configuration is valid (public URL ${config.publicUrl.origin}).` }];
  findings.push(...(await checkKeys(config)));
  findings.push(...(await checkDatabase(config, options.scan ?? false)));
  if (config.publicUrl.protocol !== 'https:' && !['localhost', '127.0.0.1', '[::1]'].includes(config.publicUrl.hostname)) {
    findings.push({ level: 'warn', check: 'transport', message: `PUBLIC_URL ${config.publicUrl.origin} is not https: cookies and passwords would cross the network in clear. Put Conclave behind TLS.` });
  }
  return findings;
};

export const registerDoctorCommand = (program: Command): void => {
  program
    .command('doctor')
    .description('Check configuration, keys and database; exit 1 on a failure (or, with --strict, a warning)')
    .option('--json', 'print findings as JSON lines', false)
    .option('--strict', 'treat warnings as failures', false)
    .option('--scan', 'also read every table and column: values in clear where ciphertext belongs, tables and columns the schema does not know, legacy password hashes', false)
    .action((options: { json: boolean; strict: boolean; scan: boolean }) =>
      runCommand(async () => {
        const findings = await diagnose(process.env, { scan: options.scan });
        for (const f of findings) console.log(options.json ? JSON.stringify(f) : `${f.level.padEnd(4)}  ${f.check.padEnd(10)}  ${f.message}`);
        const failed = findings.some((f) => f.level === 'fail' || (options.strict && f.level === 'warn'));
        return failed ? EXIT.failure : EXIT.ok;
      }),
    );
};
