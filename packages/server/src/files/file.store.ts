import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { decryptingStream, encryptingStream } from './file.cipher.ts';

/** Which stored object of a file: the bytes uploaded, or the preview made of them. */
export type FileVariant = 'file' | 'preview';

const ID = /^[0-9a-f-]{36}$/;

/**
 * Files on local disk (decision 0021): one encrypted object per file (and one per preview) in one directory,
 * named by the file's id only. Written to a temporary name, synced, then renamed into place, so a crash
 * leaves either the whole file or a `.tmp-` leftover, never a half-written object under a real name.
 */
export class FileStore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  path(id: string, variant: FileVariant = 'file'): string {
    if (!ID.test(id)) throw new Error(`Not a file id: ${id}`);
    return join(this.dir, variant === 'file' ? id : `${id}.preview`);
  }

  /** Encrypts `source` into place under `id`; returns the plaintext byte count. */
  async write(id: string, variant: FileVariant, source: Readable | Buffer, key: { version: number; key: Buffer }, recordId: string): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const temp = join(this.dir, `.tmp-${randomBytes(8).toString('hex')}`);
    try {
      const input = Buffer.isBuffer(source) ? [source] : source;
      await pipeline(input, encryptingStream(key.key, key.version, recordId), createWriteStream(temp, { mode: 0o600, flags: 'wx' }));
      const handle = await open(temp, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, this.path(id, variant));
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }

  /** The plaintext, decrypted as it is read; fails (mid-stream at worst) if a byte was changed. */
  read(id: string, variant: FileVariant, key: { version: number; key: Buffer }, recordId: string): Readable {
    const source = createReadStream(this.path(id, variant), { highWaterMark: 1024 * 1024 });
    const plain = decryptingStream(key.key, key.version, recordId);
    source.on('error', (error) => plain.destroy(error));
    return source.pipe(plain);
  }

  /** Removes files and their previews; missing ones are no error. */
  async remove(ids: readonly string[]): Promise<void> {
    for (const id of ids) {
      await rm(this.path(id, 'file'), { force: true });
      await rm(this.path(id, 'preview'), { force: true });
    }
  }
}
