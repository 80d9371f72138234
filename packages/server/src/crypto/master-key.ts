import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, rename, rm, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { unwrapKey, wrapKey } from './field-cipher.ts';
import { KEY_BYTES, keyFingerprint, keyPath, readKey, readOrCreateKey } from './key-files.ts';

/**
 * The master key wraps the keys kept in the database (the server's data and index keys, each instance's
 * key-encryption and index keys). It never enters the database. This is the small interface a KMS or
 * Vault transit stands in for: wrap and unwrap by key id, and an id that names the key without revealing it.
 */
export interface MasterKey {
  readonly id: string;
  wrap(keyId: string, key: Buffer): string;
  unwrap(keyId: string, wrapped: string): Buffer;
}

export const masterKeyFromBytes = (key: Buffer): MasterKey => {
  const material = Buffer.from(key);
  return {
    id: keyFingerprint(material, 'master'),
    wrap: (keyId, plain) => wrapKey(material, keyId, plain),
    unwrap: (keyId, wrapped) => unwrapKey(material, keyId, wrapped),
  };
};

export class MasterKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MasterKeyError';
  }
}

/** Where the master key comes from: a base64 value in the environment, or master.key in the keys directory. */
export interface MasterKeySource {
  keysDir: string;
  /** Base64 of 32 bytes from CONCLAVE_MASTER_KEY, when set (the keys directory's master.key is then not used). */
  fromEnv: string | undefined;
}

export const decodeMasterKeyEnv = (value: string): Buffer | undefined => {
  const key = Buffer.from(value.trim(), 'base64');
  return key.length === KEY_BYTES ? key : undefined;
};

export const describeMasterSource = (source: MasterKeySource): string =>
  source.fromEnv !== undefined ? 'CONCLAVE_MASTER_KEY' : keyPath(source.keysDir, 'master');

/** Reads the master key; creates master.key when asked (a fresh database) and the environment gives none. */
export const readMasterKey = async (source: MasterKeySource, options: { create: boolean }): Promise<MasterKey | undefined> => {
  if (source.fromEnv !== undefined) {
    const key = decodeMasterKeyEnv(source.fromEnv);
    if (!key) throw new MasterKeyError('CONCLAVE_MASTER_KEY is not the base64 of 32 bytes. Generate one with: openssl rand -base64 32');
    return masterKeyFromBytes(key);
  }
  if (options.create) return masterKeyFromBytes((await readOrCreateKey(source.keysDir, 'master')).key);
  const key = await readKey(source.keysDir, 'master');
  return key ? masterKeyFromBytes(key) : undefined;
};

/** The next master key, written beside the current one until a rotation completes. */
export const nextMasterPath = (keysDir: string): string => join(keysDir, 'master.next.key');
export const retiredMasterPath = (keysDir: string, id: string): string => join(keysDir, 'retired', `master-${id.slice(0, 16)}.key`);

const readKeyFile = async (path: string): Promise<Buffer | undefined> => {
  try {
    const key = Buffer.from((await readFile(path, 'utf8')).trim(), 'base64');
    if (key.length !== KEY_BYTES) throw new MasterKeyError(`${path} does not hold a 32-byte base64 key.`);
    return key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
};

/** The pending next master key (a rotation that has not finished), if any. */
export const readNextMasterKey = async (keysDir: string): Promise<MasterKey | undefined> => {
  const key = await readKeyFile(nextMasterPath(keysDir));
  return key ? masterKeyFromBytes(key) : undefined;
};

/** Writes a new next master key (mode 0600), or returns the one a failed rotation left. */
export const createNextMasterKey = async (keysDir: string): Promise<MasterKey> => {
  const existing = await readNextMasterKey(keysDir);
  if (existing) return existing;
  const key = randomBytes(KEY_BYTES);
  const handle = await open(nextMasterPath(keysDir), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    await handle.writeFile(`${key.toString('base64')}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return masterKeyFromBytes(key);
};

/**
 * After the database has switched to the next master key: master.next.key becomes master.key. The old key is
 * kept in retired/ (backups made before the rotation need it) or destroyed, as the operator chose.
 */
export const completeMasterFileRotation = async (keysDir: string, oldId: string, keepOld: boolean): Promise<string | undefined> => {
  const current = keyPath(keysDir, 'master');
  let retiredTo: string | undefined;
  if (keepOld) {
    retiredTo = retiredMasterPath(keysDir, oldId);
    await mkdir(join(keysDir, 'retired'), { recursive: true, mode: 0o700 });
    await rename(current, retiredTo).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
  } else {
    await rm(current, { force: true });
  }
  await rename(nextMasterPath(keysDir), current);
  return retiredTo;
};
