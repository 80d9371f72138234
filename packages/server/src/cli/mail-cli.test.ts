import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { cliWorkspace, runCli } from '../testing/cli-process.ts';
import { recordSecret } from '../testing/secret-ledger.ts';
import { closeTestPools, createTestApp, describeEachEngine, newEmail, newPassword } from '../testing/test-app.ts';

after(closeTestPools);

describeEachEngine('conclave mail and user force-reset', (engine) => {
  let dir: string;
  let env: Record<string, string>;
  let schema: string | undefined;
  let workspace: Awaited<ReturnType<typeof cliWorkspace>>;

  before(async () => {
    workspace = await cliWorkspace(engine, 'mail-cli', { LOG_LEVEL: 'warn' });
    ({ dir, env, schema } = workspace);
  });
  after(() => workspace.close());

  test('without SMTP the reset mail waits in the outbox; mail show prints its link and the reset completes with it', async () => {
    const ownerEmail = newEmail('mail-owner');
    const setup = await runCli(['setup', '--instance-slug', 'acme', '--instance-name', 'Acme', '--email', ownerEmail, '--display-name', 'Owner'], env, `${newPassword()}\n`);
    assert.equal(setup.code, 0, setup.stderr);
    const memberEmail = newEmail('mail-member');
    const memberPassword = newPassword();
    assert.equal((await runCli(['user', 'create', '--email', memberEmail, '--display-name', 'Member', '--instance', 'acme'], env, `${memberPassword}\n`)).code, 0);

    const noScope = await runCli(['user', 'force-reset'], env);
    assert.equal(noScope.code, 1);
    assert.match(noScope.stderr, /exactly one scope/);
    const unconfirmed = await runCli(['user', 'force-reset', '--instance', 'acme'], env);
    assert.equal(unconfirmed.code, 1);
    assert.match(unconfirmed.stderr, /--yes/);
    const forced = await runCli(['user', 'force-reset', '--email', memberEmail], env);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stdout, /1 account\(s\), their sessions ended; 1 reset mail\(s\) queued/);
    assert.match(forced.stdout, /SMTP_URL is not set/);

    const list = await runCli(['mail', 'list', '--json'], env);
    assert.equal(list.code, 0, list.stderr);
    const rows = list.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, string>);
    assert.equal(rows.length, 1);
    assert.deepEqual([rows[0]!['to'], rows[0]!['status'], rows[0]!['kind']], [memberEmail, 'queued', 'password_reset']);
    const table = await runCli(['mail', 'list'], env);
    assert.match(table.stdout, /Outbox: 1 queued, 0 sending, 0 sent, 0 failed/);
    const missing = await runCli(['mail', 'show', '01900000-0000-7000-8000-000000000000'], env);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /No mail with id/);

    const shown = await runCli(['mail', 'show', rows[0]!['id']!], env);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, new RegExp(`^To: ${memberEmail.replaceAll('.', '\\.')}$`, 'm'));
    assert.match(shown.stdout, /^Subject: Choose a new Conclave password$/m);
    const token = /#token=(cnv_r_[A-Za-z0-9_-]{43})/.exec(shown.stdout)?.[1];
    assert.ok(token, 'the whole mail, link included');
    recordSecret(token);

    // The server on the same storage completes the reset with the link the operator read.
    const app = await createTestApp(engine, {}, { dir, pgSchema: schema });
    try {
      const refused = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: memberEmail, password: memberPassword } });
      assert.equal(refused.statusCode, 403);
      const fresh = newPassword();
      const done = await app.inject({ method: 'POST', url: '/api/v1/auth/password-reset/confirm', payload: { token, newPassword: fresh } });
      assert.equal(done.statusCode, 200, done.body);
      assert.equal((await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: memberEmail, password: fresh } })).statusCode, 200);
    } finally {
      await app.close();
    }
    const everyone = await runCli(['user', 'force-reset', '--everyone', '--yes'], env);
    assert.equal(everyone.code, 0, everyone.stderr);
    assert.match(everyone.stdout, /every account: 2 account\(s\)/);
  });
});
