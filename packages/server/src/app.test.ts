import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { closeTestPools, createTestApp, describeEachEngine, type TestApp } from './testing/test-app.ts';

after(closeTestPools);

describeEachEngine('the app', (engine) => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp(engine);
  });
  after(() => t.close());

  test('/healthz answers while alive; /readyz answers while the database does, and 503 when it does not', async () => {
    assert.deepEqual((await t.inject({ method: 'GET', url: '/healthz' })).json(), { status: 'ok' });
    assert.deepEqual((await t.inject({ method: 'GET', url: '/readyz' })).json(), { status: 'ready' });
    const realPing = t.ctx.database.ping;
    t.ctx.database.ping = async () => {
      throw new Error('connection refused');
    };
    try {
      const down = await t.inject({ method: 'GET', url: '/readyz' });
      assert.equal(down.statusCode, 503);
      assert.equal(down.json().error.code, 'SERVICE_UNAVAILABLE');
      assert.doesNotMatch(down.body, /connection refused/);
    } finally {
      t.ctx.database.ping = realPing;
    }
  });

  test('the OpenAPI 3.1 document describes every API route with its error shape', async () => {
    const response = await t.inject({ method: 'GET', url: '/api/v1/openapi.json' });
    assert.equal(response.statusCode, 200);
    const doc = response.json<{ openapi: string; paths: Record<string, Record<string, { responses: Record<string, unknown> }>> }>();
    assert.equal(doc.openapi, '3.1.0');
    for (const path of ['/api/v1/auth/login', '/api/v1/auth/signup', '/api/v1/auth/logout', '/api/v1/me', '/api/v1/me/password', '/api/v1/setup', '/api/v1/instances', '/api/v1/instances/{instanceId}', '/api/v1/instances/{instanceId}/members', '/api/v1/instances/{instanceId}/invites']) {
      assert.ok(doc.paths[path], `${path} is described`);
    }
    assert.ok(doc.paths['/api/v1/auth/login']?.['post']?.responses['401'], 'error answers are described');
    assert.equal(doc.paths['/api/v1/openapi.json'], undefined);
  });

  test('security headers, request ids and no caching of API answers', async () => {
    const response = await t.inject({ method: 'GET', url: '/api/v1/setup' });
    assert.match(String(response.headers['content-security-policy']), /default-src 'self'/);
    assert.match(String(response.headers['content-security-policy']), /frame-ancestors 'none'/);
    assert.equal(response.headers['x-content-type-options'], 'nosniff');
    assert.equal(response.headers['cache-control'], 'no-store');
    assert.match(String(response.headers['x-request-id']), /^[0-9a-f-]{36}$/);
    assert.equal(response.headers['x-powered-by'], undefined);
  });
});
