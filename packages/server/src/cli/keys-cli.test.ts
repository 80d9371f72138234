import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { databaseUrlFor, runCli } from '../testing/cli-process.ts';
import { closeTestPools, createTestApp, describeEachEngine, type Client, type TestApp } from '../testing/test-app.ts';

after(closeTestPools);

describeEachEngine('conclave CLI: keys, scan and shredding', (engine) => {
  let t: TestApp;
  let owner: Client;
  let slug: string;
  let env: Record<string, string>;

  before(async () => {
    t = await createTestApp(engine);
    const setup = await t.setUp();
    owner = setup.owner;
    slug = setup.instanceSlug;
    const room = (await t.as(owner, { method: 'POST', url: `/api/v1/instances/${setup.instanceId}/rooms`, payload: { name: 'Ops' } })).json<{ id: string }>().id;
    await t.as(owner, { method: 'POST', url: `/api/v1/rooms/${room}/messages`, payload: { body: 'rotate me' } });
    env = {
      CONCLAVE_DATA_DIR: t.env['CONCLAVE_DATA_DIR'] as string,
      CONCLAVE_KEYS_DIR: t.env['CONCLAVE_KEYS_DIR'] as string,
      CONCLAVE_AUDIT_WITNESS: t.env['CONCLAVE_AUDIT_WITNESS'] as string,
      ...(t.pgSchema ? { DATABASE_URL: databaseUrlFor(t.pgSchema) } : {}),
    };
  });
  after(() => t.close());

  test('doctor --scan, keys rotate, keys rotate-master, instance delete --shred', async () => {
    const scan = await runCli(['doctor', '--scan'], env);
    assert.equal(scan.code, 0, scan.stdout + scan.stderr);
    assert.match(scan.stdout, /ok +scan .*every one is ciphertext or a hash/);

    const rotate = await runCli(['keys', 'rotate', '--instance', slug], env);
    assert.equal(rotate.code, 0, rotate.stderr);
    assert.match(rotate.stdout, /key-encryption key version 2; \d+ data key\(s\) re-wrapped.*no message was rewritten/);
    const unknown = await runCli(['keys', 'rotate', '--instance', 'nope'], env);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /INSTANCE_NOT_FOUND/);
    assert.equal((await runCli(['keys', 'rotate'], env)).code, 2, 'the instance is required');

    const rotateMaster = await runCli(['keys', 'rotate-master'], env);
    assert.equal(rotateMaster.code, 0, rotateMaster.stderr);
    assert.match(rotateMaster.stdout, /The old master key is kept at .*retired/);
    const members = await runCli(['user', 'list', '--instance', slug, '--json'], env);
    assert.equal(members.code, 0, members.stderr);
    assert.ok(members.stdout.includes(owner.email), 'names and emails still open under the new master key');
    const doctor = await runCli(['doctor'], env);
    assert.match(doctor.stdout, /ok +master/, 'the new master key matches the database');

    const unconfirmed = await runCli(['instance', 'delete', slug, '--shred'], env);
    assert.equal(unconfirmed.code, 1);
    assert.match(unconfirmed.stderr, /--yes/);
    const shred = await runCli(['instance', 'delete', slug, '--shred', '--yes'], env);
    assert.equal(shred.code, 0, shred.stderr);
    assert.match(shred.stdout, new RegExp(`Shredded: \\d+ key\\(s\\) of ${slug} destroyed`));
    assert.match(shred.stdout, /take a fresh backup now/);
    assert.equal((await runCli(['user', 'list', '--instance', slug], env)).code, 1, 'the instance is gone');
    const after = await runCli(['doctor', '--scan'], env);
    assert.equal(after.code, 0, after.stdout);
  });
});
