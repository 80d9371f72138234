import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { Bot, CreateIncomingHookResponse, CreateOutgoingHookResponse, HookDelivery, IncomingHook, Message, Room, ServerFrame } from '@conclave/protocol';
import { Writable } from 'node:stream';
import { createLogger } from '../http/logger.ts';
import { isType, openStream, type StreamClient } from '../testing/stream-client.ts';
import { bumpInstanceEpoch } from '../instances/index.ts';
import { closeTestPools, createTestApp, describeEachEngine, type Client, type TestApp } from '../testing/test-app.ts';
import { claimDeliveries } from './delivery.queries.ts';
import { createDeliveryWorker, signatureOf, verifySignature } from './index.ts';
import { isPrivateAddress } from './outgoing-hook.target.ts';

after(closeTestPools);

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/** A real HTTP receiver on 127.0.0.1: answers with the statuses given in turn (then 200), keeps what it got. */
const startReceiver = async (statuses: number[] = []): Promise<{ url: string; received: Received[]; server: Server }> => {
  const received: Received[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      response.statusCode = statuses.shift() ?? 200;
      response.end('thanks');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/conclave`, received, server };
};

test('a webhook URL\'s token never reaches the log: the path is logged with it redacted, and no query string', async () => {
  const lines: string[] = [];
  const sink = new Writable({ write: (chunk: Buffer, _encoding, done) => { lines.push(chunk.toString()); done(); } });
  const log = createLogger('info', sink);
  log.info({ req: { id: '1', method: 'POST', url: '/hooks/incoming/cnv_wh_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abc' } }, 'request completed');
  log.info({ req: { id: '2', method: 'POST', url: '/v2/room/x/notification?auth_token=cnv_wh_secretsecretsecret' } }, 'request completed');
  await new Promise((resolve) => setImmediate(resolve));
  const text = lines.join('');
  assert.ok(text.includes('/hooks/incoming/[redacted]'), text);
  assert.ok(!text.includes('cnv_wh_'), text);
});

describeEachEngine('integrations: incoming webhooks, outgoing webhooks, bots', (engine) => {
  let t: TestApp;
  let base: string;
  let owner: Client;
  let member: Client;
  let instanceId: string;
  let ownerStream: StreamClient;
  const servers: Server[] = [];
  const realNow = Date.now;

  const makeRoom = async (name: string): Promise<Room> => {
    const response = await t.as(owner, { method: 'POST', url: `/api/v1/instances/${instanceId}/rooms`, payload: { name: `${name}-${Math.random().toString(36).slice(2, 8)}` } });
    assert.equal(response.statusCode, 201, response.body);
    return response.json<Room>();
  };
  const makeIncoming = async (roomId: string, name = 'Deploys'): Promise<CreateIncomingHookResponse> => {
    const response = await t.as(owner, { method: 'POST', url: `/api/v1/rooms/${roomId}/hooks/incoming`, payload: { name } });
    assert.equal(response.statusCode, 201, response.body);
    return response.json<CreateIncomingHookResponse>();
  };
  const slackPost = (token: string, payload: string, contentType = 'application/json') =>
    t.inject({ method: 'POST', url: `/hooks/incoming/${token}`, payload, headers: { 'content-type': contentType } });
  const history = async (roomId: string): Promise<Message[]> => {
    const response = await t.as(owner, { method: 'GET', url: `/api/v1/rooms/${roomId}/messages` });
    assert.equal(response.statusCode, 200, response.body);
    return response.json<{ messages: Message[] }>().messages;
  };
  const messageFrame = (roomId: string, text: string) =>
    ownerStream.next<Extract<ServerFrame, { type: 'message.created' }>>(isType('message.created', (f) => f['roomId'] === roomId && (f['message'] as Message).body === text));

  before(async () => {
    t = await createTestApp(engine, { WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true', WEBHOOK_RATE_LIMIT: '5/1m' });
    ({ owner, member, instanceId } = await t.setUpWithMember());
    base = await t.listen();
    ownerStream = await openStream(base, { token: (await t.login(owner.email, owner.password, 'bearer')).token });
    await ownerStream.next(isType('ready'));
  });
  after(async () => {
    t.ctx.now = realNow;
    ownerStream.close();
    for (const server of servers) server.close();
    await t.close();
  });

  test('a Slack payload posts through the normal path: ok as text/plain, on the socket, in history and search, shown as the hook', async () => {
    const room = await makeRoom('slack');
    const hook = await makeIncoming(room.id, 'Deploys');
    assert.match(hook.token, /^cnv_wh_/);
    assert.equal(hook.url, `${t.ctx.config.publicUrl.href.replace(/\/$/, '')}/hooks/incoming/${hook.token}`);
    // Only the hash is kept.
    const stored = await t.ctx.database.db.selectFrom('incoming_hooks').selectAll().where('id', '=', hook.id).executeTakeFirstOrThrow();
    assert.notEqual(stored.token_hash, hook.token);
    assert.ok(!JSON.stringify(stored).includes(hook.token));

    const frame = messageFrame(room.id, 'Deployed api v2.3 to production');
    const response = await slackPost(hook.token, JSON.stringify({ text: 'Deployed api v2.3 to production', username: 'deploy-bot', icon_emoji: ':rocket:', channel: '#ignored' }));
    assert.equal(response.statusCode, 200, response.body);
    assert.equal(response.body, 'ok');
    assert.match(String(response.headers['content-type']), /^text\/plain/);
    const { message } = await frame;
    assert.equal(message.authorId, hook.botAccountId);
    assert.deepEqual(message.via, { kind: 'webhook', id: hook.id, name: 'deploy-bot', icon: ':rocket:' });
    const [stored1] = (await history(room.id)).filter((m) => m.id === message.id);
    assert.deepEqual(stored1?.via, message.via, 'the name it posted under survives in history (sealed at rest)');
    const row = await t.ctx.database.db.selectFrom('messages').select(['body', 'via']).where('id', '=', message.id).executeTakeFirstOrThrow();
    assert.match(row.body, /^cv1\./);
    assert.match(String(row.via), /^cv1\./);
    const search = await t.as(owner, { method: 'GET', url: `/api/v1/search?q=deployed%20production&roomId=${room.id}` });
    assert.equal(search.statusCode, 200, search.body);
    assert.deepEqual(search.json<{ results: Array<{ message: Message }> }>().results.map((r) => r.message.id), [message.id]);
    // The hook's account shows as a bot among the members.
    const members = await t.as(owner, { method: 'GET', url: `/api/v1/instances/${instanceId}/members` });
    const listed = members.json<{ members: Array<{ accountId: string; isBot: boolean }> }>().members;
    assert.equal(listed.find((m) => m.accountId === hook.botAccountId)?.isBot, true);
    assert.equal(listed.find((m) => m.accountId === owner.accountId)?.isBot, false);
  });

  test('Slack attachments, blocks and form posts are rendered to text', async () => {
    const room = await makeRoom('render');
    const hook = await makeIncoming(room.id, 'CI');
    const attachments = await slackPost(hook.token, fixture('slack-attachments.json'));
    assert.equal(attachments.statusCode, 200, attachments.body);
    const blocks = await slackPost(hook.token, fixture('slack-blocks.json'));
    assert.equal(blocks.statusCode, 200, blocks.body);
    const form = await slackPost(hook.token, `payload=${encodeURIComponent(JSON.stringify({ text: 'from a form & <https://x.example.org|a link>' }))}`, 'application/x-www-form-urlencoded; charset=utf-8');
    assert.equal(form.statusCode, 200, form.body);
    const charset = await slackPost(hook.token, JSON.stringify({ text: 'with a charset' }), 'application/json; charset=utf-8');
    assert.equal(charset.statusCode, 200, charset.body);
    const [first, second, third, fourth] = await history(room.id);
    assert.equal(fourth?.body, 'with a charset');
    assert.equal(first?.body, 'Build finished\nBuild #42 (https://ci.example.org/builds/42)\nAll 318 tests passed on main\nBranch: main\nDuration: 3m 12s\nCoverage went up to 91.4% (+0.3)');
    assert.equal(first?.via?.name, 'CI');
    assert.equal(
      second?.body,
      'INC-7: checkout latency\n*Severity:* high & rising. See the incident page (https://status.example.org/inc/7) @here\n---\n*Owner*\nPat\np99 1.8 s\nopened by pager',
    );
    assert.equal(second?.via?.name, 'CI', 'without a username the hook\'s name shows');
    assert.equal(third?.body, 'from a form & a link (https://x.example.org)');
  });

  test('HipChat room notifications: HTML becomes text (no script survives), text stays text, 204; bearer or auth_token', async () => {
    const room = await makeRoom('hipchat');
    const hook = await makeIncoming(room.id, 'Legacy');
    assert.equal(hook.hipchatUrl, `${t.ctx.config.publicUrl.href.replace(/\/$/, '')}/v2/room/${room.id}/notification`);
    const frame = messageFrame(room.id, 'Deploy of release 7 (https://deploy.example.org/releases/7) finished');
    const html = await t.inject({ method: 'POST', url: `/v2/room/${room.id}/notification`, payload: fixture('hipchat-html.json'), headers: { 'content-type': 'application/json', authorization: `Bearer ${hook.token}` } });
    assert.equal(html.statusCode, 204, html.body);
    const { message } = await frame;
    assert.ok(!/script|alert|onerror|<|>/.test(message.body));
    assert.equal(message.via?.name, 'Deployer');
    const text = await t.inject({ method: 'POST', url: `/v2/room/${room.id}/notification?auth_token=${hook.token}`, payload: fixture('hipchat-text.json'), headers: { 'content-type': 'application/json' } });
    assert.equal(text.statusCode, 204, text.body);
    assert.equal((await history(room.id)).at(-1)?.body, 'Nightly backup (db-2) completed <not html> in 14 min');
    // A token answers only for its own room; no token at all is unauthenticated.
    const other = await makeRoom('other');
    const wrongRoom = await t.inject({ method: 'POST', url: `/v2/room/${other.id}/notification`, payload: fixture('hipchat-text.json'), headers: { 'content-type': 'application/json', authorization: `Bearer ${hook.token}` } });
    assert.equal(wrongRoom.statusCode, 404);
    assert.equal(wrongRoom.json().error.code, 'ROOM_NOT_FOUND');
    const none = await t.inject({ method: 'POST', url: `/v2/room/${room.id}/notification`, payload: fixture('hipchat-text.json'), headers: { 'content-type': 'application/json' } });
    assert.equal(none.statusCode, 401);
    const badColor = await t.inject({ method: 'POST', url: `/v2/room/${room.id}/notification?auth_token=${hook.token}`, payload: JSON.stringify({ message: 'x', color: 'blue' }), headers: { 'content-type': 'application/json' } });
    assert.equal(badColor.statusCode, 400);
    assert.equal(badColor.json().error.code, 'HOOK_INVALID_PAYLOAD');
  });

  test('bad inputs answer what Slack senders expect, with the catalog code beside, and post nothing', async () => {
    const room = await makeRoom('bad');
    const hook = await makeIncoming(room.id);
    const cases: Array<[string, string, string, number, string, string]> = [
      ['malformed JSON', '{"text": "unterminated', 'application/json', 400, 'invalid_payload', 'MALFORMED_JSON'],
      ['wrong content type', 'text=hello', 'text/plain', 415, 'invalid_payload', 'UNSUPPORTED_MEDIA_TYPE'],
      ['not an object', '["text"]', 'application/json', 400, 'invalid_payload', 'HOOK_INVALID_PAYLOAD'],
      ['text not a string', '{"text": 42}', 'application/json', 400, 'invalid_payload', 'HOOK_INVALID_PAYLOAD'],
      ['missing text', '{"username": "nobody"}', 'application/json', 400, 'no_text', 'HOOK_NO_TEXT'],
      ['blank text', '{"text": "  \\u0007 "}', 'application/json', 400, 'no_text', 'HOOK_NO_TEXT'],
      ['a form without payload', 'text=hello', 'application/x-www-form-urlencoded', 400, 'invalid_payload', 'HOOK_INVALID_PAYLOAD'],
      ['prototype poisoning', '{"text": "x", "__proto__": {"admin": true}}', 'application/json', 400, 'invalid_payload', 'MALFORMED_JSON'],
    ];
    for (const [what, payload, type, status, slack, code] of cases) {
      const response = await slackPost(hook.token, payload, type);
      assert.equal(response.statusCode, status, `${what}: ${response.body}`);
      assert.equal(response.body, slack, what);
      assert.equal(response.headers['x-conclave-error'], code, what);
    }
    const unknown = await slackPost('cnv_wh_nonexistentnonexistentnonexistent', '{"text":"hi"}');
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.body, 'no_service');
    assert.equal(unknown.headers['x-conclave-error'], 'HOOK_NOT_FOUND');
    assert.deepEqual(await history(room.id), [], 'nothing was posted');
  });

  test('an oversized payload answers 413 with a catalog code (body limit, and text that would be too long)', async () => {
    const room = await makeRoom('big');
    const hook = await makeIncoming(room.id);
    const huge = await slackPost(hook.token, JSON.stringify({ text: 'x'.repeat(200 * 1024) }));
    assert.equal(huge.statusCode, 413);
    assert.equal(huge.body, 'msg_too_long');
    assert.equal(huge.headers['x-conclave-error'], 'PAYLOAD_TOO_LARGE');
    const long = await slackPost(hook.token, JSON.stringify({ text: 'y'.repeat(10_001) }));
    assert.equal(long.statusCode, 413);
    assert.equal(long.headers['x-conclave-error'], 'HOOK_PAYLOAD_TOO_LARGE');
    const hipchat = await t.inject({ method: 'POST', url: `/v2/room/${room.id}/notification?auth_token=${hook.token}`, payload: JSON.stringify({ message: 'z'.repeat(200 * 1024) }), headers: { 'content-type': 'application/json' } });
    assert.equal(hipchat.statusCode, 413);
    assert.equal(hipchat.json().error.code, 'PAYLOAD_TOO_LARGE');
    assert.deepEqual(await history(room.id), []);
  });

  test('a revoked hook answers 410 with a clear code; an archived room refuses; posting too fast answers 429', async () => {
    const room = await makeRoom('revoke');
    const hook = await makeIncoming(room.id);
    assert.equal((await slackPost(hook.token, '{"text":"before"}')).statusCode, 200);
    const byMember = await t.as(member, { method: 'DELETE', url: `/api/v1/rooms/${room.id}/hooks/incoming/${hook.id}` });
    assert.equal(byMember.statusCode, 403, 'a public room\'s hooks are for its owner and the admins');
    assert.equal(byMember.json().error.code, 'FORBIDDEN');
    const revoked = await t.as(owner, { method: 'DELETE', url: `/api/v1/rooms/${room.id}/hooks/incoming/${hook.id}` });
    assert.equal(revoked.statusCode, 204, revoked.body);
    const after1 = await slackPost(hook.token, '{"text":"after"}');
    assert.equal(after1.statusCode, 410);
    assert.equal(after1.headers['x-conclave-error'], 'HOOK_REVOKED');
    const hipchat = await t.inject({ method: 'POST', url: `/v2/room/${room.id}/notification?auth_token=${hook.token}`, payload: '{"message":"after"}', headers: { 'content-type': 'application/json' } });
    assert.equal(hipchat.statusCode, 410);
    assert.equal(hipchat.json().error.code, 'HOOK_REVOKED');
    const list = await t.as(owner, { method: 'GET', url: `/api/v1/rooms/${room.id}/hooks/incoming` });
    const listed = list.json<{ hooks: IncomingHook[] }>().hooks;
    assert.equal(listed.length, 1);
    assert.notEqual(listed[0]?.revokedAt, null);
    assert.ok(!list.body.includes('cnv_wh_'), 'the list never shows a URL');
    assert.deepEqual((await history(room.id)).map((m) => m.body), ['before']);

    const archivedRoom = await makeRoom('archived');
    const archivedHook = await makeIncoming(archivedRoom.id);
    assert.equal((await t.as(owner, { method: 'POST', url: `/api/v1/rooms/${archivedRoom.id}/archive` })).statusCode, 200);
    const archived = await slackPost(archivedHook.token, '{"text":"into the archive"}');
    assert.equal(archived.statusCode, 409);
    assert.equal(archived.body, 'channel_is_archived');

    const fast = await makeIncoming(room.id, 'Chatty');
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await slackPost(fast.token, JSON.stringify({ text: `tick ${i}` }))).statusCode);
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429]);
    const limited = await slackPost(fast.token, '{"text":"again"}');
    assert.equal(limited.body, 'rate_limited');
    assert.ok(Number(limited.headers['retry-after']) > 0);
  });

  test('only a room\'s owner or an instance admin manages its hooks', async () => {
    const response = await t.as(member, { method: 'POST', url: `/api/v1/instances/${instanceId}/rooms`, payload: { name: `members-${Date.now()}` } });
    const room = response.json<Room>();
    // The member owns this room: allowed. The instance owner is an admin: allowed too.
    assert.equal((await t.as(member, { method: 'POST', url: `/api/v1/rooms/${room.id}/hooks/incoming`, payload: { name: 'mine' } })).statusCode, 201);
    const ownersRoom = await makeRoom('owners');
    const joined = await t.as(member, { method: 'POST', url: `/api/v1/rooms/${ownersRoom.id}/join` });
    assert.equal(joined.statusCode, 204);
    const refused = await t.as(member, { method: 'POST', url: `/api/v1/rooms/${ownersRoom.id}/hooks/outgoing`, payload: { name: 'x', url: 'https://example.org/x', events: ['message'] } });
    assert.equal(refused.statusCode, 403);
    assert.equal(refused.json().error.code, 'FORBIDDEN');
  });

  test('outgoing: a matching message is delivered signed (verified with openssl); others are not; the log and the audit record it', async () => {
    const receiver = await startReceiver();
    servers.push(receiver.server);
    const room = await makeRoom('outgoing');
    const created = await t.as(owner, { method: 'POST', url: `/api/v1/rooms/${room.id}/hooks/outgoing`, payload: { name: 'Deploy listener', url: receiver.url, events: ['message', 'topic'], pattern: 'Deploy' } });
    assert.equal(created.statusCode, 201, created.body);
    const hook = created.json<CreateOutgoingHookResponse>();
    assert.match(hook.secret, /^cnv_whsec_/);
    const stored = await t.ctx.database.db.selectFrom('outgoing_hooks').selectAll().where('id', '=', hook.id).executeTakeFirstOrThrow();
    assert.ok(!JSON.stringify(stored).includes(hook.secret) && !JSON.stringify(stored).includes('127.0.0.1'), 'URL and secret are sealed at rest');

    const matching = await t.post(owner, room.id, 'please deploy the api now');
    await t.post(owner, room.id, 'lunch?');
    const topic = await t.as(owner, { method: 'PATCH', url: `/api/v1/rooms/${room.id}`, payload: { topic: 'releases' } });
    assert.equal(topic.statusCode, 200);
    const worker = createDeliveryWorker(t.ctx, { backoffBaseMs: 10 });
    while ((await worker.runOnce()) > 0);
    assert.equal(receiver.received.length, 2, 'the matching message and the topic change; not the lunch question');
    // Deliveries go out concurrently: a receiver orders by seq, not by arrival.
    const first = receiver.received.find((r) => r.headers['x-conclave-event'] === 'message.created');
    const second = receiver.received.find((r) => r.headers['x-conclave-event'] === 'room.updated');
    assert.ok(first && second);
    const body = JSON.parse(first.body) as { id: string; type: string; roomId: string; data: { message: { id: string; text: string } } };
    assert.equal(body.type, 'message.created');
    assert.equal(body.data.message.id, matching.id);
    assert.equal(body.data.message.text, 'please deploy the api now');
    assert.equal(first.headers['x-conclave-event'], 'message.created');
    assert.equal(first.headers['x-conclave-delivery'], body.id);
    assert.equal(JSON.parse(second.body).data.room.topic, 'releases');

    // An independent implementation: openssl over "<timestamp>.<body>".
    const timestamp = String(first.headers['x-conclave-timestamp']);
    const openssl = execFileSync('openssl', ['dgst', '-sha256', '-hmac', hook.secret], { input: `${timestamp}.${first.body}` }).toString().trim();
    const hex = openssl.split('= ').at(-1);
    assert.equal(first.headers['x-conclave-signature'], `v1=${hex}`);
    assert.ok(verifySignature(hook.secret, { timestamp, signature: String(first.headers['x-conclave-signature']) }, first.body, Math.floor(Date.now() / 1000)));

    const log = await t.as(owner, { method: 'GET', url: `/api/v1/rooms/${room.id}/hooks/outgoing/${hook.id}/deliveries` });
    assert.equal(log.statusCode, 200, log.body);
    const deliveries = log.json<{ deliveries: HookDelivery[] }>().deliveries;
    assert.equal(deliveries.length, 2);
    for (const d of deliveries) {
      assert.equal(d.status, 'delivered');
      assert.equal(d.attempts, 1);
      assert.equal(d.lastStatusCode, 200);
      assert.equal(typeof d.lastLatencyMs, 'number');
    }
    const audited = await t.ctx.database.db.selectFrom('audit_entries').select(['action', 'room_id', 'actor_id', 'detail']).where('action', '=', 'hook.deliver').where('room_id', '=', room.id).execute();
    assert.equal(audited.length, 2, 'content leaving the server is in the audit log');
    assert.equal(audited[0]?.actor_id, owner.accountId);

    // An incident about the receiver: a scope naming the hook finds the room whose content it carried out.
    assert.equal((await t.as(member, { method: 'POST', url: `/api/v1/rooms/${room.id}/join`, payload: {} })).statusCode, 204);
    const declared = await t.as(owner, { method: 'POST', url: '/api/v1/operator/incidents', payload: { title: 'Webhook receiver compromised', severity: 'SEV2', awareAt: new Date().toISOString() } });
    assert.equal(declared.statusCode, 201, declared.body);
    const scoped = await t.as(owner, { method: 'POST', url: `/api/v1/operator/incidents/${declared.json<{ ref: string }>().ref}/scope`, payload: { sessions: [hook.id] } });
    assert.equal(scoped.statusCode, 201, scoped.body);
    const scope = scoped.json<{ counts: { roomsRead: number; accounts: Record<string, number> } }>();
    assert.equal(scope.counts.roomsRead, 1, 'the deliveries count as reads of the room');
    assert.equal(scope.counts.accounts['affected'], 2, 'the hook\'s owner (its credential) and the room\'s other member (their content left)');
    const listed = await t.as(owner, { method: 'GET', url: `/api/v1/rooms/${room.id}/hooks/outgoing` });
    assert.ok(!listed.body.includes(hook.secret), 'the secret is shown once');
    assert.ok(listed.body.includes(receiver.url));
  });

  test('a bad signature is refused by the documented check', () => {
    const secret = 'cnv_whsec_example';
    const body = '{"id":"x","type":"message.created"}';
    const now = 1_764_633_600;
    const good = signatureOf(secret, now, body);
    assert.ok(verifySignature(secret, { timestamp: String(now), signature: good }, body, now));
    assert.ok(!verifySignature('cnv_whsec_other', { timestamp: String(now), signature: good }, body, now), 'another secret');
    assert.ok(!verifySignature(secret, { timestamp: String(now), signature: good }, body.replace('created', 'deleted'), now), 'a changed body');
    assert.ok(!verifySignature(secret, { timestamp: String(now + 1), signature: good }, body, now + 1), 'a changed timestamp');
    assert.ok(!verifySignature(secret, { timestamp: String(now), signature: good }, body, now + 301), 'a replay after five minutes');
    assert.ok(!verifySignature(secret, { timestamp: String(now), signature: 'v1=00' }, body, now));
    assert.ok(!verifySignature(secret, { timestamp: undefined, signature: good }, body, now));
  });

  test('retries with exponential backoff against a receiver that fails first; the same delivery id each time', async () => {
    const receiver = await startReceiver([500, 503]);
    servers.push(receiver.server);
    const room = await makeRoom('retry');
    const created = await t.as(owner, { method: 'POST', url: `/api/v1/rooms/${room.id}/hooks/outgoing`, payload: { name: 'Flaky', url: receiver.url, events: ['member'] } });
    assert.equal(created.statusCode, 201, created.body);
    const hook = created.json<CreateOutgoingHookResponse>();
    let clock = realNow();
    t.ctx.now = () => clock;
    try {
      assert.equal((await t.as(member, { method: 'POST', url: `/api/v1/rooms/${room.id}/join` })).statusCode, 204);
      const worker = createDeliveryWorker(t.ctx, { backoffBaseMs: 1_000, backoffMaxMs: 60_000 });
      const log = async (): Promise<HookDelivery> => {
        const response = await t.as(owner, { method: 'GET', url: `/api/v1/rooms/${room.id}/hooks/outgoing/${hook.id}/deliveries` });
        const [only] = response.json<{ deliveries: HookDelivery[] }>().deliveries;
        assert.ok(only);
        return only;
      };
      assert.equal(await worker.runOnce(), 1);
      let delivery = await log();
      assert.equal(delivery.status, 'queued');
      assert.equal(delivery.lastStatusCode, 500);
      assert.equal(delivery.lastError, 'the receiver answered HTTP 500');
      assert.equal(Date.parse(delivery.nextAttemptAt ?? ''), clock + 1_000, 'first wait: the base');
      assert.equal(await worker.runOnce(), 0, 'not due yet');
      clock += 1_000;
      assert.equal(await worker.runOnce(), 1);
      delivery = await log();
      assert.equal(delivery.lastStatusCode, 503);
      assert.equal(Date.parse(delivery.nextAttemptAt ?? ''), clock + 2_000, 'second wait: doubled');
      clock += 2_000;
      assert.equal(await worker.runOnce(), 1);
      delivery = await log();
      assert.equal(delivery.status, 'delivered');
      assert.equal(delivery.attempts, 3);
      assert.equal(delivery.lastStatusCode, 200);
      assert.equal(receiver.received.length, 3);
      assert.equal(new Set(receiver.received.map((r) => r.headers['x-conclave-delivery'])).size, 1, 'a receiver can dedupe by the delivery id');
      assert.equal(JSON.parse(receiver.received[2]?.body ?? '{}').data.accountId, member.accountId);
    } finally {
      t.ctx.now = realNow;
    }
  });

  test('a delivery is claimed by one node only; a revoked hook sends nothing more', async () => {
    const receiver = await startReceiver();
    servers.push(receiver.server);
    const room = await makeRoom('lease');
    const created = await t.as(owner, { method: 'POST', url: `/api/v1/rooms/${room.id}/hooks/outgoing`, payload: { name: 'Once', url: receiver.url, events: ['message'] } });
    const hook = created.json<CreateOutgoingHookResponse>();
    await t.post(owner, room.id, 'one');
    const [row] = await t.ctx.database.db.selectFrom('hook_deliveries').select('id').where('hook_id', '=', hook.id).execute();
    assert.ok(row);
    const now = realNow();
    const a = await claimDeliveries(t.ctx.database.db, [row.id], 'node-a', now);
    const b = await claimDeliveries(t.ctx.database.db, [row.id], 'node-b', now);
    assert.equal(a.length, 1);
    assert.equal(b.length, 0, 'the second node does not get it');
    // Messages posted by integrations are not sent on (no loops); a revoked hook's queued deliveries are dropped.
    const incoming = await makeIncoming(room.id);
    assert.equal((await slackPost(incoming.token, '{"text":"from a hook"}')).statusCode, 200);
    await t.post(owner, room.id, 'two');
    assert.equal((await t.as(owner, { method: 'DELETE', url: `/api/v1/rooms/${room.id}/hooks/outgoing/${hook.id}` })).statusCode, 204);
    const worker = createDeliveryWorker(t.ctx);
    while ((await worker.runOnce()) > 0);
    assert.equal(receiver.received.length, 0);
    const statuses = (await t.ctx.database.db.selectFrom('hook_deliveries').select(['status', 'last_error']).where('hook_id', '=', hook.id).orderBy('id').execute());
    assert.deepEqual(statuses, [{ status: 'sending', last_error: null }, { status: 'failed', last_error: 'the webhook was revoked' }]);
  });

  test('targets: only http(s) without credentials; private addresses refused unless the operator allows them', async () => {
    const room = await makeRoom('targets');
    const attempt = (url: string) => t.as(owner, { method: 'POST', url: `/api/v1/rooms/${room.id}/hooks/outgoing`, payload: { name: 'x', url, events: ['message'] } });
    for (const url of ['ftp://example.org/x', 'file:///etc/passwd', 'javascript:alert(1)', 'https://user:pw@example.org/', 'not a url', 'gopher://example.org']) {
      const response = await attempt(url);
      assert.equal(response.statusCode, 400, url);
      assert.equal(response.json().error.code, 'HOOK_TARGET_INVALID', url);
    }
    const config = t.ctx.config as { webhookAllowPrivateTargets: boolean };
    config.webhookAllowPrivateTargets = false;
    try {
      for (const url of ['http://127.0.0.1:9/x', 'http://10.1.2.3/', 'http://169.254.169.254/latest/meta-data', 'http://[::1]/', 'http://localhost/', 'http://[::ffff:192.168.0.1]/', 'http://0.0.0.0/']) {
        const response = await attempt(url);
        assert.equal(response.statusCode, 400, url);
        assert.equal(response.json().error.code, 'HOOK_TARGET_PRIVATE', url);
      }
    } finally {
      config.webhookAllowPrivateTargets = true;
    }
    assert.ok(isPrivateAddress('192.168.1.1') && isPrivateAddress('fd00::1') && isPrivateAddress('100.64.0.1'));
    assert.ok(!isPrivateAddress('93.184.216.34') && !isPrivateAddress('2606:4700::1111'));
  });

  test('a bot posts and reads through the public API with its scoped token and is shown as a bot', async () => {
    const room = await makeRoom('bots');
    const created = await t.as(owner, { method: 'POST', url: `/api/v1/instances/${instanceId}/bots`, payload: { displayName: 'Helper', scopes: ['read', 'write'] } });
    assert.equal(created.statusCode, 201, created.body);
    const { bot, token } = created.json<{ bot: Bot; token: string }>();
    assert.equal(bot.isBot, true);
    const asBot: Client = { email: '', password: '', accountId: bot.id, token, csrfToken: '', via: 'bearer' };
    assert.equal((await t.as(asBot, { method: 'POST', url: `/api/v1/rooms/${room.id}/join` })).statusCode, 204);
    const frame = messageFrame(room.id, 'beep: 3 builds waiting');
    const posted = await t.as(asBot, { method: 'POST', url: `/api/v1/rooms/${room.id}/messages`, payload: { body: 'beep: 3 builds waiting' } });
    assert.equal(posted.statusCode, 201, posted.body);
    const { message } = await frame;
    assert.equal(message.authorId, bot.id);
    assert.deepEqual(message.via, { kind: 'bot', id: bot.id, name: 'Helper' });
    const read = await t.as(asBot, { method: 'GET', url: `/api/v1/rooms/${room.id}/messages` });
    assert.equal(read.statusCode, 200);
    const me = await t.as(asBot, { method: 'GET', url: '/api/v1/me' });
    assert.equal(me.statusCode, 403, 'a bot\'s token is a token: no session routes');
    const listed = await t.as(owner, { method: 'GET', url: `/api/v1/instances/${instanceId}/bots` });
    assert.deepEqual(listed.json<{ bots: Bot[] }>().bots.map((b) => b.id), [bot.id]);
    assert.equal((await t.as(member, { method: 'GET', url: `/api/v1/instances/${instanceId}/bots` })).statusCode, 403, 'admins only');

    const readOnly = await t.as(owner, { method: 'POST', url: `/api/v1/instances/${instanceId}/bots`, payload: { displayName: 'Reader', scopes: ['read'] } });
    const reader: Client = { ...asBot, token: readOnly.json<{ token: string }>().token };
    const refused = await t.as(reader, { method: 'POST', url: `/api/v1/rooms/${room.id}/messages`, payload: { body: 'no' } });
    assert.equal(refused.statusCode, 403);
    assert.equal(refused.json().error.code, 'TOKEN_SCOPE_MISSING');

    assert.equal((await t.as(owner, { method: 'DELETE', url: `/api/v1/instances/${instanceId}/bots/${bot.id}` })).statusCode, 204);
    const gone = await t.as(asBot, { method: 'GET', url: `/api/v1/rooms/${room.id}/messages` });
    assert.equal(gone.statusCode, 401, 'a removed bot\'s token is dead');
    const again = await t.as(owner, { method: 'DELETE', url: `/api/v1/instances/${instanceId}/bots/${bot.id}` });
    assert.equal(again.json().error.code, 'BOT_NOT_FOUND');
  });

  // Last: it ends every credential of the instance, the owner's sessions included.
  test('containment (an instance credential epoch) ends webhooks like sessions and tokens', async () => {
    const receiver = await startReceiver();
    servers.push(receiver.server);
    const room = await makeRoom('contain');
    const incoming = await makeIncoming(room.id);
    const outgoing = (await t.as(owner, { method: 'POST', url: `/api/v1/rooms/${room.id}/hooks/outgoing`, payload: { name: 'Out', url: receiver.url, events: ['message'] } })).json<CreateOutgoingHookResponse>();
    await t.post(owner, room.id, 'queued before the epoch');
    await bumpInstanceEpoch(t.ctx, instanceId);
    const refused = await slackPost(incoming.token, '{"text":"after containment"}');
    assert.equal(refused.statusCode, 401);
    assert.equal(refused.body, 'invalid_token');
    const worker = createDeliveryWorker(t.ctx);
    while ((await worker.runOnce()) > 0);
    assert.equal(receiver.received.length, 0, 'nothing leaves for a hook the epoch ended');
    const [delivery] = await t.ctx.database.db.selectFrom('hook_deliveries').select(['status']).where('hook_id', '=', outgoing.id).execute();
    assert.equal(delivery?.status, 'failed');
  });
});
