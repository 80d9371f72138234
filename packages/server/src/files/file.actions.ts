import type { Attachment, Message } from '@conclave/protocol';
import { LIMITS } from '@conclave/protocol';
import { Readable } from 'node:stream';
import { accessRoom, postMessage, recordRoomRead, type RoomAccess } from '../chat/index.ts';
import type { AppContext } from '../context.ts';
import { newId, type OwnerCipher } from '../crypto/index.ts';
import { AppError } from '../errors.ts';
import type { Actor } from '../identity/index.ts';
import { findFile, findInstanceFileLimit, insertFile, type FileRow } from './file.queries.ts';
import { makePreviewOffThread, PREVIEW_SOURCE_MAX_BYTES, type Preview } from './file.preview.ts';
import { cleanFileName, detectContentType, PREVIEWABLE, SNIFF_BYTES } from './file.type.ts';

/** The purposes a file's keys are derived for (bound into the key, with the file id). */
const CONTENT_KEY = 'files.content';
const PREVIEW_KEY = 'files.preview';

interface FileMeta {
  name: string;
  contentType: string;
  previewType?: Preview['contentType'];
}

const sealMeta = (keys: OwnerCipher, fileId: string, meta: FileMeta): string => keys.seal('files.meta', fileId, JSON.stringify(meta));
const openMeta = (keys: OwnerCipher, row: FileRow): FileMeta => JSON.parse(keys.open('files.meta', row.id, row.meta)) as FileMeta;

const deriveKey = (keys: OwnerCipher, purpose: string, fileId: string, version?: number): { version: number; key: Buffer } => {
  const derived = keys.deriveKey(purpose, fileId, version);
  // The room's data key of that version is gone (destroyed or shredded): the file cannot be opened.
  if (!derived) throw new AppError('CONTENT_INTEGRITY_FAILED');
  return derived;
};

/** The upload limit where a room lives: the instance's own, else the server's. */
export const fileLimitOf = async (ctx: AppContext, instanceId: string): Promise<number> =>
  (await findInstanceFileLimit(ctx.database.db, instanceId)) ?? ctx.config.fileMaxBytes;

/** Access to a room's files: a room you may not read answers exactly like a file that does not exist. */
export const accessRoomFiles = async (ctx: AppContext, actor: Actor, roomId: string, need: 'read' | 'post'): Promise<RoomAccess> => {
  try {
    return await accessRoom(ctx, actor, roomId, need);
  } catch (error) {
    if (error instanceof AppError && error.code === 'ROOM_NOT_FOUND') throw new AppError('FILE_NOT_FOUND');
    throw error;
  }
};

/**
 * Passes the upload's bytes through, counting them and keeping the first ones for detection and, up to a
 * bound, all of them for a preview. Read with for-await: it fails on a part the parser already destroyed (a
 * form cut short), where a pipe would wait for an end that never comes.
 */
const inspector = (source: Readable) => {
  const head: Buffer[] = [];
  let headBytes = 0;
  let kept: Buffer[] | undefined = [];
  let sizeBytes = 0;
  async function* pass(): AsyncGenerator<Buffer> {
    if (source.destroyed && !source.readableEnded) throw new Error('Unexpected end of multipart data');
    for await (const chunk of source) {
      const data = chunk as Buffer;
      sizeBytes += data.length;
      if (headBytes < SNIFF_BYTES) {
        head.push(data.subarray(0, SNIFF_BYTES - headBytes));
        headBytes += Math.min(data.length, SNIFF_BYTES - headBytes);
      }
      if (kept) {
        if (sizeBytes > PREVIEW_SOURCE_MAX_BYTES) kept = undefined;
        else kept.push(data);
      }
      yield data;
    }
  }
  return { stream: Readable.from(pass(), { objectMode: false }), head: () => Buffer.concat(head), all: () => (kept ? Buffer.concat(kept) : undefined), size: () => sizeBytes };
};

/** A file stored on disk, encrypted, not yet attached to a message (its row is written with the message). */
export interface StoredUpload {
  id: string;
  row: Omit<FileRow, 'message_id'>;
  attachment: Attachment;
}

/**
 * Streams one uploaded file to disk, encrypted under a key derived from the room's current data key, and
 * decides its content type by its bytes. Over the limit (`truncated()` says the multipart parser stopped
 * reading), nothing stays on disk and the answer is FILE_TOO_LARGE.
 */
export const storeUpload = async (
  ctx: AppContext,
  actor: Actor,
  access: RoomAccess,
  upload: { stream: Readable; fileName: string | undefined; claimedType: string; truncated: () => boolean; limitBytes: number },
): Promise<StoredUpload> => storeFile(ctx, { roomId: access.room.id, instanceId: access.room.instance_id, keys: access.keys, uploaderId: actor.account.id }, upload);

/** Where a file goes: a room (its data key) and who brought it. */
export interface FileTarget {
  roomId: string;
  instanceId: string;
  keys: OwnerCipher;
  uploaderId: string;
}

/** storeUpload's work for any source (an upload, an import). */
export const storeFile = async (
  ctx: AppContext,
  target: FileTarget,
  upload: { stream: Readable; fileName: string | undefined; claimedType: string; truncated: () => boolean; limitBytes: number; createdAt?: number },
): Promise<StoredUpload> => {
  const now = upload.createdAt ?? ctx.now();
  const id = newId(now);
  const content = deriveKey(target.keys, CONTENT_KEY, id);
  const seen = inspector(upload.stream);
  try {
    await ctx.fileStore.write(id, 'file', seen.stream, content, id);
    if (upload.truncated() || seen.size() > upload.limitBytes) {
      throw new AppError('FILE_TOO_LARGE', { message: `The file is larger than this instance allows (${upload.limitBytes.toLocaleString('en-US')} bytes).` });
    }
    const name = cleanFileName(upload.fileName);
    const contentType = await detectContentType(seen.head(), upload.claimedType);
    const source = PREVIEWABLE.has(contentType) ? seen.all() : undefined;
    const preview = source ? await makePreviewOffThread(contentType, source) : undefined;
    if (preview) await ctx.fileStore.write(id, 'preview', preview.bytes, deriveKey(target.keys, PREVIEW_KEY, id, content.version), `${id}.preview`);
    const meta: FileMeta = { name, contentType, ...(preview ? { previewType: preview.contentType } : {}) };
    return {
      id,
      row: {
        id,
        instance_id: target.instanceId,
        room_id: target.roomId,
        uploader_id: target.uploaderId,
        meta: sealMeta(target.keys, id, meta),
        key_version: content.version,
        size_bytes: seen.size(),
        has_preview: preview ? 1 : 0,
        created_at: now,
      },
      attachment: { id, name, contentType, sizeBytes: seen.size(), hasPreview: preview !== undefined },
    };
  } catch (error) {
    await ctx.fileStore.remove([id]);
    throw error;
  }
};

/** Posts the message that carries stored uploads; if that fails, their bytes are removed. */
export const postWithFiles = async (ctx: AppContext, actor: Actor, access: RoomAccess, body: string, uploads: StoredUpload[]): Promise<Message> => {
  try {
    return await postMessage(ctx, actor, access.room.id, body, {
      access,
      files: {
        attachments: uploads.map((u) => u.attachment),
        insert: async (trx, messageId) => {
          for (const upload of uploads) await insertFile(trx, { ...upload.row, message_id: messageId });
        },
      },
    });
  } catch (error) {
    await ctx.fileStore.remove(uploads.map((u) => u.id));
    throw error;
  }
};

export interface OpenedFile {
  name: string;
  contentType: string;
  sizeBytes: number | undefined;
  stream: Readable;
}

/**
 * Opens a file (or its preview) for reading: access to the room, the read recorded in the audit log before
 * a byte is served, then the bytes decrypted as they stream.
 */
export const readFile = async (ctx: AppContext, actor: Actor, roomId: string, fileId: string, variant: 'file' | 'preview'): Promise<OpenedFile> => {
  const access = await accessRoomFiles(ctx, actor, roomId, 'read');
  const row = await findFile(ctx.database.db, access.room.id, fileId);
  if (!row || (variant === 'preview' && row.has_preview !== 1)) throw new AppError('FILE_NOT_FOUND');
  const keys = await ctx.keyring.owner(access.room.id, [row.meta]);
  const meta = openMeta(keys, row);
  const key = variant === 'file' ? deriveKey(keys, CONTENT_KEY, row.id, row.key_version) : deriveKey(keys, PREVIEW_KEY, row.id, row.key_version);
  await recordRoomRead(ctx, actor, access.room, { kind: variant === 'file' ? 'file' : 'file-preview', file: row.id, message: row.message_id });
  const stream = ctx.fileStore.read(row.id, variant, key, variant === 'file' ? row.id : `${row.id}.preview`);
  return variant === 'file'
    ? { name: meta.name, contentType: meta.contentType, sizeBytes: row.size_bytes, stream }
    : { name: `preview-${meta.name}`, contentType: meta.previewType ?? 'application/octet-stream', sizeBytes: undefined, stream };
};

/** The text of a message posted with files: optional, and held to the same rules as any message's. */
export const checkUploadBody = (body: string | undefined): string => {
  const text = body ?? '';
  // eslint-disable-next-line no-control-regex
  if (text.length > LIMITS.messageMaxLength || /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]|[\ud800-\udfff]/u.test(text)) {
    throw new AppError('VALIDATION_FAILED', { details: [{ path: '/body', problem: `Up to ${LIMITS.messageMaxLength.toLocaleString('en-US')} characters; no control characters but tabs and newlines.` }] });
  }
  return text;
};
