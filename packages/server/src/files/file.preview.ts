import { Worker } from 'node:worker_threads';
import { LIMITS } from '@conclave/protocol';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';

/** Images larger than this (bytes, or decoded pixels) get no preview: decoding them would cost too much. */
export const PREVIEW_SOURCE_MAX_BYTES = 8 * 1024 * 1024;
const PREVIEW_SOURCE_MAX_PIXELS = 16_000_000;

export interface Preview {
  contentType: 'image/png' | 'image/jpeg';
  bytes: Buffer;
}

interface Bitmap {
  width: number;
  height: number;
  /** RGBA, 4 bytes a pixel. */
  data: Buffer | Uint8Array;
}

/** Box-filter downscale: every output pixel is the mean of the source pixels it covers. */
const downscale = (source: Bitmap, maxSide: number): Bitmap => {
  const scale = Math.min(1, maxSide / Math.max(source.width, source.height));
  const width = Math.max(1, Math.round(source.width * scale));
  const height = Math.max(1, Math.round(source.height * scale));
  if (width === source.width && height === source.height) return source;
  const out = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y += 1) {
    const y0 = Math.floor((y * source.height) / height);
    const y1 = Math.max(y0 + 1, Math.floor(((y + 1) * source.height) / height));
    for (let x = 0; x < width; x += 1) {
      const x0 = Math.floor((x * source.width) / width);
      const x1 = Math.max(x0 + 1, Math.floor(((x + 1) * source.width) / width));
      let r = 0;
      let g = 0;
      let b = 0;
      let a = 0;
      for (let sy = y0; sy < y1; sy += 1) {
        for (let sx = x0; sx < x1; sx += 1) {
          const i = (sy * source.width + sx) * 4;
          r += source.data[i] ?? 0;
          g += source.data[i + 1] ?? 0;
          b += source.data[i + 2] ?? 0;
          a += source.data[i + 3] ?? 0;
        }
      }
      const n = (y1 - y0) * (x1 - x0);
      const o = (y * width + x) * 4;
      out[o] = Math.round(r / n);
      out[o + 1] = Math.round(g / n);
      out[o + 2] = Math.round(b / n);
      out[o + 3] = Math.round(a / n);
    }
  }
  return { width, height, data: out };
};

/**
 * A preview of a PNG or JPEG (decision 0021): decoded by pure-JavaScript decoders, downscaled to at most
 * LIMITS.filePreviewMaxSide on its longer side, and encoded anew (so nothing of the original's metadata —
 * EXIF location, comments — survives). Undefined when the image cannot be decoded or is too large.
 */
export const makePreview = (contentType: string, bytes: Buffer): Preview | undefined => {
  if (bytes.length > PREVIEW_SOURCE_MAX_BYTES) return undefined;
  try {
    if (contentType === 'image/png') {
      const png = PNG.sync.read(bytes);
      if (png.width * png.height > PREVIEW_SOURCE_MAX_PIXELS) return undefined;
      const small = downscale({ width: png.width, height: png.height, data: png.data }, LIMITS.filePreviewMaxSide);
      const out = new PNG({ width: small.width, height: small.height });
      Buffer.from(small.data.buffer, small.data.byteOffset, small.data.byteLength).copy(out.data);
      return { contentType: 'image/png', bytes: PNG.sync.write(out) };
    }
    if (contentType === 'image/jpeg') {
      const image = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: PREVIEW_SOURCE_MAX_PIXELS / 1_000_000, maxMemoryUsageInMB: 256 });
      const small = downscale({ width: image.width, height: image.height, data: image.data }, LIMITS.filePreviewMaxSide);
      const encoded = jpeg.encode({ width: small.width, height: small.height, data: Buffer.from(small.data.buffer, small.data.byteOffset, small.data.byteLength) }, 80);
      return { contentType: 'image/jpeg', bytes: Buffer.from(encoded.data) };
    }
  } catch {
    // Not decodable (corrupt, or a format variant the decoder lacks): no preview, the file itself stays.
  }
  return undefined;
};

const WORKER = new URL('./file.preview-worker.ts', import.meta.url).href;

interface PreviewReply {
  id: number;
  preview: { contentType: Preview['contentType']; bytes: Uint8Array } | undefined;
}

/**
 * makePreview in a worker thread of its own, ended once it answers: decoding a large PNG takes a second or more
 * of CPU on this machine (bench/results/files-*), which must not stall every socket of the node, and a worker
 * a hostile image kills (out of memory) costs that preview only. Starting the worker costs a few hundred
 * milliseconds, off the event loop, once per image upload.
 */
export const makePreviewOffThread = (contentType: string, bytes: Buffer): Promise<Preview | undefined> => {
  if (bytes.length > PREVIEW_SOURCE_MAX_BYTES) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    // Like the audit's verify workers: the worker may run without tsx's loader, so it registers it first.
    const worker = new Worker(
      `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})
        .then(({ register }) => { register(); return import(${JSON.stringify(WORKER)}); })
        .then(({ servePreviewWorker }) => servePreviewWorker());`,
      { eval: true, resourceLimits: { maxOldGenerationSizeMb: 512 } },
    );
    let settled = false;
    const settle = (preview: Preview | undefined) => {
      if (settled) return;
      settled = true;
      resolve(preview);
      void worker.terminate();
    };
    worker.on('message', (reply: PreviewReply) => settle(reply.preview ? { contentType: reply.preview.contentType, bytes: Buffer.from(reply.preview.bytes) } : undefined));
    worker.on('error', () => settle(undefined));
    worker.on('exit', () => settle(undefined));
    worker.postMessage({ id: 1, contentType, bytes });
  });
};
