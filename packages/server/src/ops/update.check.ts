import type { KeyObject } from 'node:crypto';
import type { UpdateStatus } from '@conclave/protocol';
import type { Logger } from 'pino';
import type { Config } from '../config/config.ts';
import { CONCLAVE_VERSION, FeedError, SHIPPED_RELEASE_KEY_PATH, describeFeedUrl, fetchFeed, judgeFeed, readReleaseKey, type ReleaseFeed, type UpdateVerdict } from './update.feed.ts';

export interface UpdateCheckResult {
  at: number;
  ok: boolean;
  updateAvailable: boolean;
  security: boolean;
}

/**
 * This node's view of new releases: it fetches the signed feed every UPDATE_CHECK_INTERVAL (serving nodes
 * only: `start()`), keeps the newest feed whose signature verified, and answers `status()` from memory. A
 * feed that is unreachable, unsigned, badly signed or older than the one it holds changes nothing but the
 * last check's result; the refusal is logged at warn with the feed's address (no query, no credentials).
 */
export interface UpdateChecker {
  status(): UpdateStatus;
  /** One check now (tests, and the first one at start). */
  checkNow(): Promise<UpdateStatus>;
  start(): void;
  close(): void;
}

export interface UpdateCheckerOptions {
  config: Pick<Config, 'updateFeedUrl' | 'updateCheckIntervalMs' | 'releaseKeyPath'>;
  log: Logger;
  now?: () => number;
  currentVersion?: string;
  /** Called after every check (the metrics). */
  onChecked?: (result: UpdateCheckResult) => void;
}

/** The release key: UPDATE_FEED_KEY when set, else the key shipped with this release. */
export const releaseKeyPathOf = (config: Pick<Config, 'releaseKeyPath'>): string => config.releaseKeyPath ?? SHIPPED_RELEASE_KEY_PATH;

export const createUpdateChecker = (options: UpdateCheckerOptions): UpdateChecker => {
  const { config, log } = options;
  const now = options.now ?? Date.now;
  const currentVersion = options.currentVersion ?? CONCLAVE_VERSION;
  let checkedAt: number | null = null;
  let result: UpdateStatus['result'] = 'never';
  let accepted: { feed: ReleaseFeed; verdict: UpdateVerdict } | null = null;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<UpdateStatus> | undefined;
  let key: KeyObject | undefined;

  const status = (): UpdateStatus => ({
    enabled: config.updateFeedUrl !== undefined,
    currentVersion,
    checkedAt: checkedAt === null ? null : new Date(checkedAt).toISOString(),
    result,
    verifiedAt: accepted ? accepted.feed.generatedAt : null,
    latest: accepted?.verdict.latest ?? null,
    updateAvailable: accepted?.verdict.updateAvailable ?? false,
    security: accepted?.verdict.security ?? false,
    severity: accepted?.verdict.severity ?? 'none',
  });

  const check = async (url: URL): Promise<void> => {
    const feedUrl = describeFeedUrl(url);
    try {
      key ??= readReleaseKey(releaseKeyPathOf(config));
    } catch (error) {
      result = 'rejected';
      log.warn({ feed: feedUrl, keyPath: releaseKeyPathOf(config), reason: (error as Error).message }, 'release feed not checked: the release key cannot be read');
      return;
    }
    let feed: ReleaseFeed;
    try {
      feed = await fetchFeed({ url, key });
      if (accepted && Date.parse(feed.generatedAt) < Date.parse(accepted.feed.generatedAt)) {
        throw new FeedError('rollback', `the feed was signed at ${feed.generatedAt}, before the one already accepted (${accepted.feed.generatedAt})`);
      }
    } catch (error) {
      if (!(error instanceof FeedError)) throw error;
      result = error.reason === 'unreachable' ? 'unreachable' : 'rejected';
      log.warn({ feed: feedUrl, reason: error.reason, detail: error.message }, error.reason === 'unreachable' ? 'release feed unreachable' : 'release feed ignored');
      return;
    }
    result = 'verified';
    accepted = { feed, verdict: judgeFeed(feed, currentVersion) };
    const { latest, updateAvailable, security, severity } = accepted.verdict;
    if (updateAvailable) log[security ? 'warn' : 'info']({ currentVersion, latest: latest?.version, security, severity }, security ? 'a security release of Conclave is available' : 'a new release of Conclave is available');
  };

  const checkNow = (): Promise<UpdateStatus> => {
    const url = config.updateFeedUrl;
    if (url === undefined) return Promise.resolve(status());
    running ??= check(url)
      .catch((error: unknown) => {
        result = 'rejected';
        log.warn({ err: error, feed: describeFeedUrl(url) }, 'release feed check failed');
      })
      .then(() => {
        checkedAt = now();
        const current = status();
        options.onChecked?.({ at: checkedAt, ok: result === 'verified', updateAvailable: current.updateAvailable, security: current.security });
        return current;
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  };

  return {
    status,
    checkNow,
    start() {
      if (config.updateFeedUrl === undefined || timer) return;
      void checkNow();
      timer = setInterval(() => void checkNow(), config.updateCheckIntervalMs);
      timer.unref();
    },
    close() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
};

export type OneCheck =
  | { outcome: 'off' }
  | { outcome: 'unreachable' | 'rejected'; reason: FeedError['reason'] | 'key'; message: string }
  | { outcome: 'current' | 'update' | 'security'; feed: ReleaseFeed; verdict: UpdateVerdict };

/** One fetch of the feed, for the CLI (`conclave version --check`, `conclave doctor`): nothing kept, nothing logged. */
export const checkReleaseFeedOnce = async (config: Pick<Config, 'updateFeedUrl' | 'releaseKeyPath'>, currentVersion: string = CONCLAVE_VERSION): Promise<OneCheck> => {
  if (config.updateFeedUrl === undefined) return { outcome: 'off' };
  let key: KeyObject;
  try {
    key = readReleaseKey(releaseKeyPathOf(config));
  } catch (error) {
    return { outcome: 'rejected', reason: 'key', message: `the release key ${releaseKeyPathOf(config)} cannot be read: ${(error as Error).message}` };
  }
  try {
    const feed = await fetchFeed({ url: config.updateFeedUrl, key });
    const verdict = judgeFeed(feed, currentVersion);
    return { outcome: verdict.security ? 'security' : verdict.updateAvailable ? 'update' : 'current', feed, verdict };
  } catch (error) {
    if (!(error instanceof FeedError)) throw error;
    return { outcome: error.reason === 'unreachable' ? 'unreachable' : 'rejected', reason: error.reason, message: error.message };
  }
};
