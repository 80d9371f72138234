import { open, readdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Config } from '../config/config.ts';
import { KEY_NAMES, isInside } from '../crypto/index.ts';
import { AppError } from '../errors.ts';
import { looksLikeBackup } from './backup.archive.ts';
import { looksLikeKeyExport } from './key-export.ts';

const readHead = async (path: string): Promise<Buffer> => {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(4096);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
};

/** Files in `dir` (not below) whose first bytes match. Unreadable entries are skipped. */
const findFiles = async (dir: string, match: (head: Buffer, name: string) => boolean): Promise<string[]> => {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const found: string[] = [];
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    try {
      if (match(await readHead(join(dir, entry.name)), entry.name)) found.push(entry.name);
    } catch {
      // unreadable: not ours to judge
    }
  }
  return found;
};

const keyFileNames = new Set(KEY_NAMES.map((name) => `${name}.key`));

const refuse = (message: string): AppError => new AppError('KEYS_BESIDE_BACKUP', { message: `${message} Choose another place, or pass --force if you know it is safe.` });

/**
 * A database backup must not be written where keys are: in the keys directory, or in a directory that holds
 * a key export or key files. A thief who takes one file should never get both. `force` lifts these checks,
 * not the one against the data directory (a restore needs it empty, and a backup there dies with it).
 */
export const assertBackupPlacement = async (config: Config, out: string, options: { force: boolean }): Promise<void> => {
  const target = resolve(out);
  const dir = dirname(target);
  if (isInside(target, config.dataDir)) {
    throw new AppError('VALIDATION_FAILED', { message: `${target} is inside the data directory ${config.dataDir}: a backup must live apart from what it backs up (a restore also needs that directory empty).` });
  }
  if (options.force) return;
  if (isInside(target, config.keysDir)) throw refuse(`${target} is inside the keys directory ${config.keysDir}: the backup would sit with the keys that open it.`);
  const exports = await findFiles(dir, (head) => looksLikeKeyExport(head));
  if (exports.length > 0) throw refuse(`${dir} holds a key export (${exports.join(', ')}): a backup beside its keys is a breach waiting.`);
  const keys = await findFiles(dir, (_head, name) => keyFileNames.has(name));
  if (keys.length > 0) throw refuse(`${dir} holds key files (${keys.join(', ')}): a backup beside its keys is a breach waiting.`);
};

/** A key export must not be written beside a database backup, nor into the data directory. */
export const assertKeyExportPlacement = async (config: Config, out: string): Promise<void> => {
  const target = resolve(out);
  const dir = dirname(target);
  if (isInside(target, config.dataDir)) throw refuse(`${target} is inside the data directory ${config.dataDir}: a copy of the data would carry its keys.`);
  const backups = await findFiles(dir, (head) => looksLikeBackup(head));
  if (backups.length > 0) throw refuse(`${dir} holds a Conclave backup (${backups.join(', ')}): keys beside the backup they open are a breach waiting.`);
};
