import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { STREAM_CLOSE } from '@conclave/protocol';
import { cliWorkspace, runCli } from '../testing/cli-process.ts';
import { recordSecret } from '../testing/secret-ledger.ts';
import { call, startServer } from '../testing/server-process.ts';
import { answersPing, closedWithin, isType, openStream } from '../testing/stream-client.ts';
import { closeTestPools, describeEachEngine, newEmail, newPassword } from '../testing/test-app.ts';

after(closeTestPools);

describeEachEngine('conclave sessions revoke beside a running server (no Redis)', (engine) => {
  test('the CLI revokes a person\'s sessions: their live socket on the server closes within a second, another person\'s stays', async () => {
    const workspace = await cliWorkspace(engine, 'revoke');
    // One-shot commands log warnings only; the server logs at info (startServer waits for its "listening" line).
    const cliEnv = { ...workspace.env, LOG_LEVEL: 'warn' };
    const ownerEmail = newEmail('owner');
    const ownerPassword = newPassword();
    const memberEmail = newEmail('member');
    const memberPassword = newPassword();
    const setup = await runCli(['setup', '--instance-slug', 'acme', '--instance-name', 'Acme', '--email', ownerEmail, '--display-name', 'Owner'], cliEnv, `${ownerPassword}\n`);
    assert.equal(setup.code, 0, setup.stderr);
    const created = await runCli(['user', 'create', '--email', memberEmail, '--display-name', 'Member', '--instance', 'acme'], cliEnv, `${memberPassword}\n`);
    assert.equal(created.code, 0, created.stderr);

    const server = await startServer(workspace.env);
    try {
      const logIn = async (email: string, password: string): Promise<string> => {
        const answer = await call(server.url, 'POST', '/api/v1/auth/login', { body: { email, password, mode: 'bearer' } });
        assert.equal(answer.status, 200, JSON.stringify(answer.body));
        const token = answer.body['token'] as string;
        recordSecret(token);
        return token;
      };
      const member = await openStream(server.url, { token: await logIn(memberEmail, memberPassword) });
      const owner = await openStream(server.url, { token: await logIn(ownerEmail, ownerPassword) });
      await member.next(isType('ready'));
      await owner.next(isType('ready'));

      const revoke = await runCli(['sessions', 'revoke', '--email', memberEmail], cliEnv);
      // The revocation was written before the CLI exited: from here the socket has a second.
      const revokedBy = Date.now();
      assert.equal(revoke.code, 0, revoke.stderr);
      const closed = await closedWithin(member);
      const elapsed = Date.now() - revokedBy;
      assert.equal(closed.code, STREAM_CLOSE.sessionRevoked);
      assert.ok(member.frames.some(isType('session.revoked')));
      assert.ok(elapsed < 1_000, `closed ${elapsed} ms after the CLI exited`);
      assert.ok(await answersPing(owner), 'the owner\'s socket is still open');
      owner.close();
    } finally {
      await server.stop();
      await workspace.close();
    }
  });
});
