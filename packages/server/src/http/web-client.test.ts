import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildApp } from '../app.ts';
import type { App } from './types.ts';
import { closeTestPools, createTestApp, type TestApp } from '../testing/test-app.ts';

after(closeTestPools);

// The web client's pages and files do not touch the database: one engine is enough.
describe('the web client as the server serves it', () => {
  let t: TestApp;
  let dir: string;
  let built: App;
  let absent: App;
  const index = '<!doctype html><html><head><script type="module" src="/assets/index-abc123.js"></script></head><body><div id="root"></div></body></html>';

  before(async () => {
    t = await createTestApp('sqlite');
    dir = await mkdtemp(join(tmpdir(), 'conclave-web-'));
    await mkdir(join(dir, 'dist', 'assets'), { recursive: true });
    await writeFile(join(dir, 'dist', 'index.html'), index);
    await writeFile(join(dir, 'dist', 'assets', 'index-abc123.js'), 'console.log("client");');
    await writeFile(join(dir, 'dist', 'secret.txt'), 'not under assets/');
    built = await buildApp(t.ctx, { webRoot: join(dir, 'dist') });
    absent = await buildApp(t.ctx, { webRoot: join(dir, 'missing') });
  });
  after(async () => {
    await built.close();
    await absent.close();
    await t.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('every client page answers index.html, never cached, under the strict CSP', async () => {
    const roomId = '0190f000-0000-7000-8000-000000000000';
    for (const url of ['/', '/login', '/setup', '/signup', '/forgot-password', '/reset-password', `/rooms/${roomId}`, `/instances/${roomId}`, '/login?next=%2Frooms']) {
      const response = await built.inject({ method: 'GET', url });
      assert.equal(response.statusCode, 200, url);
      assert.equal(response.body, index, url);
      assert.match(String(response.headers['content-type']), /^text\/html/);
      assert.equal(response.headers['cache-control'], 'no-cache');
      const csp = String(response.headers['content-security-policy']);
      assert.match(csp, /script-src 'self'(;|$)/, 'scripts only from files of this origin');
      assert.match(csp, /style-src 'self'(;|$)/, 'styles only from files of this origin');
      assert.match(csp, /script-src-attr 'none'/);
      assert.match(csp, /frame-ancestors 'none'/);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
      assert.doesNotMatch(csp, /upgrade-insecure-requests/, 'plain http (PUBLIC_URL http://) must load its own scripts');
    }
  });

  test('built files are served with long-lived caching; nothing outside assets/ and no traversal', async () => {
    const file = await built.inject({ method: 'GET', url: '/assets/index-abc123.js' });
    assert.equal(file.statusCode, 200);
    assert.equal(file.body, 'console.log("client");');
    assert.match(String(file.headers['content-type']), /javascript/);
    assert.equal(file.headers['cache-control'], 'public, max-age=31536000, immutable');
    for (const url of ['/assets/../secret.txt', '/assets/%2e%2e/secret.txt', '/secret.txt', '/assets/', '/assets/missing.js']) {
      const response = await built.inject({ method: 'GET', url });
      assert.notEqual(response.statusCode, 200, url);
      assert.doesNotMatch(response.body, /not under assets/, url);
    }
  });

  test('the API, the status page, the stream and unknown paths keep their own answers', async () => {
    const unknownApi = await built.inject({ method: 'GET', url: '/api/v1/no-such-thing' });
    assert.equal(unknownApi.statusCode, 404);
    assert.equal(unknownApi.json().error.code, 'ROUTE_NOT_FOUND');
    const unknownPage = await built.inject({ method: 'GET', url: '/no-such-page' });
    assert.equal(unknownPage.statusCode, 404);
    assert.equal(unknownPage.json().error.code, 'ROUTE_NOT_FOUND');
    const me = await built.inject({ method: 'GET', url: '/api/v1/me' });
    assert.equal(me.json().error.code, 'UNAUTHENTICATED');
    const status = await built.inject({ method: 'GET', url: '/status' });
    assert.equal(status.statusCode, 200);
    assert.doesNotMatch(status.body, /id="root"/);
    const stream = await built.inject({ method: 'GET', url: '/api/v1/stream' });
    assert.notEqual(stream.body, index, 'a plain GET of the stream is not the client');
    const rooms = await built.inject({ method: 'GET', url: '/rooms' });
    assert.equal(rooms.statusCode, 404, 'only the listed pages are the client');
  });

  test('without a build, the pages say how to build it and the API still answers', async () => {
    const page = await absent.inject({ method: 'GET', url: '/' });
    assert.equal(page.statusCode, 503);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.match(page.body, /npm run build -w packages\/web/);
    assert.doesNotMatch(page.body, /<script|style=/);
    assert.equal((await absent.inject({ method: 'GET', url: '/reset-password' })).statusCode, 503);
    assert.deepEqual((await absent.inject({ method: 'GET', url: '/api/v1/setup' })).json(), { required: true });
    assert.equal((await absent.inject({ method: 'GET', url: '/assets/index-abc123.js' })).statusCode, 404);
  });
});
