import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { databaseUrlFor, runCli } from '../testing/cli-process.ts';
import { closeTestPools, createTestApp, describeEachEngine, type Client, type TestApp } from '../testing/test-app.ts';

after(closeTestPools);

describeEachEngine('conclave CLI: keys, scan, audit and shredding', (engine) => {
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

    const verified = await runCli(['audit', 'verify'], env);
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
    assert.match(verified.stdout, /The audit log is intact/);
    const report = JSON.parse((await runCli(['audit', 'verify', '--json'], env)).stdout) as { ok: boolean; workers: number };
    assert.ok(report.ok && report.workers > 0, 'the entries were recomputed in worker threads, which load under the CLI\'s TypeScript loader');
    const publicKey = (await runCli(['audit', 'public-key'], env)).stdout.trim().split(' ')[1] as string;
    assert.equal(publicKey, t.ctx.audit.publicKey.toString('base64'));
    const queried = await runCli(['audit', 'query', '--instance', slug, '--action', 'room.create,room.read', '--json'], env);
    assert.equal(queried.code, 0, queried.stderr);
    const actions = queried.stdout.trim().split('\n').map((line) => (JSON.parse(line) as { action: string }).action);
    assert.ok(actions.includes('room.create'), actions.join());
    assert.equal((await runCli(['audit', 'query', '--since', 'last tuesday'], env)).code, 1, 'a time that is not one');
    const bundlePath = join(env['CONCLAVE_DATA_DIR'] as string, '..', 'bundle.json');
    const exported = await runCli(['audit', 'export', '--instance', slug, '--out', bundlePath], env);
    assert.equal(exported.code, 0, exported.stderr);
    const offline = await runCli(['audit', 'verify', '--bundle', bundlePath, '--public-key', publicKey], {});
    assert.equal(offline.code, 0, offline.stdout + offline.stderr);
    assert.match(offline.stdout, /The bundle verifies: \d+ entries/);
    assert.equal((await runCli(['audit', 'verify', '--bundle', bundlePath], {})).code, 1, 'the trusted key is required');

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

    await t.ctx.database.db.updateTable('audit_entries').set({ action: 'nothing.happened' }).where('seq', '=', 3).execute();
    const tampered = await runCli(['audit', 'verify'], env);
    assert.equal(tampered.code, 1);
    assert.match(tampered.stdout, /NOT intact: first bad sequence number 3/);
  });
});
