import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { findChromium, launch, openContext, screenshot, SKIP_WITHOUT_CHROMIUM, type Browser, type Page } from './support/browser.ts';
import { addMember, apiCall, setUpInstance, startE2eServer, type E2eServer } from './support/server.ts';

const chromiumPath = findChromium();

const messagesOnScreen = (page: Page): Promise<string[]> => page.locator('li.message .message-body').allInnerTexts();

describe('a reconnect after the server restarts', { skip: chromiumPath ? false : SKIP_WITHOUT_CHROMIUM }, () => {
  let server: E2eServer;
  let browser: Browser;

  before(async () => {
    server = await startE2eServer('reconnect');
    browser = await launch(chromiumPath as string);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('loses nothing and doubles nothing: missed messages are replayed once, a send that failed is kept', async () => {
    const { instanceId, owner: ada } = await setUpInstance(server, { email: 'ada@example.org', displayName: 'Ada', password: 'a long pass phrase for ada' });
    const beta = await apiCall<{ id: string }>(server.url, 'POST', '/instances', { token: ada.token, body: { slug: 'beta', name: 'Beta' } });
    assert.equal(beta.status, 201);
    const bob = await addMember(server, instanceId, ada, { email: 'bob@example.org', displayName: 'Bob', password: 'correct horse battery staple' });
    const room = await apiCall<{ id: string }>(server.url, 'POST', `/instances/${instanceId}/rooms`, { token: ada.token, body: { name: 'ops' } });
    await apiCall(server.url, 'POST', `/rooms/${room.body.id}/join`, { token: bob.token });
    const bobPosts = async (body: string) => {
      const posted = await apiCall(server.url, 'POST', `/rooms/${room.body.id}/messages`, { token: bob.token, body: { body } });
      assert.equal(posted.status, 201);
    };

    // More history than one page: the snapshot holds the newest 50, the rest loads as Ada scrolls up.
    const old = Array.from({ length: 56 }, (_, i) => `old ${i + 1}`);
    for (const body of old) await bobPosts(body);

    // Ada logs in through the page; a deep link survives the detour through the log-in form.
    const { page, problems } = await openContext(browser);
    await page.goto(`${server.url}/rooms/${room.body.id}`);
    await page.waitForURL(/\/login\?next=/);
    await page.getByLabel('Email').fill(ada.email);
    await page.getByLabel('Password', { exact: true }).fill(ada.password);
    await screenshot(page, '07-login');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(new RegExp(`/rooms/${room.body.id}$`));
    await page.getByRole('heading', { name: 'ops' }).waitFor();

    await page.getByText('old 56', { exact: true }).waitFor();
    assert.equal(await page.locator('li.message').count(), 50, 'one page at first');
    await page.locator('.message-scroller').evaluate((element) => {
      element.scrollTop = 0;
    });
    await page.getByText('The beginning of ops.').waitFor();
    assert.deepEqual(await messagesOnScreen(page), old, 'older history loaded above, each message once');

    for (const body of ['before 1', 'before 2', 'before 3']) await bobPosts(body);
    await page.getByText('before 3').waitFor();

    // The server goes away: the page says so, and a message written meanwhile is not lost.
    await server.halt();
    await page.getByText('Connection lost: reconnecting…').waitFor();
    const composer = page.getByRole('textbox', { name: 'Message #ops' });
    await composer.fill('written while the server was down');
    await composer.press('Enter');
    await page.getByText(/^Not sent:/).waitFor();
    assert.equal(await composer.inputValue(), 'written while the server was down', 'the text stays in the composer');
    await screenshot(page, '08-reconnecting');

    // It comes back, and Bob posts while Ada's browser is still cut off: those messages can only reach her
    // page through the resume (?since=), which the server replays and records as a replay in the audit log.
    await page.context().setOffline(true);
    await server.resume();
    for (const body of ['after 1', 'after 2', 'after 3']) await bobPosts(body);
    await page.context().setOffline(false);
    await page.getByText('after 3').waitFor({ timeout: 20_000 });
    await page.getByText('Connection lost: reconnecting…').waitFor({ state: 'detached' });

    await composer.press('Enter');
    await page.locator('li.message', { hasText: 'written while the server was down' }).waitFor();
    await bobPosts('after 4');
    await page.getByText('after 4').waitFor();

    const expected = [...old, 'before 1', 'before 2', 'before 3', 'after 1', 'after 2', 'after 3', 'written while the server was down', 'after 4'];
    assert.deepEqual(await messagesOnScreen(page), expected, 'every message once, in order');

    // A reload starts from a fresh snapshot: the same history.
    await page.reload();
    await page.getByText('after 4').waitFor();
    const shown = await messagesOnScreen(page);
    assert.ok(shown.length >= 50);
    assert.deepEqual(shown, expected.slice(-shown.length));
    const history = await apiCall<{ messages: Array<{ body: string }> }>(server.url, 'GET', `/rooms/${room.body.id}/messages?limit=100`, { token: bob.token });
    assert.deepEqual(history.body.messages.map((m) => m.body), expected, 'the server holds the same, once each');
    const audit = await apiCall<{ entries: Array<{ action: string; actorId: string; detail: { kind?: string; events?: number } }> }>(
      server.url, 'GET', `/instances/${instanceId}/audit/access?roomId=${room.body.id}`, { token: ada.token },
    );
    const replays = audit.body.entries.filter((e) => e.action === 'room.read' && e.actorId === ada.accountId && e.detail.kind === 'replay');
    assert.ok(replays.some((e) => (e.detail.events ?? 0) >= 3), `Ada's page resumed with ?since= and was replayed what it missed: ${JSON.stringify(audit.body.entries.map((e) => e.detail))}`);

    // The instance switcher: another instance, and what waits in this one while Ada looks there.
    const switcher = page.getByLabel('Instance', { exact: true });
    await switcher.selectOption({ label: 'Beta' });
    await page.waitForURL(new RegExp(`/instances/${beta.body.id}$`));
    await page.getByText('You are in no room yet').waitFor();
    await bobPosts('while Ada is in Beta');
    await switcher.locator('option', { hasText: 'Acme (1 unread)' }).waitFor({ state: 'attached' });
    await switcher.selectOption({ value: instanceId });
    await page.getByRole('link', { name: /^ops, 1 unread/ }).click();
    await page.getByText('while Ada is in Beta').waitFor();

    assert.deepEqual(problems, []);
  });
});
