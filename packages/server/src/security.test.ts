import assert from 'node:assert/strict';
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Writable } from 'node:stream';
import { loadConfig } from './config/config.ts';
import { keyPath, readKey } from './crypto/index.ts';
import { createLogger } from './http/logger.ts';
import { createServices, StartupError } from './services.ts';
import { dumpDatabase } from './testing/dump.ts';
import { closeTestPools, createTestApp, describeEachEngine, newPassword, type Client, type TestApp } from './testing/test-app.ts';

after(closeTestPools);

describeEachEngine('security invariants', (engine) => {
  let t: TestApp;
  let owner: Client;
  const secrets: string[] = [];

  before(async () => {
    t = await createTestApp(engine);
    const setup = await t.setUp();
    owner = setup.owner;
    const invite = await t.as(owner, { method: 'POST', url: `/api/v1/instances/${setup.instanceId}/invites`, payload: {} });
    const inviteToken = invite.json<{ token: string }>().token;
    const member = await t.signUpAndLogIn(setup.instanceSlug, { inviteToken });
    const bearer = await t.login(member.email, member.password, 'bearer');
    const pepper = await readKey(t.ctx.config.keysDir, 'pepper');
    const master = await readKey(t.ctx.config.keysDir, 'master');
    assert.ok(pepper && master);
    secrets.push(owner.password, owner.token, member.password, member.token, bearer.token, inviteToken, pepper.toString('base64'), pepper.toString('hex'));
    secrets.push(master.toString('base64'), master.toString('hex'), owner.email, member.email);
  });
  after(() => t.close());

  test('a dump of every table holds no password, session, bearer or invite token, no pepper or master key, no email', async () => {
    const dump = await dumpDatabase(t);
    assert.ok(dump.includes(owner.accountId), 'the dump is real (it has the owner\'s account id)');
    for (const secret of secrets) assert.ok(!dump.includes(secret), `a secret starting ${secret.slice(0, 6)} is in the database`);
  });

  test('the keys live outside the data directory, the pepper file readable by its owner only', async () => {
    const { keysDir, dataDir } = t.ctx.config;
    assert.ok(!keysDir.startsWith(`${dataDir}/`) && keysDir !== dataDir);
    assert.equal((await stat(keyPath(keysDir, 'pepper'))).mode & 0o777, 0o600);
    assert.equal((await stat(keysDir)).mode & 0o777, 0o700);
    if (engine === 'sqlite') {
      const files = await readdir(dataDir);
      assert.ok(!files.some((f) => f.endsWith('.key')), `no key files in the data directory: ${files.join(', ')}`);
      const pepper = (await readKey(keysDir, 'pepper')) as Buffer;
      const master = (await readKey(keysDir, 'master')) as Buffer;
      for (const file of files) {
        const bytes = await readFile(join(dataDir, file));
        assert.equal(bytes.indexOf(pepper), -1, `raw pepper bytes in ${file}`);
        assert.equal(bytes.indexOf(master), -1, `raw master key bytes in ${file}`);
        for (const secret of secrets) assert.equal(bytes.indexOf(Buffer.from(secret)), -1, `a secret is in the bytes of ${file}`);
      }
    }
  });
});

describeEachEngine('keys and start-up', (engine) => {
  test('start-up refuses a missing or different pepper instead of making a new one', async () => {
    const fresh = await createTestApp(engine);
    const keysDir = fresh.ctx.config.keysDir;
    const original = await readFile(keyPath(keysDir, 'pepper'), 'utf8');
    await fresh.app.close();
    await fresh.ctx.close();
    const config = loadConfig(fresh.env);
    const options = fresh.pgSchema ? { pgSchema: fresh.pgSchema, logger: createLogger('silent') } : { logger: createLogger('silent') };
    try {
      await rm(keyPath(keysDir, 'pepper'));
      await assert.rejects(createServices(config, options), (error: unknown) => error instanceof StartupError && /is missing/.test(error.message) && /Restore the keys directory/.test(error.message));
      await assert.rejects(readFile(keyPath(keysDir, 'pepper')), 'no new pepper was made');
      await writeFile(keyPath(keysDir, 'pepper'), `${Buffer.alloc(32, 9).toString('base64')}\n`, { mode: 0o600 });
      await assert.rejects(createServices(config, options), (error: unknown) => error instanceof StartupError && /is not the pepper/.test(error.message));
      await writeFile(keyPath(keysDir, 'pepper'), original, { mode: 0o600 });
      const services = await createServices(config, options);
      await services.close();
    } finally {
      await fresh.close().catch(() => undefined);
    }
  });
});

test('logs redact authorization, cookies, CSRF tokens, passwords and tokens at every level', () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const logger = createLogger('trace', sink);
  const password = newPassword();
  logger.trace({ req: { method: 'POST', url: '/api/v1/auth/login?token=cnv_s_querytoken12345', headers: { authorization: 'Bearer cnv_s_headertoken12345', cookie: 'conclave_session=cnv_s_cookietoken12345', 'x-csrf-token': 'csrf-secret-12345' } } }, 'incoming');
  logger.info({ password, token: 'cnv_s_bodytoken12345', body: { newPassword: password, setupToken: 'cnv_setup_12345678' } }, 'careless');
  // As @fastify/multipart logs busboy's options at trace level: the request's headers under another name.
  logger.trace({ busboyOptions: { headers: { cookie: 'conclave_session=cnv_s_busboycookie12345', authorization: 'Bearer cnv_s_busboybearer12345', 'x-csrf-token': 'csrf-busboy-12345' } } }, 'Providing options to busboy');
  const text = lines.join('');
  for (const secret of ['cnv_s_busboycookie12345', 'cnv_s_busboybearer12345', 'csrf-busboy-12345', 'cnv_s_querytoken12345', 'cnv_s_headertoken12345', 'cnv_s_cookietoken12345', 'csrf-secret-12345', password, 'cnv_s_bodytoken12345', 'cnv_setup_12345678']) {
    assert.ok(!text.includes(secret), `${secret.slice(0, 8)} reached the log`);
  }
  assert.match(text, /\[redacted\]/);
});
