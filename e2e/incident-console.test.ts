import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { recordSecret } from '../packages/server/src/testing/secret-ledger.ts';
import type { ReceivedMail, SmtpSink } from '../packages/server/src/testing/smtp-sink.ts';
import { findChromium, logInWithForm as logIn, openContext, screenshot, SCREENSHOTS, SKIP_WITHOUT_CHROMIUM, type Browser } from './support/browser.ts';
import { resetLinkIn } from './support/mail.ts';
import { addMember, apiCall, logIn as apiLogIn, type E2eServer, type Person } from './support/server.ts';
import { startWorld, type World } from './support/world.ts';

const chromiumPath = findChromium();

/** The mails to `to` whose subject matches, once they arrived. */
const mailsTo = async (sink: SmtpSink, to: string, subject: RegExp, howMany = 1): Promise<ReceivedMail[]> => {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const found = sink.to(to).filter((mail) => subject.test(mail.subject));
    if (found.length >= howMany) return found;
    if (Date.now() > deadline) throw new Error(`no mail "${subject.source}" to ${to}; got ${sink.to(to).map((m) => m.subject).join(' | ') || 'nothing'}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
};

const ACTION_REQUIRED = /^\[INC-1\] Action required: choose a new password/;
const PRECAUTIONARY = /^\[INC-1\] Security incident on .*: what it may mean for you$/;
const REASSURANCE = /^\[INC-1\] Security incident on .*: your account was not affected$/;
const ADMIN_REPORT = /^\[INC-1\] Incident report for Acme/;

describe('the incident console: a drill from declaration to the public status page', { skip: chromiumPath ? false : SKIP_WITHOUT_CHROMIUM }, () => {
  let world: World;
  let sink: SmtpSink;
  let server: E2eServer;
  let browser: Browser;
  let instanceId: string;
  let ada: Person;

  before(async () => {
    world = await startWorld('incident', chromiumPath as string);
    ({ sink, server, browser, instanceId, ada } = world);
  });
  after(() => world?.close());

  test('declare, scope, contain (a member is signed out), preview and send notices, the chart, publish; /status shows it', async () => {
    // The world: Bob and Carol share a private room in Acme; Eve is in Acme too; Dave is only in Beta.
    const bob = await addMember(server, instanceId, ada, { email: 'bob@example.org', displayName: 'Bob', password: 'bob keeps a ci token' });
    const carol = await addMember(server, instanceId, ada, { email: 'carol@example.org', displayName: 'Carol', password: 'carol reads the payroll' });
    const eve = await addMember(server, instanceId, ada, { email: 'eve@example.org', displayName: 'Eve', password: 'eve is just around' });
    const beta = await apiCall<{ id: string }>(server.url, 'POST', '/instances', { token: ada.token, body: { slug: 'beta', name: 'Beta' } });
    assert.equal(beta.status, 201);
    const invite = await apiCall<{ token: string }>(server.url, 'POST', `/instances/${beta.body.id}/invites`, { token: ada.token, body: {} });
    recordSecret(invite.body.token);
    const dave = { email: 'dave@example.org', password: 'dave lives in beta only' };
    recordSecret(dave.password);
    assert.equal((await apiCall(server.url, 'POST', '/auth/signup', { body: { ...dave, displayName: 'Dave', instance: 'beta', inviteToken: invite.body.token } })).status, 202);
    await apiLogIn(server, dave.email, dave.password);

    const room = await apiCall<{ id: string }>(server.url, 'POST', `/instances/${instanceId}/rooms`, { token: bob.token, body: { name: 'payroll', privacy: 'private' } });
    assert.equal(room.status, 201);
    assert.ok((await apiCall(server.url, 'POST', `/rooms/${room.body.id}/members`, { token: bob.token, body: { accountId: carol.accountId } })).status < 300);
    assert.equal((await apiCall(server.url, 'POST', `/rooms/${room.body.id}/messages`, { token: carol.token, body: { body: 'salaries are in the sheet' } })).status, 201);
    // Bob's read token leaks in a CI log; someone reads the room with it.
    const leaked = await apiCall<{ id: string; token: string }>(server.url, 'POST', '/me/tokens', { token: bob.token, body: { name: 'ci', scopes: ['read'] } });
    assert.equal(leaked.status, 201);
    recordSecret(leaked.body.token);
    assert.equal((await apiCall(server.url, 'GET', `/rooms/${room.body.id}/messages`, { token: leaked.body.token })).status, 200);

    // Carol has the chat open in her own browser.
    const carolSide = await openContext(browser);
    await carolSide.page.goto(`${server.url}/login`);
    await logIn(carolSide.page, carol.email, carol.password);
    await carolSide.page.waitForURL(/\/instances\//);

    // The operator logs in and opens the console from the chat.
    const { page, problems } = await openContext(browser);
    await page.goto(`${server.url}/login`);
    await logIn(page, ada.email, ada.password);
    await page.waitForURL(/\/instances\//);
    await page.getByRole('link', { name: 'Incident console' }).click();
    await page.getByRole('heading', { name: 'Incidents' }).waitFor();
    await page.getByText('No incident has been declared on this server.').waitFor();

    // Declare.
    await page.getByRole('button', { name: 'Declare an incident' }).click();
    await page.getByLabel('Title').fill('API token leaked in a CI log');
    await page.getByLabel('Severity').selectOption('SEV1');
    await page.getByLabel('What happened').fill('A read-only API token was printed in a public CI log and used to read one room.');
    await page.getByLabel('Information concerned (comma-separated)').fill('chat messages, room names');
    await page.getByLabel('Contact').fill('security@example.org');
    await page.locator('#declare-form').screenshot({ path: await shotPath('13-incident-declare') });
    await page.getByRole('button', { name: 'Declare', exact: true }).click();
    await page.waitForURL(/\/operator\/incidents\/INC-1$/);
    await page.getByRole('heading', { name: /INC-1 API token leaked in a CI log/ }).waitFor();
    await page.getByText(/left until the 72-hour notification deadline/).waitFor();

    // Scope: the token's id; the verified log sorts everyone into a segment.
    await page.getByLabel('Session or API-token ids the attacker used').fill(leaked.body.id);
    await page.getByRole('button', { name: 'Compute the scope' }).click();
    const segments = page.locator('.segment-table');
    await segments.waitFor();
    await page.getByText('log verified').waitFor();
    const people = async (segment: string) => (await segments.locator(`[data-segment-people="${segment}"]`).textContent())?.trim();
    assert.equal(await people('affected'), '2', 'Bob (his token) and Carol (the room read)');
    assert.equal(await people('possibly_affected'), '2', 'Ada and Eve: Acme\'s other members');
    assert.equal(await people('not_affected'), '1', 'Dave, only in Beta');
    await page.locator('#scope').screenshot({ path: await shotPath('14-incident-scope') });

    // Contain the affected: new passwords and sessions ended; followed until done.
    await page.getByRole('radio', { name: /^Affected \(2 people\)/ }).check();
    await page.getByRole('button', { name: 'Review the containment' }).click();
    await page.getByText(/for 2 people\. Their open pages and apps are signed out/).waitFor();
    await page.getByRole('button', { name: 'Start the containment' }).click();
    await page.locator('.containment[data-status="done"]').waitFor({ timeout: 30_000 });
    await page.locator('#contain').screenshot({ path: await shotPath('15-incident-contained') });
    // Carol's open chat is signed out at once, and her password no longer works.
    await carolSide.page.waitForURL(/\/login/, { timeout: 10_000 });
    await logIn(carolSide.page, carol.email, carol.password);
    await carolSide.page.getByRole('heading', { name: 'Your password must be reset' }).waitFor();
    // Nobody outside the target was touched: Eve still logs in.
    await apiLogIn(server, eve.email, eve.password);

    // Notify: the breach notice completed as the investigation learns more, then every segment its mail,
    // previewed first.
    await page.getByText('The breach notice the mails quote').click();
    await page.getByLabel('Measures taken').fill('We revoked the token and signed the people concerned out.');
    await page.getByRole('button', { name: 'Save the notice' }).click();
    await page.getByText('Notice saved').waitFor();
    await page.getByText('The breach notice the mails quote').click();
    await page.getByLabel('Not affected get').selectOption('reassurance');
    await page.getByRole('button', { name: 'Preview the notices' }).click();
    const preview = page.locator('.notice-preview');
    await preview.waitFor();
    const segmentPreview = (name: RegExp) => preview.getByRole('article', { name });
    assert.match((await segmentPreview(/^Affected: Action required/).locator('.mail-subject').textContent()) ?? '', ACTION_REQUIRED);
    assert.match((await segmentPreview(/^Affected: Action required/).locator('.mail-text').textContent()) ?? '', /Hello Alex Example,[\s\S]*A read-only API token was printed[\s\S]*We revoked the token and signed the people concerned out\.[\s\S]*reset-password#token=\(a one-time token made when the mail is sent\)/);
    assert.match((await segmentPreview(/^Possibly affected: Precautionary/).locator('.mail-subject').textContent()) ?? '', PRECAUTIONARY);
    assert.match((await segmentPreview(/^Not affected: Reassurance/).locator('.mail-subject').textContent()) ?? '', REASSURANCE);
    assert.match((await segmentPreview(/^Instance admins/).locator('.mail-subject').textContent()) ?? '', ADMIN_REPORT);
    assert.equal(sink.received.filter((mail) => mail.subject.startsWith('[INC-1]')).length, 0, 'a preview sends nothing');
    await page.locator('#notify').screenshot({ path: await shotPath('16-notice-preview') });
    await page.getByRole('button', { name: 'Send 6 notices' }).click();
    await page.getByText('6 notices queued').waitFor();

    // The SMTP sink gets the right mail for each segment, and nobody gets another's.
    const bobMail = await mailsTo(sink, bob.email, ACTION_REQUIRED);
    const carolMail = await mailsTo(sink, carol.email, ACTION_REQUIRED);
    await mailsTo(sink, ada.email, PRECAUTIONARY);
    await mailsTo(sink, ada.email, ADMIN_REPORT);
    await mailsTo(sink, eve.email, PRECAUTIONARY);
    await mailsTo(sink, dave.email, REASSURANCE);
    assert.match(bobMail[0]!.text, /Hello Bob,/);
    resetLinkIn(bobMail[0]!);
    for (const address of [ada.email, eve.email, dave.email]) assert.ok(!sink.to(address).some((mail) => ACTION_REQUIRED.test(mail.subject)), `${address} gets no reset link`);
    for (const address of [bob.email, carol.email, eve.email, dave.email]) assert.ok(!sink.to(address).some((mail) => ADMIN_REPORT.test(mail.subject)), `${address} gets no admin report`);
    assert.equal(sink.received.filter((mail) => mail.subject.startsWith('[INC-1]')).length, 6);

    // Carol follows her notice's link and chooses a new password: the chart counts her.
    const fresh = 'a new passphrase after the leak';
    recordSecret(fresh);
    await carolSide.page.goto(resetLinkIn(carolMail[0]!));
    await carolSide.page.getByLabel('New password').fill(fresh);
    await carolSide.page.getByLabel('The same password again').fill(fresh);
    await carolSide.page.getByRole('button', { name: 'Set the new password' }).click();
    await carolSide.page.getByRole('heading', { name: 'Your password is changed' }).waitFor();

    const progress = page.locator('#progress');
    await progress.locator('.progress-chart').waitFor();
    await progress.locator('.legend-notices', { hasText: 'Notices delivered: 6 of 6' }).waitFor({ timeout: 30_000 });
    await progress.locator('.legend-resets', { hasText: 'Resets completed: 1 of 2' }).waitFor({ timeout: 30_000 });
    assert.equal(await progress.locator('.series-notices path').count(), 1);
    assert.equal(await progress.locator('.series-resets path').count(), 1);
    await progress.screenshot({ path: await shotPath('17-incident-progress') });

    // A public update, then the incident and its postmortem on the status page.
    await page.getByLabel('Note').fill('We revoked the leaked token and asked the people concerned to choose new passwords.');
    await page.getByLabel('Public (shown on the status page once the incident is published)').check();
    await page.getByLabel('New status').selectOption('monitoring');
    await page.getByRole('button', { name: 'Add the update' }).click();
    await page.locator('.timeline-list li.public').waitFor();
    await page.getByRole('button', { name: 'Publish on the status page' }).click();
    await page.locator('#publish .form-message.success', { hasText: 'Published on the status page.' }).waitFor();
    const editor = page.getByLabel('Postmortem (Markdown)');
    assert.match(await editor.inputValue(), /INC-1/, 'a skeleton prefilled from the incident');
    await editor.fill('# What happened\n\nA read-only token reached a public CI log. We now mask tokens in CI output.');
    await page.getByRole('button', { name: 'Publish the postmortem' }).click();
    await page.locator('#publish .form-message.success', { hasText: 'Postmortem published' }).waitFor();
    await page.getByRole('link', { name: 'Read the published postmortem' }).waitFor();
    await page.locator('#publish').screenshot({ path: await shotPath('18-incident-publish') });

    // The public pages, as anyone sees them.
    const visitor = await openContext(browser);
    await visitor.page.goto(`${server.url}/status`);
    await visitor.page.getByText('API token leaked in a CI log').first().waitFor();
    assert.equal(await visitor.page.getByText('security@example.org').count(), 0, 'nothing internal on the status page');
    await screenshot(visitor.page, '19-status-page');
    await visitor.page.goto(`${server.url}/status/incidents/INC-1`);
    await visitor.page.getByText('We revoked the leaked token').first().waitFor();
    await visitor.page.getByText('We now mask tokens in CI output.').waitFor();
    assert.equal(await visitor.page.getByText(/salaries|payroll|bob@example\.org|signed the people concerned out/).count(), 0, 'nothing internal on the incident\'s public page');
    await screenshot(visitor.page, '20-status-page-incident');

    // The whole console page, and at phone width.
    await page.goto(`${server.url}/operator/incidents/INC-1`);
    await page.getByRole('heading', { name: /INC-1/ }).waitFor();
    await screenshot(page, '21-incident-console-desktop');
    const phone = await openContext(browser, { viewport: { width: 390, height: 844 } });
    await phone.page.goto(`${server.url}/login?next=${encodeURIComponent('/operator/incidents')}`);
    await logIn(phone.page, ada.email, ada.password);
    await phone.page.waitForURL(/\/operator\/incidents$/);
    await phone.page.getByRole('link', { name: /INC-1/ }).click();
    await phone.page.locator('#progress .progress-chart').waitFor();
    const overflow = await phone.page.locator('html').evaluate((element) => element.scrollWidth - element.clientWidth);
    assert.ok(overflow <= 0, `readable at phone width without sideways scrolling (${overflow}px too wide)`);
    await screenshot(phone.page, '22-incident-console-phone');

    // People who are not operators do not get the console.
    const eveSide = await openContext(browser);
    await eveSide.page.goto(`${server.url}/login?next=${encodeURIComponent('/operator/incidents')}`);
    await logIn(eveSide.page, eve.email, eve.password);
    await eveSide.page.getByRole('heading', { name: 'Operators only' }).waitFor();

    for (const side of [carolSide, visitor, phone, eveSide]) assert.deepEqual(side.problems, []);
    assert.deepEqual(problems, []);
  });
});

/** Where a section's screenshot goes (beside the page screenshots). */
const shotPath = async (name: string): Promise<string> => {
  await mkdir(SCREENSHOTS, { recursive: true });
  return join(SCREENSHOTS, `${name}.png`);
};
