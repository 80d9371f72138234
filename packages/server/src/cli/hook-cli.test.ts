import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { CreateIncomingHookResponse, CreateOutgoingHookResponse, Room } from '@conclave/protocol';
import { cliWorkspace, runCli } from '../testing/cli-process.ts';
import { closeTestPools, createTestApp, describeEachEngine, type TestApp } from '../testing/test-app.ts';

after(closeTestPools);

describeEachEngine('conclave hook', (engine) => {
  let workspace: Awaited<ReturnType<typeof cliWorkspace>>;
  let t: TestApp;

  before(async () => {
    workspace = await cliWorkspace(engine, 'hook-cli', { LOG_LEVEL: 'warn' });
    t = await createTestApp(engine, { WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' }, { dir: workspace.dir, pgSchema: workspace.schema });
  });
  after(async () => {
    await t.close();
    await workspace.close();
  });

  test('lists hooks without their secrets, reads the delivery log, revokes a hook (its URL answers 410)', async () => {
    const { owner, instanceId } = await t.setUp();
    const room = (await t.as(owner, { method: 'POST', url: `/api/v1/instances/${instanceId}/rooms`, payload: { name: 'ops' } })).json<Room>();
    const incoming = (await t.as(owner, { method: 'POST', url: `/api/v1/rooms/${room.id}/hooks/incoming`, payload: { name: 'Alerts' } })).json<CreateIncomingHookResponse>();
    const outgoing = (await t.as(owner, { method: 'POST', url: `/api/v1/rooms/${room.id}/hooks/outgoing`, payload: { name: 'Pager', url: 'http://127.0.0.1:9/pager', events: ['message'] } })).json<CreateOutgoingHookResponse>();
    await t.post(owner, room.id, 'disk almost full');

    const list = await runCli(['hook', 'list', '--json'], workspace.env);
    assert.equal(list.code, 0, list.stderr);
    assert.ok(!list.stdout.includes(incoming.token) && !list.stdout.includes(outgoing.secret), 'no token, no secret');
    const hooks = list.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, string>);
    assert.deepEqual(hooks.map((h) => [h['id'], h['kind'], h['name'], h['target']]).sort(), [[incoming.id, 'incoming', 'Alerts', '-'], [outgoing.id, 'outgoing', 'Pager', '127.0.0.1:9']].sort());

    const deliveries = await runCli(['hook', 'deliveries', '--json', '--hook', outgoing.id], workspace.env);
    assert.equal(deliveries.code, 0, deliveries.stderr);
    const [delivery] = deliveries.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, string | number>);
    assert.equal(delivery?.['status'], 'queued');
    assert.equal(delivery?.['event'], 'message.created');
    const badStatus = await runCli(['hook', 'deliveries', '--status', 'lost'], workspace.env);
    assert.equal(badStatus.code, 1);
    assert.match(badStatus.stderr, /--status must be one of queued, sending, delivered, failed/);

    const revoked = await runCli(['hook', 'revoke', incoming.id], workspace.env);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.match(revoked.stdout, /Revoked the incoming webhook/);
    const post = await t.inject({ method: 'POST', url: `/hooks/incoming/${incoming.token}`, payload: '{"text":"after"}', headers: { 'content-type': 'application/json' } });
    assert.equal(post.statusCode, 410);
    const again = await runCli(['hook', 'revoke', incoming.id], workspace.env);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /No live webhook/);
  });
});
