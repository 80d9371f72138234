import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { cliWorkspace } from '../testing/cli-process.ts';
import { call, startServer } from '../testing/server-process.ts';
import { resetTokenIn, startSmtpSink } from '../testing/smtp-sink.ts';
import { closeTestPools, createTestApp, describeEachEngine, newEmail } from '../testing/test-app.ts';
import { testLogDir } from '../testing/test-env.ts';

after(closeTestPools);

describeEachEngine('conclave serve delivers mail', (engine) => {
  let dir: string;
  let env: Record<string, string>;
  let schema: string | undefined;
  let workspace: Awaited<ReturnType<typeof cliWorkspace>>;

  before(async () => {
    workspace = await cliWorkspace(engine, 'mail-serve', { CONCLAVE_TEST_LOG_DIR: testLogDir() });
    ({ dir, env, schema } = workspace);
  });
  after(() => workspace.close());

  test('without SMTP_URL the banner says where mail waits; with it, what waited goes out, new mail follows, SIGTERM exits 0', async () => {
    // A reset asked for while nothing could send it.
    const app = await createTestApp(engine, {}, { dir, pgSchema: schema });
    let email: string;
    try {
      const { owner } = await app.setUp();
      email = owner.email;
      assert.equal((await app.inject({ method: 'POST', url: '/api/v1/auth/password-reset', payload: { email } })).statusCode, 202);
    } finally {
      await app.close();
    }
    const bare = await startServer(env);
    try {
      assert.match(bare.output(), /SMTP_URL is not set: mail waits in the outbox/);
    } finally {
      assert.equal(await bare.stop('SIGTERM'), 0);
    }

    const sink = await startSmtpSink();
    const server = await startServer({ ...env, SMTP_URL: sink.url });
    try {
      await sink.waitFor(1);
      assert.equal(sink.received[0]!.to, email);
      resetTokenIn(sink.received[0]!);
      const ghost = newEmail('ghost');
      assert.equal((await call(server.url, 'POST', '/api/v1/auth/password-reset', { body: { email: ghost } })).status, 202);
      assert.equal((await call(server.url, 'POST', '/api/v1/auth/password-reset', { body: { email } })).status, 202);
      await sink.waitFor(2);
      assert.equal(sink.received[1]!.to, email, 'the second mail is the known email\'s; the unknown one got none');
      resetTokenIn(sink.received[1]!);
    } finally {
      assert.equal(await server.stop('SIGTERM'), 0, 'a clean shutdown');
      await sink.close();
    }
    assert.equal(sink.received.length, 2);
  });
});
