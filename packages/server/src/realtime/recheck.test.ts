import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { STREAM_CLOSE } from '@conclave/protocol';
import { publishCredentialRecheck } from '../identity/index.ts';
import { recordSecret } from '../testing/secret-ledger.ts';
import { answersPing, closedWithin, isType, openStream, type StreamClient } from '../testing/stream-client.ts';
import { closeTestPools, createTestApp, describeEachEngine, type Client, type TestApp } from '../testing/test-app.ts';

after(closeTestPools);

/** The socket answers a ping: it is open and served. */
const assertOpen = async (stream: StreamClient, who: string): Promise<void> => assert.ok(await answersPing(stream), `${who}'s socket is open`);
const closeCode = async (stream: StreamClient): Promise<number> => (await closedWithin(stream)).code;

describeEachEngine('revocations: recheck', (engine) => {
  let t: TestApp;
  let base: string;
  let owner: Client;
  let instanceId: string;
  let slug: string;
  const streams: StreamClient[] = [];

  const stream = async (token: string): Promise<StreamClient> => {
    const s = await openStream(base, { token });
    streams.push(s);
    await s.next(isType('ready'));
    return s;
  };

  before(async () => {
    t = await createTestApp(engine);
    ({ owner, instanceId, instanceSlug: slug } = await t.setUp());
    await t.as(owner, { method: 'PATCH', url: `/api/v1/instances/${instanceId}`, payload: { signupMode: 'open' } });
    base = await t.listen();
  });
  after(async () => {
    for (const s of streams) s.close();
    await t.close();
  });

  test('epochs written without a bus message: a recheck closes the sockets of that person\'s sessions and tokens, and no others', async () => {
    const ada = await t.signUpAndLogIn(slug, { displayName: 'Ada' });
    const grace = await t.signUpAndLogIn(slug, { displayName: 'Grace' });
    const created = await t.as(ada, { method: 'POST', url: '/api/v1/me/tokens', payload: { name: 'reader', scopes: ['read'] } });
    assert.equal(created.statusCode, 201, created.body);
    const adaToken = created.json<{ token: string }>().token;
    recordSecret(adaToken);
    const adaSession = await stream(ada.token);
    const adaApi = await stream(adaToken);
    const graceStream = await stream(grace.token);
    const ownerStream = await stream(owner.token);

    // What bulk containment does: one statement, no revoke scope per account.
    await t.ctx.database.db.updateTable('accounts').set({ not_before: Date.now() + 1 }).where('id', '=', ada.accountId).execute();
    await sleep(600);
    await assertOpen(adaSession, 'Ada (before the recheck)');

    await publishCredentialRecheck(t.ctx);
    assert.equal(await closeCode(adaSession), STREAM_CLOSE.sessionRevoked);
    assert.ok(adaSession.frames.some(isType('session.revoked')), 'told why before the close');
    assert.equal(await closeCode(adaApi), STREAM_CLOSE.sessionRevoked, 'an API token\'s socket too');
    await assertOpen(graceStream, 'Grace');
    await assertOpen(ownerStream, 'the owner');
  });

  test('a recheck closes sockets whose session is gone or whose instance epoch passed them; the server epoch counts too', async () => {
    const alan = await t.signUpAndLogIn(slug, { displayName: 'Alan' });
    const barbara = await t.signUpAndLogIn(slug, { displayName: 'Barbara' });
    const edsger = await t.signUpAndLogIn(slug, { displayName: 'Edsger' });
    const alanStream = await stream(alan.token);
    const barbaraStream = await stream(barbara.token);
    const edsgerStream = await stream(edsger.token);
    const ownerStream = await stream((await t.login(owner.email, owner.password, 'bearer')).token);

    await t.ctx.database.db.deleteFrom('sessions').where('account_id', '=', alan.accountId).execute();
    await t.ctx.database.db
      .updateTable('memberships')
      .set({ not_before: Date.now() + 1 })
      .where('instance_id', '=', instanceId)
      .where('account_id', '=', barbara.accountId)
      .execute();
    await publishCredentialRecheck(t.ctx);
    assert.equal(await closeCode(alanStream), STREAM_CLOSE.sessionRevoked, 'a deleted session');
    assert.equal(await closeCode(barbaraStream), STREAM_CLOSE.sessionRevoked, 'a membership epoch');
    await assertOpen(edsgerStream, 'Edsger');
    await assertOpen(ownerStream, 'the owner');

    await t.ctx.database.db.updateTable('server_state').set({ not_before: Date.now() + 1 }).where('id', '=', 1).execute();
    await publishCredentialRecheck(t.ctx);
    assert.equal(await closeCode(edsgerStream), STREAM_CLOSE.sessionRevoked);
    assert.equal(await closeCode(ownerStream), STREAM_CLOSE.sessionRevoked);
    owner = await t.login(owner.email, owner.password);
  });

  test('rechecks requested together coalesce: one runs, one waits', async () => {
    const person = await t.signUpAndLogIn(slug);
    const open = await stream(person.token);
    // Earlier rechecks (from the bus and again from the revocation log) are over.
    await sleep(1_000);
    const start = t.app.gateway.stats.rechecks;
    // Straight onto the bus (publishRevocations would add the log's copies, 250 ms later).
    await t.ctx.bus.publish(Array.from({ length: 10 }, () => ({ kind: 'revoke' as const, scope: { kind: 'recheck' as const } })));
    const deadline = Date.now() + 5_000;
    while (t.app.gateway.stats.rechecks - start < 2 && Date.now() < deadline) await sleep(20);
    await sleep(500);
    assert.equal(t.app.gateway.stats.rechecks - start, 2, 'ten requests at once: the one running and the one waiting');
    await assertOpen(open, 'a person in good standing');
  });
});
