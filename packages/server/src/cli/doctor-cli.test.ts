import assert from 'node:assert/strict';
import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { cliWorkspace, runCli } from '../testing/cli-process.ts';
import { currentRelease, releaseAbove, startReleaseFeeds, type TestReleaseFeeds } from '../testing/release-feed.ts';
import { recordSecret } from '../testing/secret-ledger.ts';
import { closeTestPools, describeEachEngine, newEmail, newPassword } from '../testing/test-app.ts';
import { EXIT } from './exit-codes.ts';

after(closeTestPools);

type Line = { level: string; check: string; message: string; fix?: string };
const findings = (stdout: string): Line[] => stdout.trim().split('\n').map((line) => JSON.parse(line) as Line);
const levelOf = (lines: Line[], check: string): string[] => lines.filter((line) => line.check === check).map((line) => line.level);

describeEachEngine('conclave doctor: a deployment against docs/deploy.md', (engine) => {
  let feeds: TestReleaseFeeds;
  let workspace: Awaited<ReturnType<typeof cliWorkspace>>;
  let good: Record<string, string>;
  before(async () => {
    feeds = await startReleaseFeeds();
    workspace = await cliWorkspace(engine, 'doctor');
    good = {
      ...workspace.env,
      PUBLIC_URL: 'https://chat.example.org',
      TRUST_PROXY: '127.0.0.1',
      UPDATE_FEED_URL: feeds.serve('/current.json', feeds.signed([currentRelease()])),
      UPDATE_FEED_KEY: feeds.publicKeyPath,
    };
    // A set-up server: database, keys (pepper, master, audit) and the first instance.
    const password = newPassword();
    const setup = await runCli(['setup', '--instance-slug', 'acme', '--instance-name', 'Acme', '--email', newEmail('doctor'), '--display-name', 'Owner'], good, `${password}\n`);
    assert.equal(setup.code, 0, setup.stderr);
    recordSecret(password);
    await mkdir(join(workspace.dir, 'backups'));
  });
  after(async () => {
    await workspace.close();
    await feeds.close();
  });

  test('a good deployment: keys apart and private, https with Secure cookies, the proxy trusted by address, the feed verified and current', async () => {
    const run = await runCli(['doctor', '--json', '--backups', join(workspace.dir, 'backups')], good);
    assert.equal(run.code, EXIT.ok, run.stdout + run.stderr);
    const lines = findings(run.stdout);
    assert.deepEqual(lines.filter((line) => line.level === 'fail'), []);
    for (const check of ['keys', 'transport', 'cookies', 'proxy', 'updates']) assert.deepEqual(levelOf(lines, check), ['ok'], `${check}: ${JSON.stringify(lines)}`);
    assert.match(lines.find((line) => line.check === 'cookies')?.message ?? '', /__Host-conclave_session is HttpOnly, SameSite=Lax, Secure/);
    assert.match(lines.find((line) => line.check === 'proxy')?.message ?? '', /only from 127\.0\.0\.1/);
  });

  test('a bad deployment: every problem fails with its fix, and the exit code is 1', async () => {
    const pepper = join(workspace.env['CONCLAVE_KEYS_DIR'] as string, 'pepper.key');
    await chmod(pepper, 0o644);
    try {
      const bad = {
        ...good,
        PUBLIC_URL: 'http://chat.example.org',
        TRUST_PROXY: 'true',
        UPDATE_FEED_URL: feeds.serve('/security.json', feeds.signed([currentRelease(), releaseAbove('patch', { security: true, severity: 'critical' })])),
      };
      const run = await runCli(['doctor', '--json', '--backups', workspace.dir], bad);
      assert.equal(run.code, EXIT.failure, run.stdout + run.stderr);
      const lines = findings(run.stdout);
      const failed = (check: string, pattern: RegExp) => {
        const line = lines.find((l) => l.check === check && l.level === 'fail' && pattern.test(l.message));
        assert.ok(line, `${check} fails on ${pattern}: ${JSON.stringify(lines)}`);
        assert.ok(line.fix && line.fix.length > 10, `${check} says how to fix it`);
      };
      failed('keys', /readable by every user/);
      failed('keys', /overlap/);
      failed('transport', /not https/);
      failed('cookies', /not Secure/);
      failed('proxy', /from anyone/);
      failed('updates', /security release is available/);

      const unsigned = await runCli(['doctor', '--json'], { ...good, UPDATE_FEED_URL: feeds.serve('/unsigned.json', feeds.unsigned([currentRelease()])) });
      assert.equal(unsigned.code, EXIT.failure);
      assert.deepEqual(levelOf(findings(unsigned.stdout), 'updates'), ['fail'], 'a feed without a signature fails');
      const hops = await runCli(['doctor', '--json', '--no-update-check'], { ...good, TRUST_PROXY: '1' });
      assert.deepEqual(levelOf(findings(hops.stdout), 'proxy'), ['warn'], 'a hop count trusts whoever connects');
      assert.deepEqual(levelOf(findings(hops.stdout), 'updates'), [], '--no-update-check fetches nothing');
    } finally {
      await chmod(pepper, 0o600);
    }
  });
});
