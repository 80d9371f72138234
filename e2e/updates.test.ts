import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { currentRelease, releaseAbove, startReleaseFeeds, type TestReleaseFeeds } from '../packages/server/src/testing/release-feed.ts';
import { findChromium, launch, openContext, screenshot, SKIP_WITHOUT_CHROMIUM, type Browser, type Page } from './support/browser.ts';
import { addMember, apiCall, setUpInstance, startE2eServer, type E2eServer } from './support/server.ts';

const chromiumPath = findChromium();

const logIn = async (page: Page, base: string, email: string, password: string) => {
  await page.goto(`${base}/login`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL(/\/instances\//);
};

describe('update notices: a security release shown to the operator, not to a member', { skip: chromiumPath ? false : SKIP_WITHOUT_CHROMIUM }, () => {
  let feeds: TestReleaseFeeds;
  let server: E2eServer;
  let browser: Browser;

  before(async () => {
    feeds = await startReleaseFeeds();
    const url = feeds.serve('/feed.json', feeds.signed([currentRelease(), releaseAbove('patch', { security: true, severity: 'critical', summary: 'Fixes a flaw in session handling.' })]));
    server = await startE2eServer('updates', { UPDATE_FEED_URL: url, UPDATE_FEED_KEY: feeds.publicKeyPath });
    browser = await launch(chromiumPath as string);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    await feeds?.close();
  });

  test('the operator sees the banner and dismisses it for this version; a member sees none', async () => {
    const { instanceId, owner: ada } = await setUpInstance(server, { email: 'ada@example.org', displayName: 'Ada', password: 'a long pass phrase for ada' });
    const bob = await addMember(server, instanceId, ada, { email: 'bob@example.org', displayName: 'Bob', password: 'bob has a long pass phrase' });
    // The node checks the feed at start; wait until it has verified it.
    for (let i = 0; ; i++) {
      const status = await apiCall<{ result: string }>(server.url, 'GET', '/server/updates', { token: ada.token });
      if (status.body.result === 'verified') break;
      if (i > 100) throw new Error(`the feed was not verified: ${JSON.stringify(status.body)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }

    const operator = await openContext(browser);
    await logIn(operator.page, server.url, ada.email, ada.password);
    const banner = operator.page.getByRole('alert').filter({ hasText: `Security release: Conclave ${releaseAbove('patch').version}` });
    await banner.waitFor();
    assert.match((await banner.textContent()) ?? '', /severity critical.*Fixes a flaw in session handling/);
    assert.equal(await banner.getByRole('link', { name: 'Release notes' }).getAttribute('href'), releaseAbove('patch').url);
    await screenshot(operator.page, '40-update-banner');
    await operator.page.getByRole('button', { name: 'Dismiss the update notice' }).click();
    await banner.waitFor({ state: 'detached' });
    await operator.page.reload();
    await operator.page.getByRole('button', { name: 'Create a room' }).waitFor();
    assert.equal(await operator.page.locator('.update-banner').count(), 0, 'dismissed for this version');

    const member = await openContext(browser);
    await logIn(member.page, server.url, bob.email, bob.password);
    await member.page.waitForLoadState('networkidle');
    assert.equal(await member.page.locator('.update-banner').count(), 0, 'a member is not shown update notices');
    assert.deepEqual([...operator.problems, ...member.problems], []);
  });
});
