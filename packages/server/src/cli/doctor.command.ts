import { existsSync } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { ConfigError, loadConfig, type Config } from '../config/config.ts';
import { KEY_NAMES, isInside, keyFingerprint, keyPath, readKey, readMasterKey, scanStorage } from '../crypto/index.ts';
import { openDatabase, pendingMigrations, SQLITE_FILE } from '../db/index.ts';
import { sessionCookieName, sessionCookieOptions } from '../http/index.ts';
import { findServerState } from '../identity/index.ts';
import { CONCLAVE_VERSION, checkReleaseFeedOnce, describeFeedUrl, looksLikeBackup } from '../ops/index.ts';
import { EXIT } from './exit-codes.ts';
import { runCommand } from './run.ts';

export type Finding = { level: 'ok' | 'warn' | 'fail'; check: string; message: string; fix?: string };

const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '[::1]'];

/** Conclave backups (by their first bytes) directly in `dir`. */
const backupsIn = async (dir: string): Promise<string[]> => {
  const found: string[] = [];
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return found;
  }
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    try {
      const handle = await open(join(dir, entry.name), 'r');
      try {
        const head = Buffer.alloc(4096);
        const { bytesRead } = await handle.read(head, 0, head.length, 0);
        if (looksLikeBackup(head.subarray(0, bytesRead))) found.push(entry.name);
      } finally {
        await handle.close();
      }
    } catch {
      // unreadable: not ours to judge
    }
  }
  return found;
};

/**
 * The keys: apart from the data and from backups, and readable by their owner only (docs/deploy.md). A keys
 * directory in the data directory or a backup directory, or a key anyone on the machine can read, fails.
 */
const checkKeys = async (config: Config, backupDirs: readonly string[]): Promise<Finding[]> => {
  const findings: Finding[] = [];
  const keysDir = config.keysDir;
  if (isInside(keysDir, config.dataDir)) {
    findings.push({ level: 'fail', check: 'keys', message: `The keys directory ${keysDir} is inside the data directory ${config.dataDir}: a copy of the data would carry its keys.`, fix: 'Move it outside the data directory (docs/deploy.md: /etc/conclave/keys) and set CONCLAVE_KEYS_DIR.' });
  }
  for (const dir of backupDirs.map((d) => resolve(d))) {
    if (isInside(keysDir, dir) || isInside(dir, keysDir)) {
      findings.push({ level: 'fail', check: 'keys', message: `The keys directory ${keysDir} and the backup directory ${dir} overlap: a thief who takes the backups gets the keys that open them.`, fix: 'Keep backups and keys on different storage; see docs/runbooks/backup-restore.md.' });
    }
  }
  if (!existsSync(keysDir)) {
    findings.push({ level: 'warn', check: 'keys', message: `${keysDir} does not exist yet; the first start creates it and its keys.` });
    return findings;
  }
  const backups = await backupsIn(keysDir);
  if (backups.length > 0) findings.push({ level: 'fail', check: 'keys', message: `${keysDir} holds Conclave backups (${backups.join(', ')}) beside the keys that open them.`, fix: `Move the backups elsewhere (other storage).` });
  const dirMode = (await stat(keysDir)).mode & 0o777;
  if ((dirMode & 0o007) !== 0) findings.push({ level: 'fail', check: 'keys', message: `${keysDir} is open to every user on the machine (mode ${dirMode.toString(8)}).`, fix: `chmod 700 ${keysDir}` });
  else if ((dirMode & 0o070) !== 0) findings.push({ level: 'warn', check: 'keys', message: `${keysDir} is open to its group (mode ${dirMode.toString(8)}).`, fix: `chmod 700 ${keysDir}` });
  for (const name of KEY_NAMES) {
    if (name === 'master' && config.masterKeyEnv !== undefined) continue;
    const path = keyPath(keysDir, name);
    if (!existsSync(path)) {
      findings.push({ level: 'warn', check: 'keys', message: `${path} does not exist yet; it is created at first start.` });
      continue;
    }
    const mode = (await stat(path)).mode & 0o777;
    if ((mode & 0o007) !== 0) findings.push({ level: 'fail', check: 'keys', message: `${path} is readable by every user on the machine (mode ${mode.toString(8)}).`, fix: `chmod 600 ${path}, and consider the key exposed: rotate it (docs/runbooks/keys.md).` });
    else if ((mode & 0o070) !== 0) findings.push({ level: 'warn', check: 'keys', message: `${path} is readable by its group (mode ${mode.toString(8)}).`, fix: `chmod 600 ${path}` });
  }
  if (!findings.some((f) => f.check === 'keys')) findings.push({ level: 'ok', check: 'keys', message: `${keysDir} holds ${KEY_NAMES.join(', ')}, readable by its owner only, apart from the data${backupDirs.length > 0 ? ' and the backups' : ''}.` });
  return findings;
};

/** TLS and the session cookie's flags, from PUBLIC_URL and the flags the server actually sets. */
const checkTransport = (config: Config): Finding[] => {
  const local = LOOPBACK_HOSTS.includes(config.publicUrl.hostname);
  const findings: Finding[] = [];
  if (config.publicUrl.protocol === 'https:') findings.push({ level: 'ok', check: 'transport', message: `PUBLIC_URL ${config.publicUrl.origin} is https.` });
  else if (local) findings.push({ level: 'ok', check: 'transport', message: `PUBLIC_URL ${config.publicUrl.origin} is http on this machine only (a trial).` });
  else findings.push({ level: 'fail', check: 'transport', message: `PUBLIC_URL ${config.publicUrl.origin} is not https: cookies and passwords would cross the network in clear.`, fix: 'Put Conclave behind a TLS proxy (docs/deploy.md) and set PUBLIC_URL=https://….' });
  const cookie = sessionCookieOptions(config);
  const name = sessionCookieName(config);
  const https = config.publicUrl.protocol === 'https:';
  if (https && (!cookie.secure || !name.startsWith('__Host-'))) findings.push({ level: 'fail', check: 'cookies', message: `The session cookie ${name} is sent without Secure under an https PUBLIC_URL.`, fix: 'Report this: Secure follows PUBLIC_URL.' });
  else if (!cookie.httpOnly || cookie.sameSite !== 'lax') findings.push({ level: 'fail', check: 'cookies', message: `The session cookie ${name} lacks HttpOnly or SameSite.`, fix: 'Report this: the flags are fixed in the server.' });
  else if (!https && !local) findings.push({ level: 'fail', check: 'cookies', message: `The session cookie ${name} is not Secure, because PUBLIC_URL is http.`, fix: 'Set PUBLIC_URL to the https address people use.' });
  else findings.push({ level: 'ok', check: 'cookies', message: `The session cookie ${name} is HttpOnly, SameSite=Lax${cookie.secure ? ', Secure' : ' (not Secure: http on this machine only)'}.` });
  return findings;
};

const EVERYWHERE = new Set(['0.0.0.0/0', '::/0', '0.0.0.0', '::']);

/** Forwarded client addresses are believed only from the proxy (rate limits and the audit log use them). */
const checkProxy = (config: Config): Finding => {
  const trust = config.trustProxy;
  const behindTls = config.publicUrl.protocol === 'https:';
  if (trust === true || (Array.isArray(trust) && trust.some((entry) => EVERYWHERE.has(entry)))) {
    return { level: 'fail', check: 'proxy', message: 'TRUST_PROXY believes X-Forwarded-For from anyone: any client can choose the address that rate limits count and the audit log records.', fix: 'Set TRUST_PROXY to the proxy\'s address, such as TRUST_PROXY=127.0.0.1 (docs/deploy.md).' };
  }
  if (typeof trust === 'number') {
    return { level: 'warn', check: 'proxy', message: `TRUST_PROXY=${trust} trusts ${trust} hop(s) from whoever connects; if a client can reach Conclave without the proxy, it chooses its address.`, fix: 'Set TRUST_PROXY to the proxy\'s addresses instead of a hop count.' };
  }
  if (Array.isArray(trust)) return { level: 'ok', check: 'proxy', message: `Forwarded addresses are believed only from ${trust.join(', ')}.` };
  if (behindTls) {
    return { level: 'warn', check: 'proxy', message: 'PUBLIC_URL is https (a TLS proxy in front) but TRUST_PROXY is off: every client looks like the proxy, so per-address rate limits are shared by everyone and the audit log records the proxy.', fix: 'Set TRUST_PROXY to the proxy\'s address, such as TRUST_PROXY=127.0.0.1.' };
  }
  return { level: 'ok', check: 'proxy', message: 'TRUST_PROXY is off: client addresses are the connecting addresses.' };
};

/** The release feed: configured or not, and what it says now. */
const checkUpdates = async (config: Config): Promise<Finding> => {
  const result = await checkReleaseFeedOnce(config);
  switch (result.outcome) {
    case 'off':
      return { level: 'warn', check: 'updates', message: 'No release feed is configured: this server will not tell you of security releases.', fix: 'Set UPDATE_FEED_URL to the signed release feed (docs/runbooks/updates.md), or watch releases another way.' };
    case 'unreachable':
      return { level: 'warn', check: 'updates', message: `The release feed at ${describeFeedUrl(config.updateFeedUrl as URL)} could not be fetched: ${result.message}.`, fix: 'Check the URL and that this machine may reach it (proxy, firewall).' };
    case 'rejected':
      return { level: 'fail', check: 'updates', message: `The release feed at ${describeFeedUrl(config.updateFeedUrl as URL)} was refused: ${result.message}.`, fix: 'Point UPDATE_FEED_URL at the official feed and leave UPDATE_FEED_KEY unset (the shipped key), or ask the release manager; a feed that does not verify may be forged.' };
    case 'current':
      return { level: 'ok', check: 'updates', message: `${CONCLAVE_VERSION} is the latest release (feed signed ${result.feed.generatedAt}).` };
    case 'update':
      return { level: 'warn', check: 'updates', message: `Conclave ${result.verdict.latest?.version} is available (this is ${CONCLAVE_VERSION}).`, fix: `Plan the update: ${result.verdict.latest?.url} (docs/deploy.md, "Updating").` };
    case 'security':
      return { level: 'fail', check: 'updates', message: `A security release is available: ${result.verdict.latest?.version} (severity ${result.verdict.severity}; this is ${CONCLAVE_VERSION}).`, fix: `Update now: ${result.verdict.latest?.url} (docs/runbooks/updates.md).` };
  }
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
export const diagnose = async (env: Record<string, string | undefined>, options: { scan?: boolean; backupDirs?: readonly string[]; updateCheck?: boolean } = {}): Promise<Finding[]> => {
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((message) => ({ level: 'fail' as const, check: 'config', message }));
    throw error;
  }
  const findings: Finding[] = [{ level: 'ok', check: 'config', message: `Configuration is valid (public URL ${config.publicUrl.origin}).` }];
  findings.push(...(await checkKeys(config, options.backupDirs ?? [])));
  findings.push(...(await checkDatabase(config, options.scan ?? false)));
  findings.push(...checkTransport(config));
  findings.push(checkProxy(config));
  if (options.updateCheck ?? true) findings.push(await checkUpdates(config));
  return findings;
};

export const registerDoctorCommand = (program: Command): void => {
  program
    .command('doctor')
    .description('Check a deployment (docs/deploy.md): configuration, keys and their placement, database, TLS and cookies, proxy trust, the release feed; exit 1 on a failure (or, with --strict, a warning)')
    .option('--json', 'print findings as JSON lines', false)
    .option('--strict', 'treat warnings as failures', false)
    .option('--backups <dirs...>', 'directories that hold backups: the keys must not be in or beside them')
    .option('--no-update-check', 'do not fetch the release feed')
    .option('--scan', 'also read every table and column: values in clear where ciphertext belongs, tables and columns the schema does not know, legacy password hashes', false)
    .action((options: { json: boolean; strict: boolean; scan: boolean; backups?: string[]; updateCheck: boolean }) =>
      runCommand(async () => {
        const findings = await diagnose(process.env, { scan: options.scan, backupDirs: options.backups ?? [], updateCheck: options.updateCheck });
        for (const f of findings) {
          if (options.json) console.log(JSON.stringify(f));
          else console.log(`${f.level.padEnd(4)}  ${f.check.padEnd(10)}  ${f.message}${f.fix ? `\n${' '.repeat(18)}fix: ${f.fix}` : ''}`);
        }
        const failed = findings.some((f) => f.level === 'fail' || (options.strict && f.level === 'warn'));
        return failed ? EXIT.failure : EXIT.ok;
      }),
    );
};
