import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { constants as zlibConstants, gunzipSync } from 'node:zlib';
import { Parser, create, extract } from 'tar';
import { AppError } from '../errors.ts';
import { isBackupMember, MANIFEST_NAME, parseManifest, type BackupFile, type BackupManifest } from './backup.manifest.ts';

/** SHA-256 and size of a file, streamed. */
export const hashFile = async (path: string): Promise<BackupFile & { name: '' }> => {
  const hash = createHash('sha256');
  let sizeBytes = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    sizeBytes += (chunk as Buffer).length;
  }
  return { name: '', sizeBytes, sha256: hash.digest('hex') };
};

/**
 * Writes `members` (paths relative to `dir`, the manifest first) as a gzip tar to `out`: first to
 * `out.partial` (mode 0600), renamed into place only once complete, so a stopped backup never looks like one.
 */
export const writeArchive = async (dir: string, members: string[], out: string): Promise<void> => {
  const partial = `${out}.partial`;
  try {
    await pipeline(create({ gzip: true, cwd: dir, portable: true, strict: true }, members), createWriteStream(partial, { mode: 0o600, flags: 'wx' }));
    const handle = await open(partial, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(partial, out);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
};

const invalid = (why: string): AppError => new AppError('BACKUP_INVALID', { message: `This is not a usable Conclave backup: ${why}` });

/** Reads the manifest, the archive's first member, without reading the rest of the file. */
export const readManifest = async (file: string): Promise<BackupManifest> => {
  try {
    await stat(file);
  } catch {
    throw invalid(`${file} cannot be read.`);
  }
  const text = await new Promise<string>((resolve, reject) => {
    const input = createReadStream(file);
    let settled = false;
    const settle = (error: Error | undefined, value?: string) => {
      if (settled) return;
      settled = true;
      input.destroy();
      if (error) reject(error);
      else resolve(value ?? '');
    };
    const parser = new Parser({
      strict: true,
      onReadEntry: (entry) => {
        if (entry.path !== MANIFEST_NAME) {
          entry.resume();
          settle(invalid(`its first member is ${JSON.stringify(entry.path)}, not ${MANIFEST_NAME}.`));
          return;
        }
        const chunks: Buffer[] = [];
        entry.on('data', (chunk: Buffer) => chunks.push(chunk));
        entry.on('end', () => settle(undefined, Buffer.concat(chunks).toString('utf8')));
      },
    });
    parser.on('error', () => settle(invalid(`${file} is not a gzip tar archive, or it is damaged.`)));
    parser.on('end', () => settle(invalid(`${file} holds no ${MANIFEST_NAME}.`)));
    input.on('error', (error) => settle(error));
    input.pipe(parser);
  });
  return parseManifest(text);
};

/**
 * Extracts the members the manifest lists into `dir` (nothing else: unknown names, links and devices are
 * skipped), then checks each one's size and SHA-256 against the manifest.
 */
export const extractArchive = async (file: string, manifest: BackupManifest, dir: string): Promise<void> => {
  const wanted = new Set(manifest.files.map((f) => f.name));
  try {
    await extract({
      file,
      cwd: dir,
      strict: true,
      preserveOwner: false,
      filter: (path, entry) => wanted.has(path) && isBackupMember(path) && ('type' in entry ? entry.type === 'File' : true),
    });
  } catch (error) {
    throw invalid(`it could not be read to the end (${(error as Error).message}); the file is damaged or incomplete.`);
  }
  for (const expected of manifest.files) {
    let actual;
    try {
      actual = await hashFile(`${dir}/${expected.name}`);
    } catch {
      throw invalid(`${expected.name} is missing from the archive.`);
    }
    if (actual.sizeBytes !== expected.sizeBytes || actual.sha256 !== expected.sha256) {
      throw invalid(`${expected.name} does not match its checksum in the manifest; the file was damaged or altered.`);
    }
  }
};

/** Whether a file's first bytes are a Conclave backup (a gzip tar whose first member is the manifest). */
export const looksLikeBackup = (head: Buffer): boolean => {
  if (head.length < 2 || head[0] !== 0x1f || head[1] !== 0x8b) return false;
  try {
    const tarHead = gunzipSync(head, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
    return tarHead.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '') === MANIFEST_NAME;
  } catch {
    return false;
  }
};
