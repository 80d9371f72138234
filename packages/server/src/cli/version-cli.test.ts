import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { CONCLAVE_VERSION } from '../ops/index.ts';
import { runCli } from '../testing/cli-process.ts';
import { currentRelease, releaseAbove, startReleaseFeeds, type TestReleaseFeeds } from '../testing/release-feed.ts';
import { EXIT } from './exit-codes.ts';

describe('conclave version --check', () => {
  let feeds: TestReleaseFeeds;
  before(async () => {
    feeds = await startReleaseFeeds();
  });
  after(async () => feeds.close());

  const check = (url: string | undefined, ...args: string[]) =>
    runCli(['version', '--check', ...args], { ...(url ? { UPDATE_FEED_URL: url } : {}), UPDATE_FEED_KEY: feeds.publicKeyPath, LOG_LEVEL: 'warn' });

  test('prints the version; without a feed, --check says how to configure one and exits 78', async () => {
    const plain = await runCli(['version'], {});
    assert.equal(plain.code, 0);
    assert.equal(plain.stdout.trim(), `conclave ${CONCLAVE_VERSION}`);
    const off = await check(undefined);
    assert.equal(off.code, EXIT.config);
    assert.match(off.stdout, /UPDATE_FEED_URL/);
  });

  test('up to date exits 0; a newer release exits 3; a newer security release exits 4 and says so', async () => {
    const current = await check(feeds.serve('/current.json', feeds.signed([currentRelease()])));
    assert.equal(current.code, EXIT.ok, current.stdout + current.stderr);
    assert.match(current.stdout, new RegExp(`current version: ${CONCLAVE_VERSION.replaceAll('.', '\\.')}`));
    assert.match(current.stdout, /This is the latest release/);

    const update = await check(feeds.serve('/update.json', feeds.signed([currentRelease(), releaseAbove('minor')])));
    assert.equal(update.code, EXIT.updateAvailable, update.stdout + update.stderr);
    assert.match(update.stdout, new RegExp(`latest release: +${releaseAbove('minor').version.replaceAll('.', '\\.')}`));
    assert.match(update.stdout, /security release: no/);

    const security = await check(feeds.serve('/security.json', feeds.signed([currentRelease(), releaseAbove('patch', { security: true, severity: 'critical' }), releaseAbove('minor')])));
    assert.equal(security.code, EXIT.securityUpdate, security.stdout + security.stderr);
    assert.match(security.stdout, /security release: yes \(severity critical\)/);
    assert.match(security.stdout, /Upgrade now/);

    const json = await check(feeds.serve('/security.json', feeds.signed([currentRelease(), releaseAbove('patch', { security: true, severity: 'high' })])), '--json');
    assert.equal(json.code, EXIT.securityUpdate);
    const parsed = JSON.parse(json.stdout) as { outcome: string; currentVersion: string; latest: { version: string }; security: boolean; severity: string };
    assert.deepEqual({ outcome: parsed.outcome, current: parsed.currentVersion, latest: parsed.latest.version, security: parsed.security, severity: parsed.severity }, { outcome: 'security', current: CONCLAVE_VERSION, latest: releaseAbove('patch').version, security: true, severity: 'high' });
  });

  test('a feed with a bad or missing signature, or none at all, exits 1 and lists no release', async () => {
    const other = generateKeyPairSync('ed25519').privateKey;
    const bad = await check(feeds.serve('/bad.json', feeds.signed([releaseAbove('major', { security: true, severity: 'critical' })], { privateKey: other })));
    assert.equal(bad.code, EXIT.failure);
    assert.match(bad.stdout, /was refused: the signature does not verify/);
    assert.doesNotMatch(bad.stdout, new RegExp(releaseAbove('major').version.replaceAll('.', '\\.')));
    const missing = await check(feeds.serve('/missing.json', feeds.unsigned([releaseAbove('major')])));
    assert.equal(missing.code, EXIT.failure);
    assert.match(missing.stdout, /carries no signature/);
    const unreachable = await check(feeds.unreachableUrl());
    assert.equal(unreachable.code, EXIT.failure);
    assert.match(unreachable.stdout, /could not be fetched/);
  });
});
