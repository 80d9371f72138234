import { AppError } from '../errors.ts';
import type { Engine } from '../db/index.ts';
import type { KeyFingerprints } from './key-export.ts';

/**
 * A backup is one gzip-compressed tar file (readable with `tar xzf` by hand, if it ever has to be) holding,
 * in this order:
 *
 *   conclave-backup.json     this manifest
 *   database/conclave.db     SQLite: the online-backup snapshot      | database/conclave.pgdump  PostgreSQL: pg_dump -Fc
 *   audit-witness.log        the witness file as it was before the snapshot (if there was one)
 *
 * The manifest names the keys the backup needs by fingerprint, never the keys themselves.
 */
export const BACKUP_FORMAT = 'conclave-backup';
export const BACKUP_FORMAT_VERSION = 1;
export const MANIFEST_NAME = 'conclave-backup.json';
export const SQLITE_MEMBER = 'database/conclave.db';
export const PG_MEMBER = 'database/conclave.pgdump';
export const WITNESS_MEMBER = 'audit-witness.log';
export const BACKUP_MEMBERS: readonly string[] = [MANIFEST_NAME, SQLITE_MEMBER, PG_MEMBER, WITNESS_MEMBER];
/** Files' encrypted objects (decision 0021), under files/ by their ids: nothing else of that folder is taken. */
export const FILES_PREFIX = 'files/';
const FILE_MEMBER = /^files\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(\.preview)?$/;
export const isFileMember = (name: string): boolean => FILE_MEMBER.test(name);
export const isBackupMember = (name: string): boolean => BACKUP_MEMBERS.includes(name) || isFileMember(name);

export interface BackupFile {
  name: string;
  sizeBytes: number;
  sha256: string;
}

export interface BackupCheckpoint {
  size: number;
  rootHash: string;
  /** The signed note (C2SP), verifiable with the audit public key. */
  note: string;
  createdAt: string;
}

export interface BackupManifest {
  format: typeof BACKUP_FORMAT;
  formatVersion: number;
  conclaveVersion: string;
  createdAt: string;
  engine: Engine;
  /** Migrations applied to the database when it was copied; a restore refuses a backup with ones it does not know. */
  migrations: string[];
  /** Fingerprints of the keys the backup needs: what server_state and the audit checkpoints record. */
  keys: KeyFingerprints;
  audit: { entries: number; checkpoint: BackupCheckpoint | null };
  /** PostgreSQL only: the schema dumped (pg_restore recreates it under the same name) and the server's version. */
  postgres?: { schema: string; serverVersion: string };
  files: BackupFile[];
}

const invalid = (why: string): AppError => new AppError('BACKUP_INVALID', { message: `This is not a usable Conclave backup: ${why}` });

/** Checks the manifest's shape and the parts a restore relies on. */
export const parseManifest = (text: string): BackupManifest => {
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(text) as BackupManifest;
  } catch {
    throw invalid('its manifest is not JSON.');
  }
  if (manifest === null || typeof manifest !== 'object' || manifest.format !== BACKUP_FORMAT) throw invalid(`its manifest is not a ${BACKUP_FORMAT} manifest.`);
  if (manifest.formatVersion !== BACKUP_FORMAT_VERSION) {
    throw invalid(`it is format version ${String(manifest.formatVersion)}; this Conclave reads version ${BACKUP_FORMAT_VERSION}. Restore it with the Conclave version that made it (${String(manifest.conclaveVersion)}).`);
  }
  if (manifest.engine !== 'sqlite' && manifest.engine !== 'postgres') throw invalid('its manifest names no database engine.');
  if (!Array.isArray(manifest.migrations) || !manifest.migrations.every((m) => typeof m === 'string')) throw invalid('its manifest lists no migrations.');
  if (!Array.isArray(manifest.files) || !manifest.files.every((f) => typeof f?.name === 'string' && typeof f.sha256 === 'string' && Number.isInteger(f.sizeBytes))) throw invalid('its manifest lists no files.');
  if (manifest.keys === null || typeof manifest.keys !== 'object') throw invalid('its manifest names no keys.');
  const database = manifest.engine === 'sqlite' ? SQLITE_MEMBER : PG_MEMBER;
  if (!manifest.files.some((f) => f.name === database)) throw invalid(`its manifest lists no ${database}.`);
  if (manifest.engine === 'postgres' && typeof manifest.postgres?.schema !== 'string') throw invalid('its manifest names no PostgreSQL schema.');
  for (const file of manifest.files) if (!isBackupMember(file.name) || file.name === MANIFEST_NAME) throw invalid(`its manifest lists an unknown file ${JSON.stringify(file.name)}.`);
  return manifest;
};
