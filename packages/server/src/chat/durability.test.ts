import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { recordSecret } from '../testing/secret-ledger.ts';
import { call, freshPgSchema, startServer } from '../testing/server-process.ts';
import { describeEachEngine, newEmail, newPassword } from '../testing/test-app.ts';

describeEachEngine('durability', (engine) => {
  test('every message acknowledged with 201 is still there after kill -9 of the server', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'conclave-kill-'));
    const pgSchema = engine === 'postgres' ? await freshPgSchema('kill') : undefined;
    const env: Record<string, string> = {
      CONCLAVE_DATA_DIR: join(dir, 'data'),
      CONCLAVE_KEYS_DIR: join(dir, 'keys'),
      CONCLAVE_AUDIT_WITNESS: join(dir, 'witness.log'),
      MESSAGE_RATE_LIMIT: '100000/1m',
      ...(pgSchema ? { DATABASE_URL: pgSchema.databaseUrl } : {}),
    };
    try {
      const first = await startServer(env);
      const email = newEmail('durable');
      const password = newPassword();
      const setup = await call(first.url, 'POST', '/api/v1/setup', {
        body: { setupToken: first.setupToken, instance: { slug: 'durable', name: 'Durable' }, owner: { email, displayName: 'Owner', password } },
      });
      assert.equal(setup.status, 201);
      const instanceId = (setup.body['instance'] as { id: string }).id;
      const login = await call(first.url, 'POST', '/api/v1/auth/login', { body: { email, password, mode: 'bearer' } });
      const token = login.body['token'] as string;
      recordSecret(token);
      const room = await call(first.url, 'POST', `/api/v1/instances/${instanceId}/rooms`, { token, body: { name: 'ledger' } });
      const roomId = room.body['id'] as string;

      const acknowledged: string[] = [];
      for (let i = 0; i < 60; i += 1) {
        const posted = await call(first.url, 'POST', `/api/v1/rooms/${roomId}/messages`, { token, body: { body: `entry ${i}` } });
        assert.equal(posted.status, 201);
        acknowledged.push(posted.body['id'] as string);
      }
      // No graceful shutdown: the process dies the instant the last acknowledgement arrived.
      first.child.kill('SIGKILL');
      await first.exited;

      const second = await startServer(env);
      try {
        const history = await call(second.url, 'GET', `/api/v1/rooms/${roomId}/messages?limit=100`, { token });
        assert.equal(history.status, 200, 'the session survived too');
        const ids = (history.body['messages'] as Array<{ id: string }>).map((m) => m.id);
        assert.deepEqual(ids, acknowledged);
      } finally {
        await second.stop();
      }
    } finally {
      await pgSchema?.drop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
