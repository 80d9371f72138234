import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Secret, TOTP } from 'otpauth';
import { recordSecret } from '../packages/server/src/testing/secret-ledger.ts';
import type { SmtpSink } from '../packages/server/src/testing/smtp-sink.ts';
import { findChromium, logInWithForm as logIn, openContext, screenshot, SKIP_WITHOUT_CHROMIUM, type Browser } from './support/browser.ts';
import { resetLinkIn, waitForResetMail } from './support/mail.ts';
import { addMember, apiCall, type E2eServer, type Person } from './support/server.ts';
import { startWorld, type World } from './support/world.ts';

const chromiumPath = findChromium();

describe('getting in: a forgotten password reset through the mail, a forced reset, two-factor log-in', { skip: chromiumPath ? false : SKIP_WITHOUT_CHROMIUM }, () => {
  let world: World;
  let sink: SmtpSink;
  let server: E2eServer;
  let browser: Browser;
  let instanceId: string;
  let ada: Person;

  before(async () => {
    world = await startWorld('reset', chromiumPath as string, { PASSWORD_RESET_RATE_LIMIT_EMAIL: '100/1h' });
    ({ sink, server, browser, instanceId, ada } = world);
  });
  after(() => world?.close());

  test('forgot password, the mail caught by a test SMTP server, a new password; then a forced reset', async () => {
    const carol = await addMember(server, instanceId, ada, { email: 'carol@example.org', displayName: 'Carol', password: 'carol forgot this one' });
    const { page, problems } = await openContext(browser);

    // Forgot: from the log-in form, with the email carried over.
    await page.goto(`${server.url}/login`);
    await page.getByLabel('Email').fill(carol.email);
    await page.getByRole('link', { name: 'Forgot your password?' }).click();
    await page.waitForURL(/\/forgot-password/);
    assert.equal(await page.getByLabel('Email').inputValue(), carol.email);
    await page.getByRole('button', { name: 'Send the reset link' }).click();
    await page.getByText('If an account has this email, a reset link is on its way').waitFor();
    await screenshot(page, '09-forgot-password');

    // The mail arrives at the SMTP sink; its link opens the reset page, which takes the token out of the address.
    const link = resetLinkIn(await waitForResetMail(sink, carol.email, 0));
    await page.goto(link);
    await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
    assert.equal(new URL(page.url()).hash, '', 'the token leaves the address bar and the history');

    // The meter explains; a common password is refused by the server and explained in the same place.
    const field = page.getByLabel('New password');
    await field.fill('football');
    await page.locator('.strength-verdict', { hasText: 'Long enough to be accepted' }).waitFor();
    await page.getByLabel('The same password again').fill('football');
    await page.getByRole('button', { name: 'Set the new password' }).click();
    await page.locator('.strength-verdict', { hasText: 'common or breached' }).waitFor();
    await screenshot(page, '10-reset-password-common');
    const fresh = 'plum tree under the winter sky';
    recordSecret(fresh);
    await field.fill(fresh);
    await page.getByLabel('The same password again').fill(fresh);
    await page.getByRole('button', { name: 'Set the new password' }).click();
    await page.getByRole('heading', { name: 'Your password is changed' }).waitFor();
    await page.getByRole('link', { name: 'Log in' }).click();
    await logIn(page, carol.email, 'carol forgot this one');
    await page.getByText('That email and password do not match an account.').waitFor();
    await logIn(page, carol.email, fresh);
    await page.waitForURL(/\/instances\//);

    // An operator forces a reset: Carol's open page is signed out at once, her password is refused with the
    // explanation, and the mail's link sets a new one.
    const seen = sink.to(carol.email).length;
    const forced = await apiCall(server.url, 'POST', `/accounts/${carol.accountId}/force-password-reset`, { token: ada.token });
    assert.equal(forced.status, 200);
    await page.waitForURL(/\/login/, { timeout: 10_000 });
    await logIn(page, carol.email, fresh);
    await page.getByRole('heading', { name: 'Your password must be reset' }).waitFor();
    await screenshot(page, '11-password-must-be-reset');
    const forcedMail = await waitForResetMail(sink, carol.email, seen);
    const after = 'a brand new passphrase for carol';
    recordSecret(after);
    await page.goto(resetLinkIn(forcedMail));
    await page.getByLabel('New password').fill(after);
    await page.getByLabel('The same password again').fill(after);
    await page.getByRole('button', { name: 'Set the new password' }).click();
    await page.getByRole('heading', { name: 'Your password is changed' }).waitFor();
    await page.getByRole('link', { name: 'Log in' }).click();
    await logIn(page, carol.email, after);
    await page.waitForURL(/\/instances\//);

    assert.deepEqual(problems, []);
  });

  test('log-in with two-factor authentication: the code step, and a recovery code instead', async () => {
    const dan = await addMember(server, instanceId, ada, { email: 'dan@example.org', displayName: 'Dan', password: 'dan has two factors now' });
    const setup = await apiCall<{ secret: string }>(server.url, 'POST', '/me/2fa/setup', { token: dan.token, body: { password: dan.password } });
    assert.equal(setup.status, 200);
    recordSecret(setup.body.secret);
    const totp = new TOTP({ secret: Secret.fromBase32(setup.body.secret), digits: 6, period: 30, algorithm: 'SHA1' });
    const enabled = await apiCall<{ recoveryCodes: string[] }>(server.url, 'POST', '/me/2fa/enable', { token: dan.token, body: { code: totp.generate() } });
    assert.equal(enabled.status, 200);
    for (const code of enabled.body.recoveryCodes) recordSecret(code);

    const { page, problems } = await openContext(browser);
    await page.goto(`${server.url}/login`);
    await logIn(page, dan.email, dan.password);
    await page.getByRole('heading', { name: 'Two-factor authentication' }).waitFor();
    // Each 30-second step is accepted once: the next step's code (within the ±1 step window) is unused.
    await page.getByLabel('Code from your authenticator app').fill('000000');
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByText('That code is not valid').waitFor();
    await screenshot(page, '12-two-factor');
    await page.getByLabel('Code from your authenticator app').fill(totp.generate({ timestamp: Date.now() + 30_000 }));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(/\/instances\//);
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(/\/login/);

    await logIn(page, dan.email, dan.password);
    await page.getByRole('button', { name: 'Use a recovery code instead' }).click();
    await page.getByLabel('Recovery code').fill(enabled.body.recoveryCodes[0] ?? '');
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(/\/instances\//);
    assert.deepEqual(problems, []);
  });
});

