import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import type { UpdateStatus } from '@conclave/protocol';
import { pino } from 'pino';
import { currentRelease, releaseAbove, startReleaseFeeds, type TestReleaseFeeds } from '../testing/release-feed.ts';
import { closeTestPools, createTestApp, describeEachEngine, type TestApp } from '../testing/test-app.ts';
import { createUpdateChecker } from './update.check.ts';
import { CONCLAVE_VERSION, FeedError, fetchFeed, judgeFeed, openFeedEnvelope, readReleaseKey } from './update.feed.ts';

after(closeTestPools);

/** A pino logger writing JSON lines into an array (the checker's warnings). */
const memoryLogger = () => {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level: 'info' }, stream), lines };
};

describe('release feed: signature, format and verdict', () => {
  let feeds: TestReleaseFeeds;
  before(async () => {
    feeds = await startReleaseFeeds();
  });
  after(async () => feeds.close());

  test('a signed feed opens; a changed payload, another key or no signature is refused before the payload is read', () => {
    const key = readReleaseKey(feeds.publicKeyPath);
    const envelope = feeds.signed([currentRelease(), releaseAbove('minor', { security: true, severity: 'high' })]);
    const feed = openFeedEnvelope(Buffer.from(envelope), key);
    assert.equal(feed.releases.length, 2);

    const tampered = JSON.parse(envelope) as { payload: string };
    const payload = JSON.parse(Buffer.from(tampered.payload, 'base64').toString()) as { releases: Array<{ severity: string }> };
    (payload.releases[1] as { severity: string }).severity = 'low';
    tampered.payload = Buffer.from(JSON.stringify(payload)).toString('base64');
    const refusal = (body: string) => {
      try {
        openFeedEnvelope(Buffer.from(body), key);
      } catch (error) {
        assert.ok(error instanceof FeedError);
        return error.reason;
      }
      return 'accepted';
    };
    assert.equal(refusal(JSON.stringify(tampered)), 'bad-signature');
    assert.equal(refusal(feeds.signed([currentRelease()], { privateKey: generateKeyPairSync('ed25519').privateKey })), 'bad-signature');
    assert.equal(refusal(feeds.unsigned([currentRelease()])), 'missing-signature');
    assert.equal(refusal('{"releases": []}'), 'not-an-envelope');
    assert.equal(refusal('not json'), 'not-an-envelope');
  });

  test('a signed feed with a non-https link or a bad version is refused as a feed', () => {
    const key = readReleaseKey(feeds.publicKeyPath);
    assert.throws(() => openFeedEnvelope(Buffer.from(feeds.signed([releaseAbove('patch', { url: 'javascript:alert(1)' })])), key), /url is not https|cannot|bad-feed/);
    assert.throws(() => feeds.signed([{ ...currentRelease(), version: 'one' }]), /version is not semver/, 'the signing tool refuses it too');
  });

  test('the verdict: the newest release, and security if any newer release is one, with the highest severity', () => {
    const feed = { format: 'conclave-release-feed/1' as const, generatedAt: new Date().toISOString(), releases: [releaseAbove('patch', { security: true, severity: 'critical' as const }), releaseAbove('minor'), currentRelease()] };
    const verdict = judgeFeed(feed, CONCLAVE_VERSION);
    assert.equal(verdict.latest?.version, releaseAbove('minor').version);
    assert.ok(verdict.updateAvailable);
    assert.ok(verdict.security, 'the patch release fixed a security problem; the newest includes the fix');
    assert.equal(verdict.severity, 'critical');
    assert.deepEqual(judgeFeed(feed, releaseAbove('minor').version), { ...judgeFeed(feed, releaseAbove('minor').version), updateAvailable: false, security: false, severity: 'none', newer: [] });
  });

  test('the checker keeps the last verified feed; a bad, a missing signature, an older feed and an unreachable feed are ignored and logged without the query', async () => {
    const { log, lines } = memoryLogger();
    const checked: boolean[] = [];
    let url = new URL(feeds.serve('/checker.json', feeds.signed([currentRelease(), releaseAbove('patch', { security: true, severity: 'high' })], { generatedAt: '2026-11-30T00:00:00.000Z' })));
    url.search = '?token=feed-secret-in-query';
    const config = { updateFeedUrl: url, updateCheckIntervalMs: 3_600_000, releaseKeyPath: feeds.publicKeyPath };
    const checker = createUpdateChecker({ config, log, onChecked: (result) => checked.push(result.ok) });
    assert.equal(checker.status().result, 'never');
    const first = await checker.checkNow();
    assert.equal(first.result, 'verified');
    assert.equal(first.latest?.version, releaseAbove('patch').version);
    assert.ok(first.security && first.updateAvailable);
    assert.equal(first.severity, 'high');

    const other = generateKeyPairSync('ed25519').privateKey;
    const cases: Array<[string, string, UpdateStatus['result']]> = [
      ['bad signature', feeds.signed([releaseAbove('major')], { privateKey: other }), 'rejected'],
      ['missing signature', feeds.unsigned([releaseAbove('major')]), 'rejected'],
      ['older feed', feeds.signed([currentRelease()], { generatedAt: '2026-01-01T00:00:00.000Z' }), 'rejected'],
    ];
    for (const [label, body, expected] of cases) {
      feeds.serve('/checker.json', body);
      const after = await checker.checkNow();
      assert.equal(after.result, expected, label);
      assert.equal(after.latest?.version, releaseAbove('patch').version, `${label}: the verified notice stays`);
      assert.ok(after.security, label);
    }
    url = new URL(feeds.unreachableUrl());
    config.updateFeedUrl = url;
    assert.equal((await checker.checkNow()).result, 'unreachable');
    assert.deepEqual(checked, [true, false, false, false, false]);

    assert.ok(lines.some((line) => line['level'] === 40 && line['msg'] === 'a security release of Conclave is available'), 'a security release is logged at warn');
    const warnings = lines.filter((line) => line['level'] === 40 && line['reason'] !== undefined);
    assert.deepEqual(
      warnings.map((line) => line['reason']),
      ['bad-signature', 'missing-signature', 'rollback', 'unreachable'],
    );
    assert.ok(warnings.every((line) => typeof line['feed'] === 'string' && !JSON.stringify(line).includes('feed-secret-in-query')), 'the feed URL is logged without its query');
  });

  test('a feed larger than 256 KiB is refused unread, and an HTTP error is unreachable', async () => {
    const key = readReleaseKey(feeds.publicKeyPath);
    const huge = feeds.signed(Array.from({ length: 900 }, () => releaseAbove('patch', { summary: 'x'.repeat(400) })));
    const refused = await fetchFeed({ url: new URL(feeds.serve('/huge.json', huge)), key }).catch((error: unknown) => error);
    assert.ok(refused instanceof FeedError && refused.reason === 'too-large', String(refused));
    const missing = await fetchFeed({ url: new URL(feeds.serve('/gone.json', 'gone', 404)), key }).catch((error: unknown) => error);
    assert.ok(missing instanceof FeedError && missing.reason === 'unreachable', String(missing));
  });

  test('without UPDATE_FEED_URL nothing is fetched', async () => {
    const { log, lines } = memoryLogger();
    const checker = createUpdateChecker({ config: { updateFeedUrl: undefined, updateCheckIntervalMs: 60_000, releaseKeyPath: undefined }, log });
    checker.start();
    const status = await checker.checkNow();
    checker.close();
    assert.deepEqual({ enabled: status.enabled, result: status.result, checkedAt: status.checkedAt }, { enabled: false, result: 'never', checkedAt: null });
    assert.equal(lines.length, 0);
  });

  test('the shipped release key is an Ed25519 public key', () => {
    assert.equal(readReleaseKey(new URL('../../release-key.pub', import.meta.url).pathname).asymmetricKeyType, 'ed25519');
  });
});

describeEachEngine('GET /api/v1/server/updates', (engine) => {
  let feeds: TestReleaseFeeds;
  let t: TestApp;
  before(async () => {
    feeds = await startReleaseFeeds();
    const url = feeds.serve('/feed.json', feeds.signed([currentRelease(), releaseAbove('minor', { security: true, severity: 'critical', summary: 'Fixes a flaw in session handling.' })]));
    t = await createTestApp(engine, { UPDATE_FEED_URL: url, UPDATE_FEED_KEY: feeds.publicKeyPath });
  });
  after(async () => {
    await t.close();
    await feeds.close();
  });

  test('operators and instance admins see the newest verified release; members are refused', async () => {
    const { owner, member, instanceId } = await t.setUpWithMember();
    const before = await t.as(owner, { method: 'GET', url: '/api/v1/server/updates' });
    assert.equal(before.statusCode, 200, before.body);
    assert.equal(before.json<UpdateStatus>().result, 'never', 'serving nodes check; nothing has run yet');

    await t.ctx.updates.checkNow();
    const seen = await t.as(owner, { method: 'GET', url: '/api/v1/server/updates' });
    const status = seen.json<UpdateStatus>();
    assert.equal(status.result, 'verified');
    assert.equal(status.currentVersion, CONCLAVE_VERSION);
    assert.equal(status.latest?.version, releaseAbove('minor').version);
    assert.equal(status.latest?.summary, 'Fixes a flaw in session handling.');
    assert.ok(status.updateAvailable && status.security);
    assert.equal(status.severity, 'critical');

    const refused = await t.as(member, { method: 'GET', url: '/api/v1/server/updates' });
    assert.equal(refused.statusCode, 403);
    assert.equal(refused.json<{ error: { code: string } }>().error.code, 'FORBIDDEN');
    assert.equal((await t.inject({ method: 'GET', url: '/api/v1/server/updates' })).statusCode, 401);

    const promoted = await t.as(owner, { method: 'PATCH', url: `/api/v1/instances/${instanceId}/members/${member.accountId}`, payload: { role: 'admin' } });
    assert.equal(promoted.statusCode, 204, promoted.body);
    const asAdmin = await t.as(member, { method: 'GET', url: '/api/v1/server/updates' });
    assert.equal(asAdmin.statusCode, 200, 'an instance admin (not an operator) sees it');
    assert.equal(asAdmin.json<UpdateStatus>().latest?.version, releaseAbove('minor').version);

    const metrics = await t.ctx.metrics.registry.getSingleMetricAsString('conclave_update_security_available');
    assert.match(metrics, /conclave_update_security_available 1/);
  });
});
