import { constants } from 'node:fs';
import { chmod, copyFile, link, mkdir, mkdtemp, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { findHeadSeq, findLatestCheckpoint, listCheckpoints } from '../audit/index.ts';
import type { Config } from '../config/config.ts';
import { openDatabase, SQLITE_FILE, type Schema } from '../db/index.ts';
import { MIGRATIONS } from '../db/migrations/index.ts';
import { AppError } from '../errors.ts';
import { findServerState } from '../identity/index.ts';
import type { Services } from '../services.ts';
import { extractArchive, hashFile, readManifest, writeArchive } from './backup.archive.ts';
import {
  FILES_PREFIX,
  isFileMember,
  BACKUP_FORMAT,
  BACKUP_FORMAT_VERSION,
  MANIFEST_NAME,
  PG_MEMBER,
  SQLITE_MEMBER,
  WITNESS_MEMBER,
  type BackupCheckpoint,
  type BackupFile,
  type BackupManifest,
} from './backup.manifest.ts';
import { pgDump, pgRestore } from './backup.postgres.ts';
import { countPgRelations, createPgSchema, dropEmptyPgSchema, findPgLocation, listAppliedMigrations, pgSchemaExists, sqliteQuickCheck } from './backup.queries.ts';
import type { KeyFingerprints } from './key-export.ts';
import { describeMissingKeys } from './key.fingerprints.ts';

export type Progress = (done: number, total: number) => void;

const exists = async (path: string): Promise<boolean> =>
  stat(path).then(
    () => true,
    () => false,
  );

/** Pages copied per step while the copy makes progress (16 MiB of 4 KiB pages). */
const STEP_PAGES = 4_096;

/**
 * SQLite's online backup API, from a read-only connection of its own: a consistent copy while the server
 * writes. A write by another connection restarts a copy made in steps; the first time the remaining count
 * fails to shrink, the rest is copied in one step (one read transaction: in WAL mode the server's writers
 * are not held up, and the copy is the database as of that moment).
 */
export const snapshotSqlite = async (source: string, destination: string, onProgress?: Progress): Promise<void> => {
  const db = new SQLite(source, { readonly: true, fileMustExist: true });
  try {
    let lastRemaining = Number.POSITIVE_INFINITY;
    let allAtOnce = false;
    await db.backup(destination, {
      progress: ({ totalPages, remainingPages }) => {
        onProgress?.(totalPages - remainingPages, totalPages);
        if (remainingPages >= lastRemaining) allAtOnce = true;
        lastRemaining = remainingPages;
        return allAtOnce ? 0x7fffffff : STEP_PAGES;
      },
    });
  } finally {
    db.close();
  }
};

/** A Kysely handle on a SQLite file outside the running database (a snapshot, a restored copy). */
const withSqliteFile = async <T>(path: string, body: (db: Kysely<Schema>) => Promise<T>): Promise<T> => {
  const db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: new SQLite(path, { fileMustExist: true }) }) });
  try {
    return await body(db);
  } finally {
    await db.destroy();
  }
};

interface DatabaseFacts {
  migrations: string[];
  keys: KeyFingerprints;
  entries: number;
  checkpoint: BackupCheckpoint | null;
}

/** What the manifest says of the database: read from the copy itself where there is one (SQLite). */
const readFacts = async (db: Kysely<Schema>): Promise<DatabaseFacts> => {
  const state = await findServerState(db);
  const latest = await findLatestCheckpoint(db);
  return {
    migrations: await listAppliedMigrations(db),
    keys: {
      pepper: state.pepper_id,
      master: state.master_key_id,
      // A checkpoint's origin line is its signing key's name (derived from the public key).
      audit: latest ? (latest.note.split('\n')[0] ?? null) : null,
    },
    entries: await findHeadSeq(db),
    checkpoint: latest ? { size: Number(latest.size), rootHash: latest.root_hash, note: latest.note, createdAt: new Date(Number(latest.created_at)).toISOString() } : null,
  };
};

const copyIfPresent = async (from: string, to: string): Promise<boolean> => {
  try {
    await copyFile(from, to, constants.COPYFILE_EXCL);
    await chmod(to, 0o600);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
};

/**
 * The files directory's encrypted objects, into the backup's work folder (hard links where it shares a file
 * system with the files, copies otherwise). Taken after the database copy: an object the copy refers to was
 * written before its row committed, so it is there (unless its message was deleted since). Objects are
 * already ciphertext under keys the backup does not hold.
 */
const collectFiles = async (filesDir: string, work: string): Promise<string[]> => {
  let names: string[];
  try {
    names = await readdir(filesDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const members: string[] = [];
  await mkdir(join(work, 'files'), { mode: 0o700 });
  for (const name of names.sort()) {
    const member = `${FILES_PREFIX}${name}`;
    if (!isFileMember(member)) continue; // temporary files of uploads under way, anything foreign
    try {
      await link(join(filesDir, name), join(work, member)).catch(async (error: NodeJS.ErrnoException) => {
        if (error.code !== 'EXDEV' && error.code !== 'EPERM') throw error;
        await copyFile(join(filesDir, name), join(work, member), constants.COPYFILE_EXCL);
      });
      members.push(member);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error; // deleted meanwhile
    }
  }
  return members;
};

/** Puts the backup's files where CONCLAVE_FILES_DIR points (checked empty before anything was written). */
const restoreFiles = async (work: string, manifest: BackupManifest, filesDir: string): Promise<void> => {
  const members = manifest.files.filter((f) => isFileMember(f.name));
  if (members.length === 0) return;
  await mkdir(filesDir, { recursive: true, mode: 0o700 });
  for (const member of members) {
    const to = join(filesDir, member.name.slice(FILES_PREFIX.length));
    await rename(join(work, member.name), to).catch(async (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EXDEV') throw error;
      await copyFile(join(work, member.name), to, constants.COPYFILE_EXCL);
    });
  }
};

export interface BackupResult {
  out: string;
  sizeBytes: number;
  manifest: BackupManifest;
}

/**
 * Makes a backup while the server runs. The backup is recorded in the audit log and a checkpoint signed
 * first, so the copy carries a signed checkpoint that covers it; the witness file is copied before the
 * database, so every checkpoint it holds is in the copy (a checkpoint is stored before it is witnessed).
 */
export const createBackup = async (services: Services, options: { out: string; conclaveVersion: string; onProgress?: Progress }): Promise<BackupResult> => {
  const out = resolve(options.out);
  const { config, database } = services;
  if (await exists(out)) throw new AppError('VALIDATION_FAILED', { message: `${out} exists; Conclave does not overwrite a backup. Give a new file name.` });
  if (!(await exists(dirname(out)))) throw new AppError('VALIDATION_FAILED', { message: `The directory ${dirname(out)} does not exist.` });
  await services.audit.record({ action: 'backup.create', detail: { via: 'cli', engine: database.engine } });
  await services.audit.checkpoint();
  const work = await mkdtemp(join(dirname(out), '.conclave-backup-'));
  try {
    await mkdir(join(work, 'database'), { mode: 0o700 });
    const witnessCopied = await copyIfPresent(config.auditWitnessPath, join(work, WITNESS_MEMBER));
    let facts: DatabaseFacts;
    let postgres: BackupManifest['postgres'];
    if (database.engine === 'sqlite') {
      await snapshotSqlite(database.location, join(work, SQLITE_MEMBER), options.onProgress);
      await chmod(join(work, SQLITE_MEMBER), 0o600);
      facts = await withSqliteFile(join(work, SQLITE_MEMBER), async (db) => {
        const check = await sqliteQuickCheck(db);
        if (check.length !== 1 || check[0] !== 'ok') throw new AppError('BACKUP_INVALID', { message: `The copy of the database fails SQLite's integrity check (${check.slice(0, 3).join('; ')}); the database itself may be damaged: run conclave doctor.` });
        return readFacts(db);
      });
    } else {
      const location = await findPgLocation(database.db);
      if (location.schema === null || config.databaseUrl === undefined) throw new AppError('VALIDATION_FAILED', { message: 'The PostgreSQL connection has no current schema; check the search_path in DATABASE_URL.' });
      // Read before the dump starts: the dump's snapshot is later, so it holds at least this checkpoint.
      facts = await readFacts(database.db);
      postgres = { schema: location.schema, serverVersion: location.serverVersion };
      await pgDump(config.databaseUrl, location.schema, join(work, PG_MEMBER));
      await chmod(join(work, PG_MEMBER), 0o600);
    }
    const fileMembers = await collectFiles(config.filesDir, work);
    const members = [database.engine === 'sqlite' ? SQLITE_MEMBER : PG_MEMBER, ...(witnessCopied ? [WITNESS_MEMBER] : []), ...fileMembers];
    const files: BackupFile[] = [];
    for (const name of members) files.push({ ...(await hashFile(join(work, name))), name });
    const manifest: BackupManifest = {
      format: BACKUP_FORMAT,
      formatVersion: BACKUP_FORMAT_VERSION,
      conclaveVersion: options.conclaveVersion,
      createdAt: new Date(services.now()).toISOString(),
      engine: database.engine,
      migrations: facts.migrations,
      keys: facts.keys,
      audit: { entries: facts.entries, checkpoint: facts.checkpoint },
      ...(postgres ? { postgres } : {}),
      files,
    };
    await writeFile(join(work, MANIFEST_NAME), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
    await writeArchive(work, [MANIFEST_NAME, ...members], out);
    return { out, sizeBytes: (await stat(out)).size, manifest };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
};

const notEmpty = (message: string): AppError => new AppError('RESTORE_TARGET_NOT_EMPTY', { message: `${message} A restore goes onto an empty target; nothing was changed.` });

const assertDirectoryEmpty = async (dir: string): Promise<void> => {
  try {
    const entries = await readdir(dir);
    if (entries.length > 0) throw notEmpty(`The data directory ${dir} is not empty (${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', …' : ''}).`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
};

const assertWitnessAbsent = async (path: string): Promise<void> => {
  try {
    if ((await stat(path)).size > 0) {
      throw notEmpty(
        `The audit witness file ${path} exists. It witnesses another log (or this one past the backup): keep it as evidence, move it aside, and run the restore again; the backup's own witness copy is put in its place.`,
      );
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
};

const withPgTarget = async <T>(config: Config, body: (db: Kysely<Schema>) => Promise<T>): Promise<T> => {
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, pgPoolSize: 1 });
  try {
    return await body(database.db);
  } finally {
    await database.close();
  }
};

/** True when the schema exists (and is empty); throws when it holds anything. */
const assertPgSchemaEmpty = async (db: Kysely<Schema>, schema: string): Promise<boolean> => {
  if (!(await pgSchemaExists(db, schema))) return false;
  const relations = await countPgRelations(db, schema);
  if (relations > 0) throw notEmpty(`The PostgreSQL schema ${schema} holds ${relations} table(s) or sequence(s).`);
  return true;
};

/**
 * Checks everything a restore needs before it writes anything: the manifest, the engine, the migrations,
 * an empty target, and the keys (by fingerprint; a backup without its keys is noise).
 */
export const checkRestore = async (config: Config, file: string): Promise<BackupManifest> => {
  const manifest = await readManifest(file);
  const engine = config.databaseUrl ? 'postgres' : 'sqlite';
  if (manifest.engine !== engine) {
    throw new AppError('BACKUP_ENGINE_MISMATCH', {
      message: `This backup is of a ${manifest.engine === 'sqlite' ? 'SQLite' : 'PostgreSQL'} database, and this configuration uses ${engine === 'sqlite' ? 'SQLite (DATABASE_URL is not set)' : 'PostgreSQL (DATABASE_URL is set)'}. Restore it onto the engine it came from.`,
    });
  }
  const unknown = manifest.migrations.filter((name) => !Object.hasOwn(MIGRATIONS, name));
  if (unknown.length > 0) {
    throw new AppError('BACKUP_INVALID', { message: `This backup was made by a newer Conclave (${manifest.conclaveVersion}): its database has migrations this version does not know (${unknown.join(', ')}). Restore it with that version or newer.` });
  }
  if (engine === 'sqlite') await assertDirectoryEmpty(config.dataDir);
  else await withPgTarget(config, async (db) => assertPgSchemaEmpty(db, manifest.postgres?.schema as string));
  await assertDirectoryEmpty(config.filesDir);
  await assertWitnessAbsent(config.auditWitnessPath);
  const missing = await describeMissingKeys(config, manifest.keys);
  if (missing.length > 0) {
    throw new AppError('BACKUP_KEYS_MISSING', {
      message:
        `This backup cannot be read with the keys in ${config.keysDir}:\n` +
        missing.map((line) => `  - ${line}`).join('\n') +
        '\nA backup is unreadable without its keys. Import them first from the key export you keep apart from your backups ' +
        '(conclave keys import FILE), then run the restore again. Nothing was written.',
    });
  }
  return manifest;
};

/** Puts the backup's witness copy where CONCLAVE_AUDIT_WITNESS points (never over an existing file). */
const restoreWitness = async (work: string, manifest: BackupManifest, witnessPath: string): Promise<void> => {
  if (!manifest.files.some((f) => f.name === WITNESS_MEMBER)) return;
  await mkdir(dirname(witnessPath), { recursive: true, mode: 0o700 });
  await rm(witnessPath, { force: true }); // an empty file at most (checked before)
  await copyFile(join(work, WITNESS_MEMBER), witnessPath, constants.COPYFILE_EXCL);
  await chmod(witnessPath, 0o600);
};

/**
 * Restores a backup onto an empty target: SQLite, an empty data directory; PostgreSQL, an empty schema of
 * the backup's name (created if missing) that DATABASE_URL's search_path resolves to. Nothing is written
 * until every check passed; a failed PostgreSQL restore leaves the schema as it found it.
 */
export const restoreBackup = async (config: Config, file: string): Promise<BackupManifest> => {
  const manifest = await checkRestore(config, file);
  if (manifest.engine === 'sqlite') {
    const parent = dirname(resolve(config.dataDir));
    await mkdir(parent, { recursive: true });
    const work = await mkdtemp(join(parent, '.conclave-restore-'));
    try {
      await extractArchive(file, manifest, work);
      const copy = join(work, SQLITE_MEMBER);
      const check = await withSqliteFile(copy, sqliteQuickCheck);
      if (check.length !== 1 || check[0] !== 'ok') throw new AppError('BACKUP_INVALID', { message: `The backed-up database fails SQLite's integrity check (${check.slice(0, 3).join('; ')}).` });
      await assertDirectoryEmpty(config.dataDir);
      await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
      await rename(copy, join(config.dataDir, SQLITE_FILE));
      await restoreFiles(work, manifest, config.filesDir);
      await restoreWitness(work, manifest, config.auditWitnessPath);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
    return manifest;
  }

  const schema = manifest.postgres?.schema as string;
  const databaseUrl = config.databaseUrl as string;
  const database = await openDatabase({ databaseUrl, dataDir: config.dataDir, pgPoolSize: 1 });
  const work = await mkdtemp(join(tmpdir(), 'conclave-restore-'));
  let created = false;
  try {
    if (!(await assertPgSchemaEmpty(database.db, schema))) {
      await createPgSchema(database.db, schema);
      created = true;
    }
    const location = await findPgLocation(database.db);
    if (location.schema !== schema) {
      throw new AppError('VALIDATION_FAILED', {
        message:
          `The backup's schema is ${schema}, but DATABASE_URL's search_path resolves to ${location.schema ?? 'no existing schema'}; pg_restore cannot rename a schema. ` +
          `Point the search_path at ${schema} (add ?options=-c%20search_path%3D${schema} to DATABASE_URL), or restore into a database where ${schema} is the default.`,
      });
    }
    await extractArchive(file, manifest, work);
    await pgRestore(databaseUrl, schema, join(work, PG_MEMBER), work);
    await restoreFiles(work, manifest, config.filesDir);
    await restoreWitness(work, manifest, config.auditWitnessPath);
    created = false;
  } finally {
    if (created && (await pgSchemaExists(database.db, schema))) await dropEmptyPgSchema(database.db, schema).catch(() => undefined);
    await database.close();
    await rm(work, { recursive: true, force: true });
  }
  return manifest;
};

/** After the restore: the backup's checkpoint is in the restored log with the same root. */
export const confirmRestoredCheckpoint = async (services: Services, manifest: BackupManifest): Promise<string | undefined> => {
  const expected = manifest.audit.checkpoint;
  if (!expected) return undefined;
  const found = (await listCheckpoints(services.database.db)).find((c) => Number(c.size) === expected.size);
  if (!found || found.root_hash !== expected.rootHash) return `The restored audit log does not hold the backup's checkpoint at size ${expected.size}; run conclave audit verify.`;
  return undefined;
};
