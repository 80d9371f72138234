import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, mkdir, open, readFile, readdir } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { hashRaw } from '@node-rs/argon2';
import { AppError } from '../errors.ts';

/**
 * `conclave keys export`: every file of the keys directory, sealed under a passphrase, in one JSON file.
 *
 *   { format: "conclave-keys-export", version: 1, createdAt, fingerprints, files,
 *     kdf: { name: "argon2id", memoryKib, iterations, parallelism, salt }, cipher: { name: "aes-256-gcm", iv },
 *     ciphertext, tag }
 *
 * The key is argon2id(passphrase, salt) — 32 bytes, 64 MiB, 3 passes — the password hashing Conclave already
 * ships (@node-rs/argon2), memory-hard, so a stolen export costs a guesser real memory per guess. The
 * plaintext is JSON { files: [{ path, content (base64) }] }; every header field is the cipher's associated
 * data, so a changed fingerprint or KDF parameter fails to open like a wrong passphrase. The fingerprints
 * are in clear on purpose: they are the ids the database stores anyway, and they let an operator see which
 * keys an export holds (and match it to a backup's manifest) without the passphrase.
 */
export const KEY_EXPORT_FORMAT = 'conclave-keys-export';
export const MIN_PASSPHRASE_LENGTH = 12;

/** The public fingerprints of the three keys, as the database and a backup's manifest record them. */
export interface KeyFingerprints {
  pepper: string | null;
  master: string | null;
  audit: string | null;
}

export interface KdfParams {
  name: 'argon2id';
  memoryKib: number;
  iterations: number;
  parallelism: number;
  salt: string;
}

export interface KeyExportHeader {
  format: typeof KEY_EXPORT_FORMAT;
  version: 1;
  createdAt: string;
  fingerprints: KeyFingerprints;
  /** How many files the export holds. */
  files: number;
  kdf: KdfParams;
  cipher: { name: 'aes-256-gcm'; iv: string };
}

export interface KeyExportDocument extends KeyExportHeader {
  ciphertext: string;
  tag: string;
}

export interface KeyFile {
  /** Relative to the keys directory, with / separators (retired/master-….key). */
  path: string;
  content: Buffer;
}

/** Export defaults; an export records its own, so raising them later keeps old exports readable. */
export const DEFAULT_KDF = { memoryKib: 65_536, iterations: 3, parallelism: 1 } as const;
/** Argon2id, read from @node-rs/argon2's const enum (isolated modules cannot). */
const ARGON2ID = 2;

const deriveKey = (passphrase: string, kdf: KdfParams): Promise<Buffer> =>
  hashRaw(Buffer.from(passphrase.normalize('NFKC'), 'utf8'), {
    algorithm: ARGON2ID,
    memoryCost: kdf.memoryKib,
    timeCost: kdf.iterations,
    parallelism: kdf.parallelism,
    outputLen: 32,
    salt: Buffer.from(kdf.salt, 'base64'),
  });

/** Every header field in a fixed order: the associated data of the seal. */
const headerAad = (header: KeyExportHeader): Buffer =>
  Buffer.from(
    JSON.stringify([
      header.format,
      header.version,
      header.createdAt,
      header.fingerprints.pepper,
      header.fingerprints.master,
      header.fingerprints.audit,
      header.files,
      header.kdf.name,
      header.kdf.memoryKib,
      header.kdf.iterations,
      header.kdf.parallelism,
      header.kdf.salt,
      header.cipher.name,
      header.cipher.iv,
    ]),
    'utf8',
  );

const SAFE_PATH = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;
const isSafePath = (path: string): boolean => SAFE_PATH.test(path) && !path.split('/').some((part) => part === '.' || part === '..');

/** Every regular file under the keys directory (symbolic links are not followed). */
export const readKeyFiles = async (keysDir: string): Promise<KeyFile[]> => {
  const files: KeyFile[] = [];
  const walk = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) files.push({ path: relative(keysDir, path).split(sep).join('/'), content: await readFile(path) });
    }
  };
  await walk(keysDir);
  return files;
};

export const sealKeyExport = async (files: KeyFile[], fingerprints: KeyFingerprints, passphrase: string, now: Date = new Date(), kdfParams: Omit<KdfParams, 'name' | 'salt'> = DEFAULT_KDF): Promise<KeyExportDocument> => {
  const header: KeyExportHeader = {
    format: KEY_EXPORT_FORMAT,
    version: 1,
    createdAt: now.toISOString(),
    fingerprints,
    files: files.length,
    kdf: { name: 'argon2id', ...kdfParams, salt: randomBytes(16).toString('base64') },
    cipher: { name: 'aes-256-gcm', iv: randomBytes(12).toString('base64') },
  };
  const key = await deriveKey(passphrase, header.kdf);
  const cipher = createCipheriv('aes-256-gcm', key, Buffer.from(header.cipher.iv, 'base64'));
  cipher.setAAD(headerAad(header));
  const plaintext = Buffer.from(JSON.stringify({ files: files.map((file) => ({ path: file.path, content: file.content.toString('base64') })) }), 'utf8');
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  plaintext.fill(0);
  key.fill(0);
  return { ...header, ciphertext: ciphertext.toString('base64'), tag: cipher.getAuthTag().toString('base64') };
};

const unreadable = (why: string): AppError => new AppError('KEY_EXPORT_UNREADABLE', { message: `The key export cannot be opened: ${why}` });

/** The header of an export, checked for shape (no passphrase needed). */
export const parseKeyExport = (text: string): KeyExportDocument => {
  let doc: KeyExportDocument;
  try {
    doc = JSON.parse(text) as KeyExportDocument;
  } catch {
    throw unreadable('it is not JSON; give the file conclave keys export wrote.');
  }
  if (doc === null || typeof doc !== 'object' || doc.format !== KEY_EXPORT_FORMAT) throw unreadable('it is not a Conclave key export.');
  if (doc.version !== 1) throw unreadable(`it is format version ${String(doc.version)}, which this Conclave does not know; open it with the version that wrote it.`);
  const kdf = doc.kdf;
  const ok =
    kdf?.name === 'argon2id' &&
    Number.isInteger(kdf.memoryKib) && kdf.memoryKib >= 19_456 && kdf.memoryKib <= 4_194_304 &&
    Number.isInteger(kdf.iterations) && kdf.iterations >= 1 && kdf.iterations <= 100 &&
    Number.isInteger(kdf.parallelism) && kdf.parallelism >= 1 && kdf.parallelism <= 16 &&
    typeof kdf.salt === 'string' && doc.cipher?.name === 'aes-256-gcm' && typeof doc.cipher.iv === 'string' &&
    typeof doc.ciphertext === 'string' && typeof doc.tag === 'string' && typeof doc.createdAt === 'string' &&
    Number.isInteger(doc.files) && doc.fingerprints !== null && typeof doc.fingerprints === 'object';
  if (!ok) throw unreadable('its header is damaged.');
  return doc;
};

/** Opens an export: a wrong passphrase and an altered file fail alike (the GCM tag). */
export const openKeyExport = async (doc: KeyExportDocument, passphrase: string): Promise<KeyFile[]> => {
  const header: KeyExportHeader = { format: doc.format, version: doc.version, createdAt: doc.createdAt, fingerprints: doc.fingerprints, files: doc.files, kdf: doc.kdf, cipher: doc.cipher };
  const key = await deriveKey(passphrase, doc.kdf);
  let plaintext: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(doc.cipher.iv, 'base64'));
    decipher.setAAD(headerAad(header));
    decipher.setAuthTag(Buffer.from(doc.tag, 'base64'));
    plaintext = Buffer.concat([decipher.update(Buffer.from(doc.ciphertext, 'base64')), decipher.final()]);
  } catch {
    throw unreadable('the passphrase is wrong, or the file was altered.');
  } finally {
    key.fill(0);
  }
  const body = JSON.parse(plaintext.toString('utf8')) as { files: Array<{ path: string; content: string }> };
  plaintext.fill(0);
  const files = body.files.map((file) => ({ path: file.path, content: Buffer.from(file.content, 'base64') }));
  for (const file of files) if (!isSafePath(file.path)) throw unreadable(`it names a file outside the keys directory (${JSON.stringify(file.path)}).`);
  if (files.length !== doc.files) throw unreadable('it holds a different number of files than its header says.');
  return files;
};

export interface ImportResult {
  written: string[];
  alreadyPresent: string[];
}

/**
 * Writes the files into the keys directory (0700; files 0600, never overwritten: O_EXCL). A file that is
 * already there with the same content is left alone; one with different content stops the import before
 * anything is written.
 */
export const writeKeyFiles = async (keysDir: string, files: KeyFile[]): Promise<ImportResult> => {
  const result: ImportResult = { written: [], alreadyPresent: [] };
  const toWrite: KeyFile[] = [];
  for (const file of files) {
    const target = join(keysDir, ...file.path.split('/'));
    let existing: Buffer | undefined;
    try {
      const info = await lstat(target);
      if (!info.isFile()) throw new AppError('KEY_IMPORT_CONFLICT', { message: `${target} exists and is not a regular file; nothing was imported.` });
      existing = await readFile(target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    if (existing === undefined) toWrite.push(file);
    else if (existing.equals(file.content)) result.alreadyPresent.push(file.path);
    else {
      throw new AppError('KEY_IMPORT_CONFLICT', {
        message: `${target} already holds a different key; Conclave never overwrites a key (the data it opens would be lost). Import into an empty keys directory, or move that file away knowingly. Nothing was imported.`,
      });
    }
  }
  await mkdir(keysDir, { recursive: true, mode: 0o700 });
  for (const file of toWrite) {
    const target = join(keysDir, ...file.path.split('/'));
    await mkdir(dirname(target), { recursive: true, mode: 0o700 });
    const handle = await open(target, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      await handle.writeFile(file.content);
      await handle.sync();
    } finally {
      await handle.close();
    }
    result.written.push(file.path);
  }
  return result;
};

/** Whether a file starts like a key export (the placement checks look for them beside backups). */
export const looksLikeKeyExport = (head: Buffer): boolean => head.toString('utf8', 0, 64).replace(/\s/g, '').startsWith(`{"format":"${KEY_EXPORT_FORMAT}"`);
