import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Secret, TOTP } from 'otpauth';
import { recordSecret } from '../packages/server/src/testing/secret-ledger.ts';
import type { SmtpSink } from '../packages/server/src/testing/smtp-sink.ts';
import { findChromium, logInWithForm as logIn, openContext, screenshot, SKIP_WITHOUT_CHROMIUM, type Browser } from './support/browser.ts';
import { resetLinkIn, waitForResetMail } from './support/mail.ts';
import { addMember, apiCall, logIn as apiLogIn, type E2eServer, type Person } from './support/server.ts';
import { startWorld, type World } from './support/world.ts';

const chromiumPath = findChromium();

/** Polls until the server has signed a checkpoint (every few seconds), so the report's status is settled. */
const waitForCheckpoint = async (server: E2eServer, instanceId: string, token: string): Promise<void> => {
  const deadline = Date.now() + 20_000;
  while ((await apiCall(server.url, 'GET', `/instances/${instanceId}/audit/checkpoint`, { token })).status !== 200) {
    if (Date.now() > deadline) throw new Error('no audit checkpoint was signed');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
};

describe('my account and an instance\u2019s administration', { skip: chromiumPath ? false : SKIP_WITHOUT_CHROMIUM }, () => {
  let world: World;
  let sink: SmtpSink;
  let server: E2eServer;
  let browser: Browser;
  let instanceId: string;
  let ada: Person;

  before(async () => {
    world = await startWorld('account', chromiumPath as string, { PASSWORD_RESET_RATE_LIMIT_EMAIL: '100/1h' });
    ({ sink, server, browser, instanceId, ada } = world);
  });
  after(() => world?.close());

  test('an admin forces a reset: the member\u2019s open browser is logged out, and the mailed link sets a new password', async () => {
    const carol = await addMember(server, instanceId, ada, { email: 'carol@example.org', displayName: 'Carol', password: 'carol keeps a plain one' });
    // Carol reads a room, so the access report has something of hers to show.
    const room = await apiCall<{ id: string }>(server.url, 'POST', `/instances/${instanceId}/rooms`, { token: ada.token, body: { name: 'general', privacy: 'public' } });
    assert.equal(room.status, 201);
    assert.equal((await apiCall(server.url, 'POST', `/rooms/${room.body.id}/join`, { token: carol.token })).status, 204);
    assert.equal((await apiCall(server.url, 'GET', `/rooms/${room.body.id}/messages`, { token: carol.token })).status, 200);
    await waitForCheckpoint(server, instanceId, ada.token);

    // Carol, in a browser of her own, is in the chat.
    const member = await openContext(browser);
    await member.page.goto(`${server.url}/login`);
    await logIn(member.page, carol.email, carol.password);
    await member.page.waitForURL(/\/(instances|rooms)\//);

    // Ada opens the administration from the chat's sidebar.
    const admin = await openContext(browser);
    await admin.page.goto(`${server.url}/login`);
    await logIn(admin.page, ada.email, ada.password);
    await admin.page.waitForURL(/\/(instances|rooms)\//);
    await admin.page.getByRole('link', { name: 'Administration' }).click();
    await admin.page.getByRole('heading', { name: 'Administration of Acme' }).waitFor();
    const people = admin.page.getByRole('list', { name: 'People in Acme' });
    await people.getByText('carol@example.org').waitFor();

    // The access report: Carol's read of #general, and the log's checkpoint checked here too.
    const report = admin.page.locator('table.report');
    await report.getByRole('row').filter({ hasText: 'Carol' }).filter({ hasText: 'general' }).first().waitFor();
    await admin.page.getByText(/^Verified/).waitFor();
    await screenshot(admin.page, '13-administration');

    // Force the reset; the dialog says what it does.
    const seen = sink.to(carol.email).length;
    await admin.page.getByRole('button', { name: 'Force a password reset for Carol' }).click();
    const dialog = admin.page.getByRole('dialog', { name: 'Force a password reset for Carol?' });
    await dialog.getByText('Every session of Carol ends at once').waitFor();
    await dialog.getByRole('button', { name: 'Force the reset' }).click();
    await admin.page.getByText('Carol is logged out everywhere and must choose a new password; a reset link was mailed.').waitFor();

    // Carol's open page is logged out at once; her password is refused with the explanation.
    await member.page.waitForURL(/\/login/, { timeout: 10_000 });
    await logIn(member.page, carol.email, carol.password);
    await member.page.getByRole('heading', { name: 'Your password must be reset' }).waitFor();

    // The mail caught by the SMTP sink carries the link that sets a new one.
    const fresh = 'carol chose a longer one this time';
    recordSecret(fresh);
    await member.page.goto(resetLinkIn(await waitForResetMail(sink, carol.email, seen)));
    await member.page.getByLabel('New password').fill(fresh);
    await member.page.getByLabel('The same password again').fill(fresh);
    await member.page.getByRole('button', { name: 'Set the new password' }).click();
    await member.page.getByRole('heading', { name: 'Your password is changed' }).waitFor();
    await member.page.getByRole('link', { name: 'Log in' }).click();
    await logIn(member.page, carol.email, fresh);
    await member.page.waitForURL(/\/(instances|rooms)\//);

    // An admin cannot see the page of an instance they do not administer; a member sees no administration.
    await member.page.goto(`${server.url}/instances/${instanceId}/administration`);
    await member.page.getByText('Only this instance\u2019s admins can open its administration'.replace('\u2019', "'")).waitFor();

    // Ada removes Carol from the instance: gone from the list, and the instance is gone for her.
    await admin.page.getByRole('button', { name: 'Remove Carol from Acme' }).click();
    await admin.page.getByRole('dialog', { name: 'Remove Carol from Acme?' }).getByRole('button', { name: 'Remove' }).click();
    await admin.page.getByText('Carol is no longer in Acme.').waitFor();
    await people.getByText('carol@example.org').waitFor({ state: 'detached' });
    const carolNow = await apiLogIn(server, carol.email, fresh);
    assert.equal((await apiCall(server.url, 'GET', `/instances/${instanceId}`, { token: carolNow.token })).status, 404);

    assert.deepEqual(member.problems, []);
    assert.deepEqual(admin.problems, []);
    await member.context.close();
    await admin.context.close();
  });

  test('my account: change the password, set up two-factor authentication, recovery codes, end another session, an API token', async () => {
    const dan = await addMember(server, instanceId, ada, { email: 'dan@example.org', displayName: 'Dan', password: 'dan starts with this one' });
    const { page, context, problems } = await openContext(browser);
    await context.grantPermissions(['clipboard-read', 'clipboard-write']);
    await page.goto(`${server.url}/login`);
    await logIn(page, dan.email, dan.password);
    await page.waitForURL(/\/(instances|rooms)\//);
    await page.getByRole('link', { name: 'My account (Dan)' }).click();
    await page.getByRole('heading', { name: 'My account' }).waitFor();

    // The password: the meter explains, the server refuses a common one in the same place; the new one ends
    // the other sessions (Dan's API session here) and keeps this one.
    await page.getByLabel('Current password').fill(dan.password);
    await page.getByLabel('New password', { exact: true }).fill('password1');
    await page.getByLabel('The new password again').fill('password1');
    await page.getByRole('button', { name: 'Change the password' }).click();
    await page.locator('.strength-verdict', { hasText: 'common or breached' }).waitFor();
    const changed = 'dan moved to a long passphrase';
    recordSecret(changed);
    await page.getByLabel('New password', { exact: true }).fill(changed);
    await page.getByLabel('The new password again').fill(changed);
    await page.getByRole('button', { name: 'Change the password' }).click();
    await page.getByText('Your password is changed. Your other sessions were ended.').waitFor();
    assert.equal((await apiCall(server.url, 'GET', '/me', { token: dan.token })).status, 401, 'the other session ended');

    // Two-factor: the password, then the QR code and the key, read from the page as an app would.
    await page.getByRole('button', { name: 'Set up two-factor authentication' }).click();
    await page.getByLabel('Your password').fill(changed);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('img', { name: /QR code for adding Conclave/ }).waitFor();
    const secret = (await page.locator('#two-factor-key').innerText()).replace(/\s+/g, '');
    recordSecret(secret);
    const totp = new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30, algorithm: 'SHA1' });
    await page.getByRole('heading', { name: 'Two-factor authentication' }).evaluate((heading) => heading.scrollIntoView());
    await screenshot(page, '14-two-factor-setup');
    await page.getByLabel('The 6-digit code the app shows').fill(totp.generate());
    await page.getByRole('button', { name: 'Turn on two-factor authentication' }).click();

    // The recovery codes, shown once, copyable.
    await page.getByText('Save these recovery codes now: they are shown only this once.').waitFor();
    const codes = await page.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem').allInnerTexts();
    assert.equal(codes.length >= 8, true, `recovery codes shown: ${codes.length}`);
    for (const code of codes) recordSecret(code);
    await page.getByRole('button', { name: 'Copy the codes' }).click();
    await page.getByRole('button', { name: 'Copied' }).waitFor();
    assert.equal(await page.evaluate<string>('navigator.clipboard.readText()'), codes.join('\n'));
    await page.getByRole('heading', { name: 'Two-factor authentication' }).evaluate((heading) => heading.scrollIntoView());
    await screenshot(page, '15-recovery-codes');
    await page.getByRole('button', { name: 'I have saved them' }).click();
    await page.getByText(`${codes.length} recovery codes left.`).waitFor();

    // Another session, logged in with the password and a code (the next step's: each step is accepted once).
    const first = await apiCall<{ challenge: { token: string } }>(server.url, 'POST', '/auth/login', { body: { email: dan.email, password: changed, mode: 'bearer' } });
    assert.equal(first.status, 401);
    recordSecret(first.body.challenge.token);
    const second = await apiCall<{ token: string }>(server.url, 'POST', '/auth/login/2fa', {
      body: { challenge: first.body.challenge.token, code: totp.generate({ timestamp: Date.now() + 30_000 }), mode: 'bearer' },
    });
    assert.equal(second.status, 200);
    recordSecret(second.body.token);
    await page.reload();
    const sessions = page.getByRole('region', { name: 'Sessions' });
    await sessions.getByText('This browser').waitFor();
    const endOther = sessions.getByRole('button', { name: /^End the session on / });
    assert.equal(await endOther.count(), 1, 'one other session');
    await endOther.click();
    await sessions.getByText(/^The session on .* is ended\.$/).waitFor();
    assert.equal((await apiCall(server.url, 'GET', '/me', { token: second.body.token })).status, 401, 'the ended session no longer works');

    // An API token: read and write, shown once; it works, then it is revoked and does not.
    const tokens = page.getByRole('region', { name: 'API tokens' });
    await tokens.getByLabel('Token name').fill('deploy bot');
    await tokens.getByLabel('Write: post, edit and react').check();
    await tokens.getByRole('button', { name: 'Create the token' }).click();
    const token = await tokens.getByLabel('New token').inputValue();
    recordSecret(token);
    assert.match(token, /^cnv_pat_/);
    await tokens.getByRole('heading', { name: 'API tokens' }).evaluate((heading) => heading.scrollIntoView());
    await screenshot(page, '16-api-token');
    assert.equal((await apiCall(server.url, 'GET', `/instances/${instanceId}`, { token })).status, 200);
    await tokens.getByRole('button', { name: 'Done' }).click();
    await tokens.getByRole('list', { name: 'Your API tokens' }).getByText('read, write').waitFor();
    await tokens.getByRole('button', { name: 'Revoke the token \u201cdeploy bot\u201d' }).click();
    await tokens.getByText('The token \u201cdeploy bot\u201d is revoked.').waitFor();
    assert.equal((await apiCall(server.url, 'GET', `/instances/${instanceId}`, { token })).status, 401);

    // Readable at phone width: one column, nothing wider than the screen.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole('heading', { name: 'Two-factor authentication' }).evaluate((heading) => heading.scrollIntoView());
    assert.equal(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth'), true, 'no sideways scrolling at 390 px');
    await screenshot(page, '17-account-phone');

    assert.deepEqual(problems, []);
    await context.close();
  });
});
