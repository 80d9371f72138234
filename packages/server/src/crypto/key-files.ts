import { createHash, createHmac, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, mkdir, open, readFile, stat } from 'node:fs/promises';
import { join, relative, isAbsolute } from 'node:path';

export const KEY_BYTES = 32;

/** The named secrets kept in the keys directory. The audit key is the Ed25519 seed that signs audit checkpoints. */
export const KEY_NAMES = ['pepper', 'master', 'audit'] as const;
export type KeyName = (typeof KEY_NAMES)[number];

export class KeyFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyFileError';
  }
}

export const keyPath = (keysDir: string, name: KeyName): string => join(keysDir, `${name}.key`);

/** True when `child` is `parent` or lies inside it. */
export const isInside = (child: string, parent: string): boolean => {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
};

const decodeKey = (text: string, path: string): Buffer => {
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length !== KEY_BYTES) {
    throw new KeyFileError(`${path} does not hold a ${KEY_BYTES}-byte base64 key. Restore it from your keys backup.`);
  }
  return key;
};

export const readKey = async (keysDir: string, name: KeyName): Promise<Buffer | undefined> => {
  const path = keyPath(keysDir, name);
  try {
    return decodeKey(await readFile(path, 'utf8'), path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
};

/**
 * Creates the key file with mode 0600 if it does not exist (never overwrites: O_EXCL), then reads it.
 * Two processes starting at once agree on one key: the loser of the O_EXCL race reads the winner's.
 */
export const readOrCreateKey = async (keysDir: string, name: KeyName): Promise<{ key: Buffer; created: boolean }> => {
  await mkdir(keysDir, { recursive: true, mode: 0o700 });
  const existing = await readKey(keysDir, name);
  if (existing) return { key: existing, created: false };
  const path = keyPath(keysDir, name);
  const key = randomBytes(KEY_BYTES);
  try {
    const handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      await handle.writeFile(`${key.toString('base64')}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await chmod(path, 0o600);
    return { key, created: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      const raced = await readKey(keysDir, name);
      if (raced) return { key: raced, created: false };
    }
    throw error;
  }
};

/** A non-secret identifier of a key, safe to store in the database to detect a wrong or replaced key. */
export const keyFingerprint = (key: Buffer, purpose: string): string =>
  createHash('sha256').update(createHmac('sha256', key).update(`conclave-key-id:${purpose}`).digest()).digest('hex').slice(0, 32);

/** Problems with how a key file is stored: readable by others, or inside the data directory. */
export const inspectKeyFile = async (keysDir: string, name: KeyName, dataDir: string): Promise<string[]> => {
  const path = keyPath(keysDir, name);
  const warnings: string[] = [];
  try {
    const info = await stat(path);
    if ((info.mode & 0o077) !== 0) {
      warnings.push(`${path} is readable by other users (mode ${(info.mode & 0o777).toString(8)}); run chmod 600 ${path}.`);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [`${path} does not exist yet; it is created at first start.`];
    throw error;
  }
  if (isInside(keysDir, dataDir)) {
    warnings.push(`The keys directory ${keysDir} is inside the data directory ${dataDir}: a backup of the data would carry its keys. Move it and set CONCLAVE_KEYS_DIR.`);
  }
  return warnings;
};
