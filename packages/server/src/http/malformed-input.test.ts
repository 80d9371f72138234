import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ERROR_CATALOG } from '@conclave/protocol';
import { closeTestPools, createTestApp, describeEachEngine, newEmail, type Client, type TestApp } from '../testing/test-app.ts';

after(closeTestPools);

interface Case {
  name: string;
  method?: 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT';
  url?: string;
  body?: string | Buffer;
  contentType?: string | null;
  headers?: Record<string, string>;
  authenticated?: boolean;
  code: string;
}

const SIGNUP = '/api/v1/auth/signup';
const validSignup = (overrides: Record<string, unknown> = {}) =>
  JSON.stringify({ email: newEmail('bad-input'), password: 'a-decent-passphrase-1', displayName: 'Someone', instance: 'open-house', ...overrides });

const CASES: Case[] = [
  { name: 'truncated JSON', body: '{"email": "a@b.org", "password": "hunter2-secret-value', code: 'MALFORMED_JSON' },
  { name: 'trailing garbage after JSON', body: '{"email":"a@b.org"} trailing', code: 'MALFORMED_JSON' },
  { name: 'single quotes', body: "{'email':'a@b.org'}", code: 'MALFORMED_JSON' },
  { name: 'empty body with a JSON content type', body: '', code: 'EMPTY_BODY' },
  { name: 'invalid UTF-8 byte', body: Buffer.from([0x7b, 0x22, 0x65, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]), code: 'INVALID_UTF8' },
  { name: 'overlong UTF-8 encoding of "/"', body: Buffer.concat([Buffer.from('{"displayName":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')]), code: 'INVALID_UTF8' },
  { name: 'UTF-8-encoded surrogate half', body: Buffer.concat([Buffer.from('{"displayName":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]), code: 'INVALID_UTF8' },
  { name: 'truncated multi-byte sequence', body: Buffer.concat([Buffer.from('{"displayName":"'), Buffer.from([0xe2, 0x82]), Buffer.from('"}')]), code: 'INVALID_UTF8' },
  { name: 'text/plain body', body: validSignup(), contentType: 'text/plain', code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'form-encoded body', body: 'email=a%40b.org&password=x', contentType: 'application/x-www-form-urlencoded', code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'JSON in another charset than UTF-8', body: validSignup(), contentType: 'application/json; charset=iso-8859-1', code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'multipart body', body: '--x\r\n\r\n--x--', contentType: 'multipart/form-data; boundary=x', code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'body over 1 MiB', body: JSON.stringify({ displayName: 'x'.repeat(1_100_000) }), code: 'PAYLOAD_TOO_LARGE' },
  { name: 'JSON array instead of object', body: '[]', code: 'VALIDATION_FAILED' },
  { name: 'JSON null', body: 'null', code: 'VALIDATION_FAILED' },
  { name: 'JSON string', body: '"hello"', code: 'VALIDATION_FAILED' },
  { name: 'JSON number', body: '42', code: 'VALIDATION_FAILED' },
  { name: 'missing required field', body: JSON.stringify({ email: 'a@b.org', displayName: 'x', instance: 'open-house' }), code: 'VALIDATION_FAILED' },
  { name: 'unknown field', body: validSignup({ isOperator: true }), code: 'VALIDATION_FAILED' },
  { name: '__proto__ key (prototype poisoning)', body: '{"email":"a@b.org","__proto__":{"isOperator":true}}', code: 'MALFORMED_JSON' },
  { name: 'constructor.prototype key', body: '{"constructor":{"prototype":{"polluted":true}}}', code: 'MALFORMED_JSON' },
  { name: 'email as a number', body: validSignup({ email: 12345 }), code: 'VALIDATION_FAILED' },
  { name: 'password as an array', body: validSignup({ password: ['a', 'b'] }), code: 'VALIDATION_FAILED' },
  { name: 'display name as a boolean', body: validSignup({ displayName: true }), code: 'VALIDATION_FAILED' },
  { name: 'display name as an object', body: validSignup({ displayName: { first: 'a' } }), code: 'VALIDATION_FAILED' },
  { name: 'not an email', body: validSignup({ email: 'not-an-email' }), code: 'VALIDATION_FAILED' },
  { name: 'email over 254 characters', body: validSignup({ email: `${'a'.repeat(250)}@example.org` }), code: 'VALIDATION_FAILED' },
  { name: 'display name over 100 characters', body: validSignup({ displayName: 'x'.repeat(101) }), code: 'VALIDATION_FAILED' },
  { name: 'empty display name', body: validSignup({ displayName: '' }), code: 'VALIDATION_FAILED' },
  { name: 'display name with a bell character', body: validSignup({ displayName: 'ding\u0007' }), code: 'VALIDATION_FAILED' },
  { name: 'display name with a newline', body: validSignup({ displayName: 'two\nlines' }), code: 'VALIDATION_FAILED' },
  { name: 'display name with NUL', body: validSignup({ displayName: 'nul\u0000byte' }), code: 'VALIDATION_FAILED' },
  { name: 'display name with an escape sequence', body: validSignup({ displayName: '\u001b[31mred' }), code: 'VALIDATION_FAILED' },
  { name: 'display name with a lone surrogate', body: '{"email":"a@b.org","password":"a-decent-passphrase-1","displayName":"\\ud800","instance":"open-house"}', code: 'VALIDATION_FAILED' },
  { name: 'display name with a line separator', body: validSignup({ displayName: 'a\u2028b' }), code: 'VALIDATION_FAILED' },
  { name: 'password with a control character', body: validSignup({ password: 'long-enough\u0001pass' }), code: 'VALIDATION_FAILED' },
  { name: 'password too short', body: validSignup({ password: 'short' }), code: 'PASSWORD_TOO_SHORT' },
  { name: 'password over 1024 characters', body: validSignup({ password: 'p'.repeat(1025) }), code: 'PASSWORD_TOO_LONG' },
  { name: 'common password', body: validSignup({ password: 'password123' }), code: 'PASSWORD_TOO_COMMON' },
  { name: 'password equal to the email', body: validSignup({ email: 'samesame@example.org', password: 'samesame@example.org' }), code: 'PASSWORD_MATCHES_CONTEXT' },
  { name: 'instance slug in upper case', body: validSignup({ instance: 'Open-House' }), code: 'VALIDATION_FAILED' },
  { name: 'instance slug over 40 characters', body: validSignup({ instance: 'a'.repeat(41) }), code: 'VALIDATION_FAILED' },
  { name: 'invite token with a control character', body: validSignup({ inviteToken: 'cnv_i_\u0000' }), code: 'VALIDATION_FAILED' },
  { name: 'deeply nested JSON', body: `${'['.repeat(5000)}${']'.repeat(5000)}`, code: 'VALIDATION_FAILED' },
  { name: 'unknown log-in mode', url: '/api/v1/auth/login', body: JSON.stringify({ email: 'a@b.org', password: 'whatever-pass', mode: 'token' }), code: 'VALIDATION_FAILED' },
  { name: 'setup with a nested unknown field', url: '/api/v1/setup', body: JSON.stringify({ setupToken: 'x', instance: { slug: 'ab', name: 'x', extra: 1 }, owner: { email: 'a@b.org', displayName: 'x', password: 'pppppppppp' } }), code: 'VALIDATION_FAILED' },
  { name: 'path id that is not a UUID', method: 'GET', url: '/api/v1/instances/not-a-uuid', authenticated: true, body: undefined, contentType: null, code: 'VALIDATION_FAILED' },
  { name: 'invite TTL of zero hours', url: 'INVITES', authenticated: true, body: JSON.stringify({ ttlHours: 0 }), code: 'VALIDATION_FAILED' },
  { name: 'invite TTL as a string', url: 'INVITES', authenticated: true, body: JSON.stringify({ ttlHours: '5' }), code: 'VALIDATION_FAILED' },
  { name: 'role outside owner/admin/member', method: 'PATCH', url: 'SELF_ROLE', authenticated: true, body: JSON.stringify({ role: 'superuser' }), code: 'VALIDATION_FAILED' },
  { name: 'instance update with no fields', method: 'PATCH', url: 'INSTANCE', authenticated: true, body: '{}', code: 'VALIDATION_FAILED' },
  { name: 'unknown route', method: 'GET', url: '/api/v1/nothing-here', body: undefined, contentType: null, code: 'ROUTE_NOT_FOUND' },
  { name: 'unsupported method on a route', method: 'DELETE', url: '/api/v1/me', body: undefined, contentType: null, code: 'ROUTE_NOT_FOUND' },
  { name: 'malformed percent-encoding in the URL', method: 'GET', url: '/api/v1/instances/%E0%A4%A', body: undefined, contentType: null, code: 'BAD_REQUEST' },
  { name: 'Authorization header that is not Bearer', method: 'GET', url: '/api/v1/me', headers: { authorization: 'Basic dXNlcjpwYXNz' }, body: undefined, contentType: null, code: 'UNAUTHENTICATED' },
  { name: 'bearer token of the wrong shape', method: 'GET', url: '/api/v1/me', headers: { authorization: 'Bearer a b c' }, body: undefined, contentType: null, code: 'UNAUTHENTICATED' },
  { name: 'forged session cookie', method: 'GET', url: '/api/v1/me', headers: { cookie: 'conclave_session=cnv_s_forgedforgedforgedforgedforgedforgedforg' }, body: undefined, contentType: null, code: 'UNAUTHENTICATED' },
];

describeEachEngine('malformed input', (engine) => {
  let t: TestApp;
  let owner: Client;
  let instanceId: string;

  before(async () => {
    t = await createTestApp(engine);
    ({ owner, instanceId } = await t.setUp());
    const made = await t.as(owner, { method: 'POST', url: '/api/v1/instances', payload: { slug: 'open-house', name: 'Open', signupMode: 'open' } });
    assert.equal(made.statusCode, 201);
  });
  after(() => t.close());

  const snapshot = async () => {
    const db = t.ctx.database.db;
    return {
      accounts: await db.selectFrom('accounts').selectAll().orderBy('id').execute(),
      instances: await db.selectFrom('instances').selectAll().orderBy('id').execute(),
      memberships: await db.selectFrom('memberships').selectAll().orderBy('account_id').execute(),
      invites: await db.selectFrom('invites').selectAll().orderBy('id').execute(),
    };
  };

  test(`at least 30 kinds of bad input (${CASES.length} here) each get a 4xx with a catalog code, no stack, and write nothing`, async () => {
    assert.ok(CASES.length >= 30);
    const before = await snapshot();
    const failures: string[] = [];
    for (const c of CASES) {
      const url = c.url === 'INVITES' ? `/api/v1/instances/${instanceId}/invites` : c.url === 'INSTANCE' ? `/api/v1/instances/${instanceId}` : c.url === 'SELF_ROLE' ? `/api/v1/instances/${instanceId}/members/${owner.accountId}` : (c.url ?? SIGNUP);
      const headers: Record<string, string> = { ...(c.headers ?? {}) };
      if (c.contentType !== null) headers['content-type'] = c.contentType ?? 'application/json';
      const options = { method: c.method ?? 'POST', url, headers, ...(c.body !== undefined ? { payload: c.body as string } : {}) } as const;
      const response = c.authenticated ? await t.as(owner, options) : await t.inject(options);
      let body: { error?: { code?: string; message?: string; requestId?: string } } = {};
      try {
        body = response.json();
      } catch {
        failures.push(`${c.name}: answer is not JSON: ${response.body.slice(0, 80)}`);
        continue;
      }
      const code = body.error?.code ?? '(none)';
      if (response.statusCode < 400 || response.statusCode >= 500) failures.push(`${c.name}: status ${response.statusCode}`);
      if (code !== c.code) failures.push(`${c.name}: code ${code}, expected ${c.code}`);
      if (!(code in ERROR_CATALOG)) failures.push(`${c.name}: ${code} is not in the catalog`);
      else if (ERROR_CATALOG[code as keyof typeof ERROR_CATALOG].status !== response.statusCode) failures.push(`${c.name}: status ${response.statusCode} differs from the catalog's`);
      if (/\bat .+:\d+:\d+|Error:|node_modules/.test(response.body)) failures.push(`${c.name}: the answer carries internals`);
      if (response.body.includes('hunter2-secret-value')) failures.push(`${c.name}: the answer echoes the body`);
      if (typeof body.error?.requestId !== 'string') failures.push(`${c.name}: no request id`);
    }
    assert.deepEqual(failures, []);
    assert.deepEqual(await snapshot(), before, 'nothing was written');
  });

  test('JSON labelled with its charset (application/json; charset=utf-8, as most HTTP clients send it) is taken', async () => {
    for (const contentType of ['application/json; charset=utf-8', 'application/json;charset="UTF-8"']) {
      const response = await t.as(owner, { method: 'PATCH', url: `/api/v1/instances/${instanceId}`, headers: { 'content-type': contentType }, payload: JSON.stringify({ name: 'Renamed' }) });
      assert.equal(response.statusCode, 200, `${contentType}: ${response.body}`);
    }
  });

  test('a refused request leaves the server healthy', async () => {
    const ok = await t.inject({ method: 'GET', url: '/healthz' });
    assert.equal(ok.statusCode, 200);
    assert.equal((await t.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
  });
});
