import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import semver from 'semver';
import { CONCLAVE_VERSION, FEED_ENVELOPE_FORMAT, FEED_FORMAT, sealFeedEnvelope, type Release } from '../ops/index.ts';

/**
 * A release manager for tests: an Ed25519 key pair (the public half in a file, for UPDATE_FEED_KEY), feeds
 * signed with it, with another key, or unsigned, and a real HTTP server on 127.0.0.1 serving them by path.
 */
export interface TestReleaseFeeds {
  publicKeyPath: string;
  /** The envelope of `releases`, signed with the test key (or `privateKey`). */
  signed(releases: Release[], options?: { generatedAt?: string; privateKey?: KeyObject }): string;
  /** The same envelope without its signature. */
  unsigned(releases: Release[]): string;
  /** Serves `body` at `path` (replacing what was there); returns its URL. */
  serve(path: string, body: string, status?: number): string;
  /** A URL nothing listens on. */
  unreachableUrl(): string;
  close(): Promise<void>;
}

/** A release `bump` (patch, minor, major) above the running version. */
export const releaseAbove = (bump: 'patch' | 'minor' | 'major', fields: Partial<Release> = {}): Release => ({
  version: semver.inc(CONCLAVE_VERSION, bump) as string,
  date: '2026-11-30',
  security: false,
  severity: 'none',
  summary: `Conclave ${semver.inc(CONCLAVE_VERSION, bump)}: improvements.`,
  url: `https://releases.example.org/conclave/${semver.inc(CONCLAVE_VERSION, bump)}`,
  ...fields,
});

export const currentRelease = (): Release => ({ version: CONCLAVE_VERSION, date: '2026-10-01', security: false, severity: 'none', summary: 'This release.', url: `https://releases.example.org/conclave/${CONCLAVE_VERSION}` });

export const startReleaseFeeds = async (): Promise<TestReleaseFeeds> => {
  const dir = await mkdtemp(join(tmpdir(), 'conclave-feed-'));
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const publicKeyPath = join(dir, 'release-key.pub');
  await writeFile(publicKeyPath, publicKey.export({ type: 'spki', format: 'pem' }));
  const bodies = new Map<string, { body: string; status: number }>();
  const server = createServer((request, response) => {
    const found = bodies.get((request.url ?? '/').split('?')[0] ?? '/');
    if (!found) response.writeHead(404).end('not found');
    else response.writeHead(found.status, { 'content-type': 'application/json' }).end(found.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const payloadOf = (releases: Release[], generatedAt = new Date().toISOString()) => Buffer.from(JSON.stringify({ format: FEED_FORMAT, generatedAt, releases }));
  return {
    publicKeyPath,
    signed: (releases, options = {}) => sealFeedEnvelope(payloadOf(releases, options.generatedAt), options.privateKey ?? privateKey),
    unsigned: (releases) => JSON.stringify({ format: FEED_ENVELOPE_FORMAT, payload: payloadOf(releases).toString('base64') }),
    serve(path, body, status = 200) {
      bodies.set(path, { body, status });
      return `${base}${path}`;
    },
    unreachableUrl: () => 'http://127.0.0.1:9/feed.json',
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
};
