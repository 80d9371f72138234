import type { Readable } from 'node:stream';
import yauzl from 'yauzl';
import { AppError } from '../errors.ts';

/** Bounds on what an export archive may hold: refused before anything is written when exceeded. */
export interface ArchiveLimits {
  maxEntries: number;
  /** One JSON member (users.json, a day of a channel), uncompressed. */
  maxJsonBytes: number;
  /** Everything, uncompressed, as the archive declares it (yauzl checks the declared sizes while reading). */
  maxTotalBytes: number;
  /** Uncompressed over compressed, for members above 1 MiB: more is a zip bomb. */
  maxRatio: number;
}

export const DEFAULT_ARCHIVE_LIMITS: ArchiveLimits = {
  maxEntries: 200_000,
  maxJsonBytes: 64 * 1024 * 1024,
  maxTotalBytes: 16 * 1024 * 1024 * 1024,
  maxRatio: 200,
};

const refuse = (why: string): AppError => new AppError('IMPORT_ARCHIVE_INVALID', { message: `The export archive cannot be imported: ${why} Nothing was imported.` });

/** A member name that stays inside the archive: relative, no `..`, no backslashes, no drive letters, no NUL. */
const isSafeName = (name: string): boolean =>
  name.length > 0 && name.length <= 1024 && !name.startsWith('/') && !name.includes('\\') && !name.includes('\0') && !/^[A-Za-z]:/.test(name) && !name.split('/').some((part) => part === '..');

/**
 * A Slack export (a zip) opened for reading (yauzl: reads the central directory, checks each member's
 * declared size while inflating). Every member is listed and checked first — names, count, sizes, ratios —
 * and the archive refused as a whole if one fails: no member is ever written to disk by name.
 */
export class SlackArchive {
  private constructor(
    private readonly zip: yauzl.ZipFile,
    private readonly entries: Map<string, yauzl.Entry>,
    private readonly limits: ArchiveLimits,
  ) {}

  static async open(path: string, limits: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS): Promise<SlackArchive> {
    const zip = await new Promise<yauzl.ZipFile>((resolve, reject) => {
      yauzl.open(path, { lazyEntries: true, autoClose: false, validateEntrySizes: true, strictFileNames: true }, (error, file) => {
        if (error || !file) reject(refuse(`it is not a readable zip file (${error?.message ?? 'no data'}).`));
        else resolve(file);
      });
    });
    try {
      const entries = new Map<string, yauzl.Entry>();
      let total = 0;
      await new Promise<void>((resolve, reject) => {
        zip.on('error', (error: Error) => reject(refuse(`a member is unsafe or damaged (${error.message}).`)));
        zip.on('end', () => resolve());
        zip.on('entry', (entry: yauzl.Entry) => {
          const name = entry.fileName;
          if (!isSafeName(name)) return reject(refuse(`the member ${JSON.stringify(name.slice(0, 200))} points outside the archive (an absolute path or ..).`));
          if (entries.size >= limits.maxEntries) return reject(refuse(`it holds more than ${limits.maxEntries.toLocaleString('en-US')} members.`));
          total += entry.uncompressedSize;
          if (total > limits.maxTotalBytes) return reject(refuse(`it unpacks to more than ${limits.maxTotalBytes.toLocaleString('en-US')} bytes.`));
          if (entry.uncompressedSize > 1024 * 1024 && entry.uncompressedSize / Math.max(1, entry.compressedSize) > limits.maxRatio) {
            return reject(refuse(`the member ${JSON.stringify(name)} expands ${Math.round(entry.uncompressedSize / Math.max(1, entry.compressedSize))} times (a zip bomb?).`));
          }
          if (name.endsWith('.json') && entry.uncompressedSize > limits.maxJsonBytes) {
            return reject(refuse(`the member ${JSON.stringify(name)} is larger than ${limits.maxJsonBytes.toLocaleString('en-US')} bytes.`));
          }
          if (!name.endsWith('/')) entries.set(name, entry);
          zip.readEntry();
        });
        zip.readEntry();
      });
      return new SlackArchive(zip, entries, limits);
    } catch (error) {
      zip.close();
      throw error;
    }
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  sizeOf(name: string): number | undefined {
    return this.entries.get(name)?.uncompressedSize;
  }

  async stream(name: string): Promise<Readable> {
    const entry = this.entries.get(name);
    if (!entry) throw refuse(`it has no ${name}.`);
    return new Promise<Readable>((resolve, reject) => {
      this.zip.openReadStream(entry, (error, stream) => {
        if (error || !stream) reject(refuse(`the member ${JSON.stringify(name)} cannot be read (${error?.message ?? 'no data'}).`));
        else resolve(stream);
      });
    });
  }

  /** A JSON member, parsed; a missing one is `fallback` when given. */
  async json<T>(name: string, fallback?: T): Promise<T> {
    if (!this.entries.has(name) && fallback !== undefined) return fallback;
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of await this.stream(name)) {
        size += (chunk as Buffer).length;
        if (size > this.limits.maxJsonBytes) throw refuse(`the member ${JSON.stringify(name)} is larger than it declares.`);
        chunks.push(chunk as Buffer);
      }
    } catch (error) {
      if (error instanceof AppError) throw error;
      throw refuse(`the member ${JSON.stringify(name)} is damaged (${(error as Error).message}).`);
    }
    try {
      return JSON.parse(Buffer.concat(chunks).toString('utf8')) as T;
    } catch {
      throw refuse(`the member ${JSON.stringify(name)} is not JSON.`);
    }
  }

  close(): void {
    this.zip.close();
  }
}
