import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql } from 'kysely';
import { MIGRATIONS } from '../db/migrations/index.ts';
import { closeTestPools, createTestApp, describeEachEngine, type Client, type TestApp } from '../testing/test-app.ts';
import type { MessageRow } from './message.queries.ts';
import { openMessage } from './message.seal.ts';
import { blindTerms } from './message.terms.ts';
import { deleteTerms } from './search.queries.ts';

interface Hit {
  message: { id: string; body: string; roomId: string };
  room: { id: string; instanceId: string; kind: string; name: string };
}

after(closeTestPools);

describeEachEngine('search', (engine) => {
  let t: TestApp;
  let owner: Client;
  let ada: Client;
  let grace: Client;
  let bob: Client;
  let instanceA: string;
  let instanceB: string;
  let general: string;
  let secret: string;
  let direct: string;
  const ids: Record<string, string> = {};

  const post = async (client: Client, roomId: string, body: string): Promise<string> => (await t.post(client, roomId, body)).id;

  const search = async (client: Client, query: Record<string, string>): Promise<{ results: Hit[]; hasMore: boolean }> => {
    const response = await t.as(client, { method: 'GET', url: `/api/v1/search?${new URLSearchParams(query).toString()}` });
    assert.equal(response.statusCode, 200, response.body);
    return response.json();
  };
  const found = async (client: Client, query: Record<string, string>): Promise<string[]> => (await search(client, query)).results.map((hit) => hit.message.id);

  before(async () => {
    t = await createTestApp(engine);
    const setup = await t.setUp();
    owner = setup.owner;
    instanceA = setup.instanceId;
    await t.as(owner, { method: 'PATCH', url: `/api/v1/instances/${instanceA}`, payload: { signupMode: 'open' } });
    ada = await t.signUpAndLogIn(setup.instanceSlug, { displayName: 'Ada' });
    grace = await t.signUpAndLogIn(setup.instanceSlug, { displayName: 'Grace' });
    const created = await t.as(owner, { method: 'POST', url: '/api/v1/instances', payload: { slug: `other-${engine}-${Date.now()}`, name: 'Other', signupMode: 'open' } });
    instanceB = created.json<{ id: string }>().id;
    bob = await t.signUpAndLogIn(created.json<{ slug: string }>().slug, { displayName: 'Bob' });

    general = (await t.as(owner, { method: 'POST', url: `/api/v1/instances/${instanceA}/rooms`, payload: { name: 'General' } })).json<{ id: string }>().id;
    secret = (await t.as(owner, { method: 'POST', url: `/api/v1/instances/${instanceA}/rooms`, payload: { name: 'Secret', privacy: 'private' } })).json<{ id: string }>().id;
    direct = (await t.as(owner, { method: 'POST', url: `/api/v1/instances/${instanceA}/direct`, payload: { accountId: ada.accountId } })).json<{ id: string }>().id;
    const roomB = (await t.as(owner, { method: 'POST', url: `/api/v1/instances/${instanceB}/rooms`, payload: { name: 'Elsewhere' } })).json<{ id: string }>().id;
    await t.as(ada, { method: 'POST', url: `/api/v1/rooms/${general}/join` });
    await t.as(bob, { method: 'POST', url: `/api/v1/rooms/${roomB}/join` });

    ids['opens'] = await post(ada, general, 'The Café opens at nine.');
    ids['moved'] = await post(owner, general, 'cafe meeting moved to ten');
    ids['nothing'] = await post(ada, general, 'Nothing relevant here');
    ids['sharp'] = await post(owner, general, 'coffee at the CAFÉ, nine sharp!');
    ids['secret'] = await post(owner, secret, 'secret cafe plans for nine');
    ids['direct'] = await post(owner, direct, 'direct: cafe at nine?');
    ids['other'] = await post(bob, roomB, 'cafe nine in the other instance');
  });
  after(() => t.close());

  test('every word must match, newest first, case and accents ignored, in the rooms the person can read', async () => {
    assert.deepEqual(await found(grace, { q: 'cafe nine' }), [ids['sharp'], ids['opens']], 'a public room she has not joined is readable; nothing private, direct or of another instance');
    assert.deepEqual(await found(ada, { q: 'CAFÉ' }), [ids['direct'], ids['sharp'], ids['moved'], ids['opens']], 'her direct chat too');
    assert.deepEqual(await found(ada, { q: 'cafe ten' }), [ids['moved']]);
    assert.deepEqual(await found(ada, { q: 'cafe elephant' }), []);
    assert.deepEqual(await found(owner, { q: 'nine cafe' }), [ids['other'], ids['direct'], ids['secret'], ids['sharp'], ids['opens']], 'every instance of the person');
    assert.deepEqual(await found(bob, { q: 'cafe' }), [ids['other']], 'never across instances');
    const hit = (await search(owner, { q: 'plans' })).results[0];
    assert.deepEqual(hit?.room, { id: secret, instanceId: instanceA, kind: 'room', name: 'Secret' });
    assert.equal(hit?.message.body, 'secret cafe plans for nine');
  });

  test('narrowed to an instance or a room; paged with before', async () => {
    assert.deepEqual(await found(owner, { q: 'cafe', instanceId: instanceB }), [ids['other']]);
    assert.deepEqual(await found(owner, { q: 'cafe', roomId: secret }), [ids['secret']]);
    assert.deepEqual(await found(owner, { q: 'cafe', roomId: general, instanceId: instanceA }), [ids['sharp'], ids['moved'], ids['opens']]);
    const first = await search(ada, { q: 'cafe', limit: '2' });
    assert.deepEqual(first.results.map((r) => r.message.id), [ids['direct'], ids['sharp']]);
    assert.equal(first.hasMore, true);
    const second = await search(ada, { q: 'cafe', limit: '2', before: ids['sharp'] as string });
    assert.deepEqual(second.results.map((r) => r.message.id), [ids['moved'], ids['opens']]);
    assert.equal(second.hasMore, false);
  });

  test('edits move a message\'s words; deleted messages are not found', async () => {
    const edited = await t.as(ada, { method: 'PATCH', url: `/api/v1/rooms/${general}/messages/${ids['opens']}`, payload: { body: 'The bakery opens at nine.' } });
    assert.equal(edited.statusCode, 200, edited.body);
    assert.deepEqual(await found(ada, { q: 'bakery' }), [ids['opens']]);
    assert.ok(!(await found(ada, { q: 'cafe' })).includes(ids['opens'] as string), 'its old words are gone from the index');
    assert.equal((await t.as(owner, { method: 'DELETE', url: `/api/v1/rooms/${general}/messages/${ids['moved']}` })).statusCode, 200);
    assert.deepEqual(await found(ada, { q: 'meeting' }), []);
  });

  test('someone who leaves a private room no longer finds its messages', async () => {
    await t.as(owner, { method: 'POST', url: `/api/v1/rooms/${secret}/members`, payload: { accountId: grace.accountId } });
    assert.deepEqual(await found(grace, { q: 'plans' }), [ids['secret']]);
    await t.as(grace, { method: 'DELETE', url: `/api/v1/rooms/${secret}/members/${grace.accountId}` });
    assert.deepEqual(await found(grace, { q: 'plans' }), []);
  });

  test('terms a crash lost are indexed at the next start', async () => {
    const lost = await post(ada, general, 'zeppelin sighting reported');
    await t.ctx.searchIndexer.flush();
    await deleteTerms(t.ctx.database, lost);
    assert.deepEqual(await found(ada, { q: 'zeppelin' }), []);
    const { dirname } = await import('node:path');
    const restarted = await createTestApp(engine, {}, { dir: dirname(t.ctx.config.dataDir), pgSchema: t.pgSchema });
    try {
      const again = await restarted.login(ada.email, ada.password);
      const response = await restarted.as(again, { method: 'GET', url: '/api/v1/search?q=zeppelin' });
      assert.deepEqual(response.json<{ results: Hit[] }>().results.map((r) => r.message.id), [lost]);
    } finally {
      await restarted.app.close();
      await restarted.ctx.close();
    }
  });

  test('a database indexed before 0005 (SQLite: a term table) keeps its search after the upgrade', { skip: engine !== 'sqlite' }, async () => {
    const db = t.ctx.database.db;
    await t.ctx.searchIndexer.flush();
    const before = await found(ada, { q: 'cafe nine' });
    // Back to what 0004 left: a B-tree table of one row per term, and no FTS index.
    await sql`create table message_terms (term text not null, message_id text not null references messages(id) on delete cascade, room_id text not null, primary key (term, message_id))`.execute(db);
    for (const id of Object.values(ids)) {
      const row = await db.selectFrom('messages').select(['id', 'room_id', 'body', 'deleted_at']).where('id', '=', id).executeTakeFirstOrThrow();
      if (row.deleted_at !== null) continue;
      const cipher = await t.ctx.keyring.owner(row.room_id, [row.body]);
      const keys = await t.ctx.keyring.instance(cipher.instanceId ?? '');
      const terms = blindTerms(keys, openMessage(cipher, row as MessageRow).body);
      await db.insertInto('message_terms').values(terms.map((term) => ({ term, message_id: row.id, room_id: row.room_id }))).execute();
    }
    await sql`drop table message_search_rows`.execute(db);
    await sql`drop table message_search`.execute(db);
    // Migrations after 0005 are undone too (newest first), so the database is what 0004 left and the migrator
    // applies 0005 and everything after it in order.
    const names = Object.keys(MIGRATIONS);
    for (const name of names.slice(names.indexOf('0005-search-index') + 1).reverse()) await MIGRATIONS[name]!.down?.(db as never);
    await db.deleteFrom('kysely_migration' as never).where('name' as never, '>=', '0005-search-index' as never).execute();

    const { dirname } = await import('node:path');
    const restarted = await createTestApp(engine, {}, { dir: dirname(t.ctx.config.dataDir) });
    try {
      const tables = (await sql<{ name: string }>`select name from sqlite_master where type = 'table'`.execute(restarted.ctx.database.db)).rows.map((r) => r.name);
      assert.ok(!tables.includes('message_terms') && tables.includes('message_search'), tables.join(', '));
      const again = await restarted.login(ada.email, ada.password);
      const response = await restarted.as(again, { method: 'GET', url: '/api/v1/search?q=cafe+nine' });
      assert.deepEqual(response.json<{ results: Hit[] }>().results.map((r) => r.message.id), before);
      assert.ok(before.length >= 2, 'the search found something to carry over');
    } finally {
      await restarted.app.close();
      await restarted.ctx.close();
    }
  });

  test('bad input: a clear 4xx with a catalog code', async () => {
    const cases: Array<[string, number, string]> = [
      ['', 400, 'VALIDATION_FAILED'],
      ['q=', 400, 'VALIDATION_FAILED'],
      [`q=${encodeURIComponent('!!! ... ???')}`, 400, 'SEARCH_QUERY_EMPTY'],
      [`q=${encodeURIComponent(Array.from({ length: 17 }, (_, i) => `w${i}`).join(' '))}`, 400, 'SEARCH_TOO_MANY_WORDS'],
      [`q=${'a'.repeat(501)}`, 400, 'VALIDATION_FAILED'],
      [`q=${encodeURIComponent('cafe\u0000')}`, 400, 'VALIDATION_FAILED'],
      ['q=cafe&limit=0', 400, 'VALIDATION_FAILED'],
      ['q=cafe&limit=51', 400, 'VALIDATION_FAILED'],
      ['q=cafe&limit=ten', 400, 'VALIDATION_FAILED'],
      ['q=cafe&before=yesterday', 400, 'VALIDATION_FAILED'],
      ['q=cafe&instanceId=not-an-id', 400, 'VALIDATION_FAILED'],
      ['q=cafe&sort=oldest', 400, 'VALIDATION_FAILED'],
      [`q=cafe&instanceId=${instanceB}`, 404, 'INSTANCE_NOT_FOUND'],
      [`q=cafe&roomId=${secret}`, 404, 'ROOM_NOT_FOUND'],
      [`q=cafe&roomId=00000000-0000-7000-8000-000000000000`, 404, 'ROOM_NOT_FOUND'],
      [`q=cafe&roomId=${general}&instanceId=${instanceB}`, 404, 'ROOM_NOT_FOUND'],
    ];
    for (const [query, status, code] of cases) {
      const response = await t.as(ada, { method: 'GET', url: `/api/v1/search?${query}` });
      assert.equal(response.statusCode, status, `${query}: ${response.body}`);
      assert.equal(response.json().error.code, code, query);
    }
    const wrongInstance = await t.as(owner, { method: 'GET', url: `/api/v1/search?q=cafe&roomId=${general}&instanceId=${instanceB}` });
    assert.equal(wrongInstance.json().error.code, 'ROOM_NOT_FOUND', 'a room outside the named instance');
    assert.equal((await t.inject({ method: 'GET', url: '/api/v1/search?q=cafe' })).statusCode, 401);
  });
});
