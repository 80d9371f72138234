import { parentPort } from 'node:worker_threads';
import { makePreview } from './file.preview.ts';

/** The preview worker's loop: decode, downscale and encode here, off the server's event loop. */
export const servePreviewWorker = (): void => {
  parentPort?.on('message', (request: { id: number; contentType: string; bytes: Uint8Array }) => {
    const preview = makePreview(request.contentType, Buffer.from(request.bytes.buffer, request.bytes.byteOffset, request.bytes.byteLength));
    parentPort?.postMessage({ id: request.id, preview: preview ? { contentType: preview.contentType, bytes: new Uint8Array(preview.bytes) } : undefined });
  });
};
