import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import semver from 'semver';

/**
 * The release feed (docs/decisions/0022): a JSON envelope `{ format, payload, signature }` whose `payload` is
 * the base64 of the feed's exact bytes and whose `signature` is the base64 Ed25519 signature of those bytes.
 * The feed itself names its format, so the signed bytes say what they are. Nothing in the payload is read
 * before its signature verifies against the release key shipped with this version.
 */
export const FEED_ENVELOPE_FORMAT = 'conclave-release-feed-envelope/1';
export const FEED_FORMAT = 'conclave-release-feed/1';
/** A feed larger than this is refused unread: it holds a few hundred releases at most. */
export const FEED_MAX_BYTES = 256 * 1024;

export const SEVERITIES = ['none', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface Release {
  version: string;
  /** YYYY-MM-DD */
  date: string;
  security: boolean;
  severity: Severity;
  summary: string;
  /** https:// only: it is shown as a link. */
  url: string;
}

export interface ReleaseFeed {
  format: typeof FEED_FORMAT;
  /** When the release manager signed it (ISO 8601): a node refuses a feed older than one it accepted. */
  generatedAt: string;
  releases: Release[];
}

/** The release public key shipped with this version (packages/server/release-key.pub). */
export const SHIPPED_RELEASE_KEY_PATH = fileURLToPath(new URL('../../release-key.pub', import.meta.url));

/** This server's version (packages/server/package.json), the one releases are compared with. */
export const CONCLAVE_VERSION: string = (JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { version: string }).version;

/** Why a feed was refused; `reason` is safe to log (it never quotes the feed). */
export class FeedError extends Error {
  readonly reason: 'unreachable' | 'too-large' | 'not-an-envelope' | 'missing-signature' | 'bad-signature' | 'bad-feed' | 'rollback';
  constructor(reason: FeedError['reason'], message: string) {
    super(message);
    this.name = 'FeedError';
    this.reason = reason;
  }
}

/** Reads an Ed25519 public key: PEM (SPKI), as `scripts/sign-release-feed.ts keygen` writes it. */
export const readReleaseKey = (path: string): KeyObject => {
  const key = createPublicKey(readFileSync(path));
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`${path} is not an Ed25519 public key.`);
  return key;
};

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
/** Control characters other than tab and newline. */
const hasControlCharacters = (text: string): boolean => [...text].some((c) => (c < ' ' && c !== '\t' && c !== '\n') || c === '\u007f');
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

const parseRelease = (value: unknown, index: number): Release => {
  const bad = (what: string) => new FeedError('bad-feed', `release ${index}: ${what}`);
  if (!isObject(value)) throw bad('not an object');
  const { version, date, security, severity, summary, url } = value;
  if (typeof version !== 'string' || semver.valid(version) === null) throw bad('version is not semver');
  if (typeof date !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(Date.parse(date))) throw bad('date is not YYYY-MM-DD');
  if (typeof security !== 'boolean') throw bad('security is not a boolean');
  if (typeof severity !== 'string' || !(SEVERITIES as readonly string[]).includes(severity)) throw bad(`severity is not one of ${SEVERITIES.join(', ')}`);
  if (typeof summary !== 'string' || summary.length === 0 || summary.length > 1000 || hasControlCharacters(summary)) throw bad('summary is not 1 to 1000 characters of text');
  if (typeof url !== 'string' || url.length > 2000) throw bad('url is not a URL');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw bad('url is not a URL');
  }
  if (parsed.protocol !== 'https:' || parsed.username || parsed.password) throw bad('url is not https');
  return { version, date, security, severity: severity as Severity, summary, url: parsed.toString() };
};

/** Parses the signed payload; only called on bytes whose signature verified. */
export const parseFeed = (payload: Buffer): ReleaseFeed => {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch {
    throw new FeedError('bad-feed', 'the signed payload is not UTF-8 JSON');
  }
  if (!isObject(value) || value['format'] !== FEED_FORMAT) throw new FeedError('bad-feed', `the signed payload is not a ${FEED_FORMAT} feed`);
  const { generatedAt, releases } = value;
  if (typeof generatedAt !== 'string' || Number.isNaN(Date.parse(generatedAt))) throw new FeedError('bad-feed', 'generatedAt is not a date');
  if (!Array.isArray(releases) || releases.length > 1000) throw new FeedError('bad-feed', 'releases is not a list of at most 1000');
  return { format: FEED_FORMAT, generatedAt: new Date(generatedAt).toISOString(), releases: releases.map(parseRelease) };
};

/**
 * Opens an envelope: checks its shape, verifies the signature over the payload's exact bytes with `key`,
 * then parses the payload. Throws a FeedError saying which step refused it.
 */
export const openFeedEnvelope = (body: Buffer, key: KeyObject): ReleaseFeed => {
  if (body.length > FEED_MAX_BYTES) throw new FeedError('too-large', `the feed is larger than ${FEED_MAX_BYTES} bytes`);
  let envelope: unknown;
  try {
    envelope = JSON.parse(body.toString('utf8'));
  } catch {
    throw new FeedError('not-an-envelope', 'the feed is not JSON');
  }
  if (!isObject(envelope) || envelope['format'] !== FEED_ENVELOPE_FORMAT || typeof envelope['payload'] !== 'string' || !BASE64.test(envelope['payload'])) {
    throw new FeedError('not-an-envelope', `the feed is not a ${FEED_ENVELOPE_FORMAT} envelope`);
  }
  const signature = envelope['signature'];
  if (signature === undefined || signature === null || signature === '') throw new FeedError('missing-signature', 'the feed carries no signature');
  if (typeof signature !== 'string' || !BASE64.test(signature)) throw new FeedError('bad-signature', 'the signature is not base64');
  const payload = Buffer.from(envelope['payload'], 'base64');
  const signatureBytes = Buffer.from(signature, 'base64');
  if (signatureBytes.length !== 64 || !verify(null, payload, key, signatureBytes)) {
    throw new FeedError('bad-signature', 'the signature does not verify against the release key');
  }
  return parseFeed(payload);
};

export interface UpdateVerdict {
  currentVersion: string;
  /** The newest release in the feed, or null when it lists none. */
  latest: Release | null;
  updateAvailable: boolean;
  /** A release newer than this one fixes a security problem: upgrading to `latest` includes the fix. */
  security: boolean;
  /** The highest severity among the newer releases ('none' when there is no newer one). */
  severity: Severity;
  /** The newer releases, newest first. */
  newer: Release[];
}

/** Compares the feed with a version: what is newer, whether any of it is a security release. */
export const judgeFeed = (feed: ReleaseFeed, currentVersion: string): UpdateVerdict => {
  const sorted = [...feed.releases].sort((a, b) => semver.rcompare(a.version, b.version));
  const newer = sorted.filter((release) => semver.gt(release.version, currentVersion));
  const severity = newer.reduce<Severity>((highest, release) => (SEVERITIES.indexOf(release.severity) > SEVERITIES.indexOf(highest) ? release.severity : highest), 'none');
  return { currentVersion, latest: sorted[0] ?? null, updateAvailable: newer.length > 0, security: newer.some((release) => release.security), severity, newer };
};

/** The part of a feed URL that is safe to log: no credentials, no query (it could carry a token). */
export const describeFeedUrl = (url: URL): string => `${url.origin}${url.pathname}`;

export interface FetchFeedOptions {
  url: URL;
  key: KeyObject;
  timeoutMs?: number;
}

/** Fetches and opens the feed. A network failure or an HTTP error is `unreachable`; the rest as openFeedEnvelope. */
export const fetchFeed = async (options: FetchFeedOptions): Promise<ReleaseFeed> => {
  let body: Buffer;
  try {
    const response = await fetch(options.url, { signal: AbortSignal.timeout(options.timeoutMs ?? 10_000), redirect: 'follow', headers: { accept: 'application/json' } });
    if (!response.ok) throw new FeedError('unreachable', `the feed answered HTTP ${response.status}`);
    const declared = Number(response.headers.get('content-length') ?? '0');
    if (declared > FEED_MAX_BYTES) throw new FeedError('too-large', `the feed is larger than ${FEED_MAX_BYTES} bytes`);
    // Read at most one byte past the limit, whatever the server declared.
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body ?? []) {
      chunks.push(Buffer.from(chunk));
      size += chunk.length;
      if (size > FEED_MAX_BYTES) break; // leaving the loop cancels the body
    }
    body = Buffer.concat(chunks);
  } catch (error) {
    if (error instanceof FeedError) throw error;
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
    throw new FeedError('unreachable', `the feed could not be fetched (${cause})`);
  }
  return openFeedEnvelope(body, options.key);
};

/** The envelope for a payload, signed with the release manager's private key (scripts/sign-release-feed.ts, tests). */
export const sealFeedEnvelope = (payload: Buffer, privateKey: KeyObject): string => {
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error('the release key must be Ed25519');
  parseFeed(payload);
  const signature = sign(null, payload, privateKey);
  return `${JSON.stringify({ format: FEED_ENVELOPE_FORMAT, payload: payload.toString('base64'), signature: signature.toString('base64') }, null, 2)}\n`;
};
