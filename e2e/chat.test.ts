import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { recordSecret } from '../packages/server/src/testing/secret-ledger.ts';
import { findChromium, launch, openContext, screenshot, SKIP_WITHOUT_CHROMIUM, type Browser, type Page } from './support/browser.ts';
import { startE2eServer, type E2eServer } from './support/server.ts';

const chromiumPath = findChromium();

/** Two people, two browser contexts (two separate sets of cookies), one real server. */
describe('two people chat in real time', { skip: chromiumPath ? false : SKIP_WITHOUT_CHROMIUM }, () => {
  let server: E2eServer;
  let browser: Browser;
  const problems: string[][] = [];

  before(async () => {
    server = await startE2eServer('chat');
    browser = await launch(chromiumPath as string);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('set up, invite, join, chat, edit, react, delete, mention, direct chat, search, phone width', async () => {
    const ada = await openContext(browser);
    problems.push(ada.problems);
    const page = ada.page;
    const adaPassword = 'a long pass phrase for ada';
    recordSecret(adaPassword);

    // The client's page carries the strict CSP, and the client runs under it (problems stay empty).
    const home = await page.goto(server.url);
    const csp = home?.headers()['content-security-policy'] ?? '';
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /style-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);

    // First run: "/" leads to the setup form.
    await page.waitForURL(/\/setup$/);
    await page.getByLabel('Setup token').fill(server.setupToken ?? '');
    await page.getByLabel('Name', { exact: true }).fill('Acme');
    assert.equal(await page.getByLabel('Address').inputValue(), 'acme');
    await page.getByLabel('Your name').fill('Ada');
    await page.getByLabel('Email').fill('ada@example.org');
    await page.getByLabel('Password', { exact: true }).fill('short');
    await page.getByText('Too short: 3 more characters needed').waitFor();
    await page.getByLabel('Password', { exact: true }).fill(adaPassword);
    await page.locator('.strength-verdict', { hasText: 'Very strong' }).waitFor();
    await screenshot(page, '01-setup');
    await page.getByRole('button', { name: 'Create the instance' }).click();
    await page.waitForURL(/\/instances\//);

    // A room with a topic.
    await page.getByRole('button', { name: 'Create a room' }).click();
    await page.getByRole('dialog').getByLabel('Name').fill('general');
    await page.getByRole('dialog').getByLabel('Topic (optional)').fill('Everything and anything');
    await page.getByRole('button', { name: 'Create the room' }).click();
    await page.waitForURL(/\/rooms\//);
    await page.getByRole('heading', { name: 'general' }).waitFor();
    await page.getByRole('button', { name: 'Edit topic' }).click();
    await page.getByRole('dialog').getByLabel('Topic').fill('Company-wide chatter');
    await page.getByRole('button', { name: 'Save the topic' }).click();
    await page.getByText('Company-wide chatter').waitFor();
    const roomUrl = page.url();

    // An invite link for Bob.
    await page.getByRole('button', { name: /Invite people to Acme/ }).click();
    await page.getByRole('button', { name: 'Create an invite link' }).click();
    const inviteLink = await page.getByLabel('Invite link').inputValue();
    assert.match(inviteLink, /\/signup\?instance=acme#invite=cnv_i_/);
    recordSecret(new URL(inviteLink).hash.slice('#invite='.length));
    await page.getByRole('button', { name: 'Close' }).click();

    // Bob signs up through it in his own browser context, at phone width.
    const bob = await openContext(browser, { viewport: { width: 390, height: 844 } });
    problems.push(bob.problems);
    const bobPage = bob.page;
    const bobPassword = 'correct horse battery staple';
    recordSecret(bobPassword);
    await bobPage.goto(inviteLink);
    await bobPage.getByText('You were invited').waitFor();
    assert.ok(!bobPage.url().includes('cnv_i_'), 'the invite token leaves the address bar');
    await bobPage.getByLabel('Your name').fill('Bob');
    await bobPage.getByLabel('Email').fill('bob@example.org');
    await bobPage.getByLabel('Password', { exact: true }).fill(bobPassword);
    await screenshot(bobPage, '02-signup-phone');
    await bobPage.getByRole('button', { name: 'Join' }).click();
    await bobPage.waitForURL(/\/instances\//);
    await bobPage.getByRole('button', { name: 'Browse' }).click();
    await bobPage.getByRole('button', { name: 'Join general' }).click();
    await bobPage.waitForURL(/\/rooms\//);
    await bobPage.getByRole('textbox', { name: 'Message #general' }).waitFor();

    // Ada writes; Bob sees it without reloading. Bob answers over two lines (Shift+Enter), sent with Enter.
    await send(page, '#general', 'Hello Bob, welcome to Acme!');
    await bobPage.getByText('Hello Bob, welcome to Acme!').waitFor();
    const bobComposer = bobPage.getByRole('textbox', { name: 'Message #general' });
    await bobComposer.click();
    await bobComposer.pressSequentially('Thanks Ada!');
    await page.getByText('Bob is typing…').waitFor();
    await bobComposer.press('Shift+Enter');
    await bobComposer.pressSequentially('Glad to be here.');
    await bobComposer.press('Enter');
    const twoLines = page.locator('.message-body', { hasText: 'Thanks Ada!' });
    await twoLines.waitFor();
    assert.equal(await twoLines.innerText(), 'Thanks Ada!\nGlad to be here.');
    // Ada may see it over her socket before Bob's POST has answered: wait for Bob's composer to empty.
    await bobPage.waitForFunction("document.getElementById('composer')?.value === ''", undefined, { timeout: 10_000 });
    assert.equal(await bobComposer.inputValue(), '', 'the composer empties once the message is stored');

    // Edit (Ada's own), react (Bob), delete (Ada) — each seen live on the other side.
    const adaMessage = page.locator('li.message', { hasText: 'Hello Bob, welcome to Acme!' });
    await adaMessage.hover();
    await adaMessage.getByRole('button', { name: 'Edit' }).click();
    const editBox = adaMessage.getByLabel('Edit your message');
    await editBox.fill('Hello Bob, welcome to Acme! (edited by Ada)');
    await editBox.press('Enter');
    await bobPage.getByText('welcome to Acme! (edited by Ada)').waitFor();
    await bobPage.locator('li.message', { hasText: '(edited by Ada)' }).getByText('(edited)').waitFor();

    const bobSees = bobPage.locator('li.message', { hasText: '(edited by Ada)' });
    await bobSees.getByRole('button', { name: 'React' }).click();
    await bobSees.getByRole('button', { name: 'React with 👍' }).click();
    await adaMessage.getByRole('button', { name: /👍 1: Bob/ }).waitFor();

    await send(page, '#general', 'This one was a mistake');
    const mistake = page.locator('li.message', { hasText: 'This one was a mistake' });
    await bobPage.getByText('This one was a mistake').waitFor();
    page.once('dialog', (dialog) => void dialog.accept());
    await mistake.hover();
    await mistake.getByRole('button', { name: 'Delete' }).click();
    await bobPage.getByText('This message was deleted.').waitFor();
    assert.equal(await bobPage.getByText('This one was a mistake').count(), 0);

    // A mention while Bob is elsewhere: his room list counts it; opening the room highlights it.
    await bobPage.getByRole('link', { name: 'Rooms' }).click();
    await bobPage.waitForURL(/\/instances\//);
    await send(page, '#general', 'Could @Bob look at the report?');
    await bobPage.getByRole('link', { name: /general, 1 unread, 1 mentioning you/ }).waitFor();
    await screenshot(bobPage, '03-room-list-unread-phone');
    await bobPage.getByRole('link', { name: /general, 1 unread/ }).click();
    await bobPage.locator('li.message.mentions-me mark.mention-me', { hasText: '@Bob' }).waitFor();
    await screenshot(bobPage, '04-room-phone');

    // A direct chat: Ada opens it, Bob finds it in his list with its unread count.
    await page.getByRole('button', { name: 'Start a direct chat' }).click();
    await page.getByRole('button', { name: 'Chat with Bob' }).click();
    await page.getByRole('heading', { name: /Bob/ }).waitFor();
    await send(page, 'Bob', 'A word in private, Bob');
    await bobPage.getByRole('link', { name: 'Rooms' }).click();
    await bobPage.getByRole('link', { name: /^Ada, 1 unread/ }).click();
    await bobPage.getByText('A word in private, Bob').waitFor();

    // Search finds the edited message by a word of its new text.
    await page.goto(roomUrl);
    await page.getByRole('searchbox', { name: 'Search messages' }).fill('edited');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.locator('.search-results li', { hasText: 'edited by Ada' }).waitFor();
    await screenshot(page, '05-search');
    await page.getByRole('button', { name: 'Close search' }).click();
    await page.getByText('Company-wide chatter').waitFor();
    await screenshot(page, '06-room-desktop');

    // Keyboard: the composer is reachable from the skip link, and sends with Enter.
    await page.keyboard.press('Tab');
    await page.getByRole('link', { name: 'Skip to the message box' }).press('Enter');
    await page.keyboard.type('Sent with the keyboard alone');
    await page.keyboard.press('Enter');
    await bobPage.getByRole('link', { name: 'Rooms' }).click();
    await bobPage.getByRole('link', { name: /general, 1 unread/ }).waitFor();

    // Leave and archive: Bob leaves; Ada archives, and the composer gives way to a note.
    await bobPage.getByRole('link', { name: /general/ }).click();
    bobPage.once('dialog', (dialog) => void dialog.accept());
    await bobPage.getByRole('button', { name: 'Leave' }).click();
    await bobPage.waitForURL(/\/instances\//);
    assert.equal(await bobPage.getByRole('link', { name: /^general/ }).count(), 0);
    await page.getByRole('button', { name: 'Archive' }).click();
    await page.getByText('This room is archived').waitFor();

    assert.deepEqual(problems.flat(), []);
  });
});

/** Types into the composer of the room named `label` and sends it with Enter. */
const send = async (page: Page, label: string, text: string): Promise<void> => {
  const composer = page.getByRole('textbox', { name: `Message ${label}` });
  await composer.fill(text);
  await composer.press('Enter');
  await page.locator('li.message', { hasText: text }).first().waitFor();
};
