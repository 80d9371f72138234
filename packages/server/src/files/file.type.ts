import { fileTypeFromBuffer } from 'file-type';
import { LIMITS } from '@conclave/protocol';

/** Bytes of a file's beginning that content detection reads (file-type's own sample size). */
export const SNIFF_BYTES = 4100;

/** Images a browser may show inline: raster formats only (never SVG, which can carry script). */
const SAFE_IMAGES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);
/** Images a preview is made of (pure-JS decoders: pngjs, jpeg-js). */
export const PREVIEWABLE = new Set(['image/png', 'image/jpeg']);

const TEXT_CLAIMS = new Set(['text/plain', 'text/csv', 'text/markdown', 'application/json']);

const looksLikeUtf8Text = (head: Buffer): boolean => {
  if (head.includes(0)) return false;
  // A multi-byte character cut at the sample's end is no reason to refuse.
  const text = new TextDecoder('utf-8', { fatal: false }).decode(head);
  const bad = (text.match(/\uFFFD/g) ?? []).length;
  return bad <= 1;
};

/**
 * The content type a file is stored and served with, decided by its bytes, never by what the uploader
 * claimed: a recognized format is what it is; text claimed as text and decoding as UTF-8 stays plain text;
 * everything else — a "PNG" that is not one, HTML, SVG — is application/octet-stream.
 */
export const detectContentType = async (head: Buffer, claimed: string): Promise<string> => {
  const detected = await fileTypeFromBuffer(head);
  if (detected) return detected.mime;
  const base = claimed.split(';')[0]?.trim().toLowerCase() ?? '';
  if (TEXT_CLAIMS.has(base) && looksLikeUtf8Text(head)) return 'text/plain; charset=utf-8';
  return 'application/octet-stream';
};

export const isSafeImage = (contentType: string): boolean => SAFE_IMAGES.has(contentType);

/** The name a file keeps: no directories, no control characters, at most 255 characters; never empty. */
export const cleanFileName = (raw: string | undefined): string => {
  const last = (raw ?? '').split(/[/\\]/).pop() ?? '';
  // eslint-disable-next-line no-control-regex
  const clean = last.replace(/[\u0000-\u001f\u007f-\u009f]/g, '').normalize('NFC').trim().slice(0, LIMITS.fileNameMaxLength);
  return clean === '' || clean === '.' || clean === '..' ? 'file' : clean;
};

/** RFC 5987 attr-char: what may stand unescaped in filename*=UTF-8''… */
const encodeRfc5987 = (value: string): string =>
  encodeURIComponent(value).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * Content-Disposition (RFC 6266): inline only for a safe image, attachment for everything else; the name as
 * an ASCII fallback (quotes, backslashes and non-ASCII replaced) and in full as filename* (RFC 5987).
 */
export const contentDisposition = (name: string, inline: boolean): string => {
  const fallback = name.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  return `${inline ? 'inline' : 'attachment'}; filename="${fallback}"; filename*=UTF-8''${encodeRfc5987(name)}`;
};
