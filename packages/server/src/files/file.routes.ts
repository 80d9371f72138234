import { ErrorBody, FileParams, Message, RoomParams } from '@conclave/protocol';
import multipart from '@fastify/multipart';
import type { FastifyRequest } from 'fastify';
import type { AppContext } from '../context.ts';
import { AppError } from '../errors.ts';
import { actorOf, createAuthGuard } from '../http/index.ts';
import type { App } from '../http/index.ts';
import { accessRoomFiles, checkUploadBody, fileLimitOf, postWithFiles, readFile, storeUpload, type StoredUpload } from './file.actions.ts';
import { contentDisposition, isSafeImage } from './file.type.ts';

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody, 413: ErrorBody, 429: ErrorBody };

/** A text field of the upload form at most this long (a message's 10,000 characters, in UTF-8). */
const FIELD_MAX_BYTES = 64 * 1024;

/** The multipart parser's own refusals (limits, a prototype key) and busboy's (no boundary, a malformed or cut-short form). */
const isMultipartError = (error: unknown): boolean => {
  if (error instanceof AppError || !(error instanceof Error)) return false;
  const { statusCode, code } = error as { statusCode?: number; code?: string };
  if ((statusCode !== undefined && statusCode >= 400 && statusCode < 500) || code?.startsWith('FST_')) return true;
  return /multipart|boundary|unexpected end of|malformed|terminated early|part header/i.test(error.message);
};

export const registerFileRoutes = (app: App, ctx: AppContext): void => {
  const reading = { preHandler: [createAuthGuard(ctx, { scope: 'read' })] };
  const writeGuard = createAuthGuard(ctx, { scope: 'write' });
  // Posting a file is posting a message: the same flood control, the same bucket.
  const floodCheck = app.createRateLimit({
    max: ctx.config.messageRateLimit.max,
    timeWindow: ctx.config.messageRateLimit.windowMs,
    keyGenerator: (request: FastifyRequest) => `flood:${request.actor?.account.id ?? '-'}:${(request.params as { roomId?: string }).roomId ?? '-'}`,
  });
  const floodControl = async (request: FastifyRequest): Promise<void> => {
    const result = await floodCheck(request);
    if (!result.isAllowed && result.isExceeded) throw new AppError('MESSAGE_RATE_LIMITED', { headers: { 'retry-after': String(result.ttlInSeconds) } });
  };

  // Multipart is parsed for this route alone (an encapsulated scope): every other route still answers a
  // multipart body with UNSUPPORTED_MEDIA_TYPE. The limits here are ceilings; the route sets the instance's.
  void app.register(async (scope: App) => {
    await scope.register(multipart, { throwFileSizeLimit: false, limits: { fileSize: 4 * 1024 * 1024 * 1024, files: 1, fields: 1, parts: 2, headerPairs: 20, fieldSize: FIELD_MAX_BYTES } });
    scope.post(
      '/api/v1/rooms/:roomId/files',
      {
        schema: {
          tags: ['files'],
          summary: 'Post a file (multipart/form-data: a part named "file", optionally a "body" field); answers the message that carries it',
          params: RoomParams,
          response: { 201: Message, ...errors },
        },
        preHandler: [writeGuard, floodControl],
      },
      async (request, reply) => {
        const actor = actorOf(request);
        if (!request.isMultipart()) throw new AppError('FILE_UPLOAD_INVALID');
        const access = await accessRoomFiles(ctx, actor, request.params.roomId, 'post');
        const limitBytes = await fileLimitOf(ctx, access.room.instance_id);
        let body: string | undefined;
        let upload: StoredUpload | undefined;
        try {
          const parts = request.parts({ limits: { fileSize: limitBytes, files: 1, fields: 1, parts: 2, fieldSize: FIELD_MAX_BYTES, headerPairs: 20 } });
          // A refused part does not end the loop: the rest of the form is read and dropped, so the request
          // is consumed whole before the answer (a parser left waiting on an unread part would hold it).
          let refusal: AppError | undefined;
          for await (const part of parts) {
            if (part.type === 'file') {
              if (refusal || part.fieldname !== 'file' || upload) {
                part.file.resume();
                refusal ??= new AppError('FILE_UPLOAD_INVALID');
                continue;
              }
              upload = await storeUpload(ctx, actor, access, {
                stream: part.file,
                fileName: part.filename,
                claimedType: part.mimetype,
                truncated: () => part.file.truncated,
                limitBytes,
              });
            } else if (part.fieldname !== 'body' || body !== undefined || part.valueTruncated || typeof part.value !== 'string') {
              refusal ??= new AppError('FILE_UPLOAD_INVALID');
            } else {
              body = part.value;
            }
          }
          if (refusal) throw refusal;
        } catch (error) {
          if (upload) await ctx.fileStore.remove([upload.id]);
          if (isMultipartError(error)) {
            request.log.debug({ reason: (error as Error).message }, 'upload refused');
            throw new AppError('FILE_UPLOAD_INVALID');
          }
          throw error;
        }
        if (!upload) throw new AppError('FILE_PART_MISSING');
        let text: string;
        try {
          text = checkUploadBody(body);
        } catch (error) {
          await ctx.fileStore.remove([upload.id]);
          throw error;
        }
        return reply.code(201).send(await postWithFiles(ctx, actor, access, text, [upload]));
      },
    );
  });

  for (const variant of ['file', 'preview'] as const) {
    app.get(
      variant === 'file' ? '/api/v1/rooms/:roomId/files/:fileId' : '/api/v1/rooms/:roomId/files/:fileId/preview',
      {
        schema: {
          tags: ['files'],
          summary: variant === 'file' ? 'A file\'s bytes (the read is audited)' : 'A small image of an image file (PNG or JPEG)',
          params: FileParams,
          response: errors,
        },
        ...reading,
      },
      async (request, reply) => {
        const file = await readFile(ctx, actorOf(request), request.params.roomId, request.params.fileId, variant);
        reply
          .header('content-type', file.contentType)
          .header('content-disposition', contentDisposition(file.name, isSafeImage(file.contentType)))
          .header('x-content-type-options', 'nosniff')
          // Opened directly, a file is a sandboxed document that can run nothing and load nothing.
          .header('content-security-policy', "default-src 'none'; img-src 'self'; sandbox")
          .header('cache-control', 'private, no-store');
        if (file.sizeBytes !== undefined) reply.header('content-length', String(file.sizeBytes));
        // The bytes, not JSON: the response schemas above describe the refusals only.
        return reply.send(file.stream as never);
      },
    );
  }
};
