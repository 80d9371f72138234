import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { STREAM_CLOSE, type ChatEvent } from '@conclave/protocol';
import { Redis } from 'ioredis';
import { recordSecret } from '../testing/secret-ledger.ts';
import { call, freshPgSchema, redisReachable, startServer, testRedisUrl, type ServerProcess } from '../testing/server-process.ts';
import { isType, openStream } from '../testing/stream-client.ts';
import { newEmail, newPassword } from '../testing/test-app.ts';
import { testEngines } from '../testing/test-env.ts';

const inCi = process.env['CI'] === 'true' || process.env['CI'] === '1';
const redisUp = await redisReachable();
if (!redisUp && inCi) throw new Error(`Redis is required in CI but ${testRedisUrl()} does not answer.`);
const skip = !testEngines().includes('postgres') ? 'the PostgreSQL leg is off' : !redisUp ? `Redis not reachable at ${testRedisUrl()}` : false;

describe('two nodes on one PostgreSQL and one Redis', { skip }, () => {
  test('a message posted on node A reaches a socket on node B; a logout on A closes B\'s socket within a second', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'conclave-nodes-'));
    const pgSchema = await freshPgSchema('nodes');
    const env = {
      CONCLAVE_DATA_DIR: join(dir, 'data'),
      CONCLAVE_KEYS_DIR: join(dir, 'keys'),
      CONCLAVE_AUDIT_WITNESS: join(dir, 'witness.log'),
      DATABASE_URL: pgSchema.databaseUrl,
      REDIS_URL: testRedisUrl(),
      REDIS_PREFIX: `test-${randomBytes(4).toString('hex')}`,
    };
    const nodes: ServerProcess[] = [];
    try {
      const a = await startServer(env);
      nodes.push(a);
      const b = await startServer(env);
      nodes.push(b);
      const setupToken = b.setupToken ?? a.setupToken;
      const ownerEmail = newEmail('owner');
      const ownerPassword = newPassword();
      const setup = await call(a.url, 'POST', '/api/v1/setup', {
        body: { setupToken, instance: { slug: 'cluster', name: 'Cluster' }, owner: { email: ownerEmail, displayName: 'Owner', password: ownerPassword } },
      });
      assert.equal(setup.status, 201, JSON.stringify(setup.body));
      const instanceId = (setup.body['instance'] as { id: string }).id;
      const owner = (await call(a.url, 'POST', '/api/v1/auth/login', { body: { email: ownerEmail, password: ownerPassword, mode: 'bearer' } })).body['token'] as string;
      recordSecret(owner);
      await call(a.url, 'PATCH', `/api/v1/instances/${instanceId}`, { token: owner, body: { signupMode: 'open' } });
      const email = newEmail('member');
      const password = newPassword();
      assert.equal((await call(a.url, 'POST', '/api/v1/auth/signup', { body: { email, password, displayName: 'Member', instance: 'cluster' } })).status, 202);
      const member = (await call(b.url, 'POST', '/api/v1/auth/login', { body: { email, password, mode: 'bearer' } })).body['token'] as string;
      recordSecret(member);
      const roomId = (await call(a.url, 'POST', `/api/v1/instances/${instanceId}/rooms`, { token: owner, body: { name: 'across' } })).body['id'] as string;
      assert.equal((await call(b.url, 'POST', `/api/v1/rooms/${roomId}/join`, { token: member })).status, 204);

      // What Redis (or anyone subscribed to it) sees: sealed batches only; and what it cannot do: forge one.
      const spy = new Redis(testRedisUrl());
      const seen: string[] = [];
      spy.on('message', (_channel: string, data: string) => seen.push(data));
      await spy.subscribe(`${env.REDIS_PREFIX}:bus`);
      const onB = await openStream(b.url, { token: member });
      await onB.next(isType('ready'));
      const posted = await call(a.url, 'POST', `/api/v1/rooms/${roomId}/messages`, { token: owner, body: { body: 'from node A' } });
      assert.equal(posted.status, 201);
      const event = await onB.next<Extract<ChatEvent, { type: 'message.created' }>>(isType('message.created'));
      assert.equal(event.message.id, posted.body['id']);
      assert.ok(seen.length > 0 && seen.every((data) => data.startsWith('cv1.') && !data.includes('from node A')), 'batches cross Redis sealed');
      const forger = new Redis(testRedisUrl());
      await forger.publish(`${env.REDIS_PREFIX}:bus`, JSON.stringify([{ kind: 'revoke', scope: { kind: 'global', notBefore: Date.now() + 60_000 } }]));
      forger.disconnect();
      spy.disconnect();
      const after = await call(a.url, 'POST', `/api/v1/rooms/${roomId}/messages`, { token: owner, body: { body: 'still here' } });
      const second = await onB.next<Extract<ChatEvent, { type: 'message.created' }>>((frame) => frame.type === 'message.created' && frame.message.id === after.body['id']);
      assert.equal(second.message.body, 'still here', 'a forged revocation on Redis closed nothing');

      const loggedOutAt = Date.now();
      assert.equal((await call(a.url, 'POST', '/api/v1/auth/logout', { token: member })).status, 204);
      const closed = await onB.closed;
      const elapsed = Date.now() - loggedOutAt;
      assert.equal(closed.code, STREAM_CLOSE.sessionRevoked);
      assert.ok(elapsed < 1_000, `closed after ${elapsed} ms`);
    } finally {
      for (const node of nodes) await node.stop();
      await pgSchema.drop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
