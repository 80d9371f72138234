import { createCipheriv, createDecipheriv } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

/**
 * Streaming encryption of a file (docs/decisions/0021): AES-256-GCM over fixed-size chunks, so a large file
 * never sits in memory and each chunk is authenticated before a byte of it is let out.
 *
 * On disk: a 16-byte header (`CNVFILE1`, the key version, the chunk size, all big-endian), then the chunks,
 * each its ciphertext followed by its 16-byte tag. The key is the file's own (derived from its room's data
 * key and the file id), so nonces are the chunk counter. Each chunk's associated data names the file, the
 * chunk's index and whether it is the last: chunks cannot be reordered, dropped, moved to another file, or
 * the file cut short after a chunk boundary. An empty file is one empty last chunk.
 */
export const FILE_MAGIC = Buffer.from('CNVFILE1', 'ascii');
export const HEADER_BYTES = 16;
export const CHUNK_BYTES = 64 * 1024;
const TAG_BYTES = 16;

const nonce = (index: number): Buffer => {
  const iv = Buffer.alloc(12);
  iv.writeBigUInt64BE(BigInt(index), 4);
  return iv;
};

const aad = (recordId: string, index: number, last: boolean): Buffer => Buffer.from(`conclave-file-v1|${recordId}|${index}|${last ? 1 : 0}`, 'utf8');

export class FileIntegrityError extends Error {
  constructor(recordId: string, reason: string) {
    super(`The encrypted file ${recordId} does not open: ${reason}.`);
    this.name = 'FileIntegrityError';
  }
}

export const fileHeader = (version: number): Buffer => {
  const header = Buffer.alloc(HEADER_BYTES);
  FILE_MAGIC.copy(header, 0);
  header.writeUInt32BE(version, 8);
  header.writeUInt32BE(CHUNK_BYTES, 12);
  return header;
};

/** Plaintext in, the header and sealed chunks out. */
export const encryptingStream = (key: Buffer, version: number, recordId: string): Transform => {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let index = 0;
  const sealChunk = (chunk: Buffer, last: boolean): Buffer => {
    const cipher = createCipheriv('aes-256-gcm', key, nonce(index));
    cipher.setAAD(aad(recordId, index, last));
    index += 1;
    return Buffer.concat([cipher.update(chunk), cipher.final(), cipher.getAuthTag()]);
  };
  return new Transform({
    construct(callback) {
      this.push(fileHeader(version));
      callback();
    },
    transform(data: Buffer, _encoding, callback: TransformCallback) {
      pending.push(data);
      pendingBytes += data.length;
      // Keep at least one byte back: only the flush knows which chunk is the last.
      if (pendingBytes > CHUNK_BYTES) {
        let all = Buffer.concat(pending);
        while (all.length > CHUNK_BYTES) {
          this.push(sealChunk(all.subarray(0, CHUNK_BYTES), false));
          all = all.subarray(CHUNK_BYTES);
        }
        pending = [all];
        pendingBytes = all.length;
      }
      callback();
    },
    flush(callback: TransformCallback) {
      this.push(sealChunk(Buffer.concat(pending), true));
      callback();
    },
  });
};

/** The stored bytes in (header first), the plaintext out; any tampering fails the stream. */
export const decryptingStream = (key: Buffer, version: number, recordId: string): Transform => {
  let pending: Buffer[] = [];
  let index = 0;
  let headerRead = false;
  const sealed = CHUNK_BYTES + TAG_BYTES;
  const openChunk = (chunk: Buffer, last: boolean): Buffer => {
    if (chunk.length < TAG_BYTES) throw new FileIntegrityError(recordId, 'it is truncated');
    const decipher = createDecipheriv('aes-256-gcm', key, nonce(index));
    decipher.setAAD(aad(recordId, index, last));
    decipher.setAuthTag(chunk.subarray(chunk.length - TAG_BYTES));
    index += 1;
    try {
      return Buffer.concat([decipher.update(chunk.subarray(0, chunk.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new FileIntegrityError(recordId, 'a chunk was altered, moved, or sealed under another key');
    }
  };
  return new Transform({
    transform(data: Buffer, _encoding, callback: TransformCallback) {
      try {
        pending.push(data);
        let all = Buffer.concat(pending);
        if (!headerRead) {
          if (all.length < HEADER_BYTES) {
            pending = [all];
            return callback();
          }
          if (!all.subarray(0, 8).equals(FILE_MAGIC) || all.readUInt32BE(8) !== version || all.readUInt32BE(12) !== CHUNK_BYTES) {
            throw new FileIntegrityError(recordId, 'its header is not the one it was written with');
          }
          headerRead = true;
          all = all.subarray(HEADER_BYTES);
        }
        while (all.length > sealed) {
          this.push(openChunk(all.subarray(0, sealed), false));
          all = all.subarray(sealed);
        }
        pending = [all];
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    flush(callback: TransformCallback) {
      try {
        if (!headerRead) throw new FileIntegrityError(recordId, 'it is truncated');
        this.push(openChunk(Buffer.concat(pending), true));
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
  });
};
