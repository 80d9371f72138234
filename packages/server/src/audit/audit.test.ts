import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { sql } from 'kysely';
import { closeTestPools, createTestApp, describeEachEngine, type Client, type TestApp } from '../testing/test-app.ts';
import { entryLeaf, signCheckpoint, signerFromSeed, verifyAuditLog, type AuditRow, type VerifyReport } from './index.ts';

after(closeTestPools);

/**
 * Verifies as `conclave audit verify` does, in worker threads (two, so the ranges are a few entries each and
 * checkpoints fall inside them and at their ends), and again in this thread alone: both must say the same.
 */
const verify = async (t: TestApp): Promise<VerifyReport> => {
  const options = { keyName: t.ctx.audit.keyName, publicKey: t.ctx.audit.publicKey, witnessPath: t.ctx.config.auditWitnessPath };
  const connection = { databaseUrl: t.ctx.config.databaseUrl, dataDir: t.ctx.config.dataDir, pgSchema: t.pgSchema };
  const inWorkers = await verifyAuditLog(t.ctx.database.db, { ...options, connection, workers: 2 });
  const alone = await verifyAuditLog(t.ctx.database.db, options);
  assert.equal(inWorkers.workers, 2, 'the entries were recomputed in two worker threads');
  assert.equal(alone.workers, 0);
  assert.deepEqual({ ...inWorkers, workers: 0 }, alone, 'worker threads and this thread alone report the same');
  return inWorkers;
};

describeEachEngine('audit log: what is recorded', (engine) => {
  let t: TestApp;
  let owner: Client;
  let reader: Client;
  let rooms: Record<string, { id: string; instanceId: string }>;

  before(async () => {
    t = await createTestApp(engine);
    const setup = await t.setUp();
    owner = setup.owner;
    const second = await t.as(owner, { method: 'POST', url: '/api/v1/instances', payload: { slug: `second-${randomBytes(3).toString('hex')}`, name: 'Second', signupMode: 'open' } });
    const secondId = second.json<{ id: string }>().id;
    const room = async (instanceId: string, name: string) => ({ id: (await t.as(owner, { method: 'POST', url: `/api/v1/instances/${instanceId}/rooms`, payload: { name } })).json<{ id: string }>().id, instanceId });
    rooms = { a1: await room(setup.instanceId, 'A one'), a2: await room(setup.instanceId, 'A two'), a3: await room(setup.instanceId, 'A three'), b1: await room(secondId, 'B one') };
    for (const { id } of Object.values(rooms)) await t.as(owner, { method: 'POST', url: `/api/v1/rooms/${id}/messages`, payload: { body: 'audited words' } });
    reader = await t.login(owner.email, owner.password, 'bearer');
  });
  after(() => t.close());

  test('a drill: one bearer session reads three rooms in two instances; the log holds exactly those reads, with hashed client', async () => {
    const headers = { 'user-agent': 'drill-client/1.0' };
    for (const key of ['a1', 'a2', 'b1'] as const) {
      const response = await t.as(reader, { method: 'GET', url: `/api/v1/rooms/${rooms[key]?.id}/messages`, headers });
      assert.equal(response.statusCode, 200);
    }
    const session = (await t.ctx.database.db.selectFrom('sessions').select('id').where('token_hash', '=', (await import('../crypto/index.ts')).hashToken(reader.token)).executeTakeFirstOrThrow()).id;
    const reads = await t.ctx.database.db.selectFrom('audit_entries').selectAll().where('session_id', '=', session).where('action', '=', 'room.read').orderBy('seq').execute();
    assert.deepEqual(
      reads.map((r) => [r.room_id, r.instance_id]),
      [rooms['a1'], rooms['a2'], rooms['b1']].map((r) => [r?.id, r?.instanceId]),
    );
    for (const read of reads) {
      assert.equal(read.actor_id, owner.accountId);
      assert.equal(read.ip_hash, t.ctx.audit.clientHash('ip', '127.0.0.1'), 'the address, as a keyed hash an investigator can compute');
      assert.equal(read.ua_hash, t.ctx.audit.clientHash('ua', 'drill-client/1.0'));
      const detail = JSON.parse(read.detail) as { kind: string; count: number; first: string };
      assert.equal(detail.kind, 'history');
      assert.equal(detail.count, 1);
    }
    const dump = JSON.stringify(await t.ctx.database.db.selectFrom('audit_entries').selectAll().execute());
    assert.ok(!dump.includes('127.0.0.1') && !dump.includes('drill-client') && !dump.includes('audited words'), 'no address, user agent or content in clear');
  });

  test('search, single messages, log-ins (known and unknown email alike), log-out and admin actions are recorded', async () => {
    const found = await t.as(reader, { method: 'GET', url: '/api/v1/search?q=audited' });
    assert.equal(found.statusCode, 200);
    const hit = found.json<{ results: Array<{ message: { id: string; roomId: string } }> }>().results[0];
    assert.ok(hit);
    assert.equal((await t.as(reader, { method: 'GET', url: `/api/v1/rooms/${hit.message.roomId}/messages/${hit.message.id}` })).statusCode, 200);
    await t.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: owner.email, password: 'wrong password here', mode: 'bearer' } });
    await t.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: 'nobody@example.org', password: 'wrong password here', mode: 'bearer' } });
    const extra = await t.login(owner.email, owner.password, 'bearer');
    await t.as(extra, { method: 'POST', url: '/api/v1/auth/logout' });
    await t.as(owner, { method: 'PATCH', url: `/api/v1/rooms/${rooms['a3']?.id}`, payload: { topic: 'new topic' } });
    const entries = await t.ctx.database.db.selectFrom('audit_entries').selectAll().orderBy('seq').execute();
    const kinds = entries.map((e) => `${e.action}${e.action === 'room.read' ? `:${(JSON.parse(e.detail) as { kind: string }).kind}` : ''}`);
    for (const kind of ['setup.complete', 'room.read:search', 'room.read:message', 'auth.login', 'auth.login_failed', 'session.end', 'room.update', 'room.create', 'instance.create']) {
      assert.ok(kinds.includes(kind), `${kind} in ${[...new Set(kinds)].join(', ')}`);
    }
    const failures = entries.filter((e) => e.action === 'auth.login_failed');
    assert.equal(failures.length, 2);
    assert.deepEqual(Object.keys(JSON.parse(failures[0]?.detail ?? '{}') as object), Object.keys(JSON.parse(failures[1]?.detail ?? '{}') as object), 'a known and an unknown email leave the same shape');
    assert.ok(!JSON.stringify(failures).includes(owner.email), 'the email only as its blind index');
  });

  test('fail closed: a read whose audit entry cannot be written is not served', async () => {
    const db = t.ctx.database.db;
    await sql`alter table audit_entries rename to audit_entries_away`.execute(db);
    try {
      const refused = await t.as(reader, { method: 'GET', url: `/api/v1/rooms/${rooms['a1']?.id}/messages` });
      assert.equal(refused.statusCode, 503);
      assert.equal(refused.json().error.code, 'AUDIT_UNAVAILABLE');
      assert.ok(!refused.body.includes('audited words'), 'no content without its audit entry');
    } finally {
      await sql`alter table audit_entries_away rename to audit_entries`.execute(db);
    }
    assert.equal((await t.as(reader, { method: 'GET', url: `/api/v1/rooms/${rooms['a1']?.id}/messages` })).statusCode, 200);
  });
});

describeEachEngine('audit log: verify catches tampering and says where', (engine) => {
  /** 45 entries with signed, witnessed checkpoints at 30, 40 and 45. */
  const build = async (): Promise<TestApp> => {
    const t = await createTestApp(engine);
    const add = async (n: number): Promise<void> => {
      await Promise.all(Array.from({ length: n }, (_, i) => t.ctx.audit.record({ action: 'test.event', actorId: `actor-${i}`, detail: { i } })));
    };
    await add(30);
    await t.ctx.audit.checkpoint();
    await add(10);
    await t.ctx.audit.checkpoint();
    await add(5);
    await t.ctx.audit.checkpoint();
    return t;
  };
  const rows = (t: TestApp): Promise<AuditRow[]> => t.ctx.database.db.selectFrom('audit_entries').selectAll().orderBy('seq').execute();
  const rewrite = async (t: TestApp, seq: number, patch: Partial<AuditRow>, recomputeLeaf: boolean): Promise<void> => {
    const row = (await rows(t)).find((r) => Number(r.seq) === seq) as AuditRow;
    const next = { ...row, ...patch };
    await t.ctx.database.db.updateTable('audit_entries').set({ ...patch, ...(recomputeLeaf ? { leaf_hash: entryLeaf(next).toString('hex') } : {}) }).where('seq', '=', seq).execute();
  };
  const check = async (tamper: (t: TestApp) => Promise<void>, expected: { firstBadSeq: number; message: RegExp }): Promise<void> => {
    const t = await build();
    try {
      const clean = await verify(t);
      assert.ok(clean.ok, JSON.stringify(clean.problems));
      assert.equal(clean.entries, 45);
      assert.equal(clean.checkpoints, 3);
      assert.equal(clean.witnessed, 3);
      await tamper(t);
      const report = await verify(t);
      assert.equal(report.ok, false);
      assert.equal(report.firstBadSeq, expected.firstBadSeq, JSON.stringify(report.problems));
      assert.ok(report.problems.some((p) => expected.message.test(p.message)), JSON.stringify(report.problems));
    } finally {
      await t.close();
    }
  };

  test('a field of an old entry changed: located exactly', () => check((t) => rewrite(t, 5, { actor_id: 'someone-else' }, false), { firstBadSeq: 5, message: /entry 5 was altered/ }));

  test('a field changed and its leaf recomputed (an attacker who knows the format): the checkpoint root fails', () =>
    check((t) => rewrite(t, 5, { actor_id: 'someone-else' }, true), { firstBadSeq: 1, message: /entries 1–30 do not match a stored checkpoint/ }));

  test('an entry deleted in the middle: a gap', () =>
    check(async (t) => {
      await t.ctx.database.db.deleteFrom('audit_entries').where('seq', '=', 12).execute();
    }, { firstBadSeq: 12, message: /entries 12–12 are missing/ }));

  test('the newest entries and their checkpoint deleted: the witness saw them', () =>
    check(async (t) => {
      await t.ctx.database.db.deleteFrom('audit_entries').where('seq', '>', 42).execute();
      await t.ctx.database.db.deleteFrom('audit_checkpoints').where('size', '>', 42).execute();
      await t.ctx.database.db.updateTable('audit_head').set({ seq: 42 }).execute();
    }, { firstBadSeq: 43, message: /the newest entries are missing: the log ends at 42, but the witness \(line 3\) saw 45/ }));

  test('two entries reordered (contents swapped, leaves recomputed): the next checkpoint fails', () =>
    check(async (t) => {
      const all = await rows(t);
      const [a, b] = [all[32], all[33]] as [AuditRow, AuditRow];
      await rewrite(t, 33, { actor_id: b.actor_id, detail: b.detail }, true);
      await rewrite(t, 34, { actor_id: a.actor_id, detail: a.detail }, true);
    }, { firstBadSeq: 31, message: /entries 31–40 do not match/ }));

  test('a forged entry inserted (later ones renumbered, leaves recomputed): the first checkpoint fails', () =>
    check(async (t) => {
      const all = await rows(t);
      const db = t.ctx.database.db;
      await db.deleteFrom('audit_entries').where('seq', '>=', 20).execute();
      const forged = { seq: 20, at: Number(all[19]?.at), action: 'test.event', instance_id: null, actor_id: 'forger', session_id: null, room_id: null, detail: '{}', ip_hash: null, ua_hash: null };
      const shifted = [forged, ...all.slice(19).map((r) => ({ ...r, seq: Number(r.seq) + 1 }))].map((r) => ({ ...r, leaf_hash: entryLeaf(r).toString('hex') }));
      await db.insertInto('audit_entries').values(shifted).execute();
      await db.updateTable('audit_head').set({ seq: 46 }).execute();
    }, { firstBadSeq: 1, message: /entries 1–30 do not match/ }));

  test('the checkpoint key replaced (checkpoints re-signed by another key): every stored checkpoint fails', () =>
    check(async (t) => {
      const forger = signerFromSeed(randomBytes(32), t.ctx.audit.keyName);
      const db = t.ctx.database.db;
      for (const row of await db.selectFrom('audit_checkpoints').selectAll().execute()) {
        const note = signCheckpoint(forger, { origin: t.ctx.audit.keyName, size: Number(row.size), root: Buffer.from(row.root_hash, 'hex') });
        await db.updateTable('audit_checkpoints').set({ note }).where('size', '=', row.size).execute();
      }
    }, { firstBadSeq: 30, message: /the checkpoint at size 30: its signature is not by the audit key/ }));

  test('silences are reported between entries of one range and across ranges, by workers as by one thread', async () => {
    const t = await build();
    try {
      const hours = 3 * 3_600_000;
      for (const row of await rows(t)) {
        const seq = Number(row.seq);
        if (seq >= 9) await rewrite(t, seq, { at: Number(row.at) + (seq >= 14 ? 2 : 1) * hours }, true);
      }
      const report = await verify(t);
      assert.deepEqual(
        report.silences.map((s) => s.replace(/\d+ min/, 'N min')),
        ['nothing was recorded for N min after entry 8 (no heartbeat, no stop entry)', 'nothing was recorded for N min after entry 13 (no heartbeat, no stop entry)'],
      );
    } finally {
      await t.close();
    }
  });

  test('a worker that cannot read the log fails verify, rather than passing or waiting', async () => {
    const t = await build();
    try {
      const connection = engine === 'sqlite' ? { databaseUrl: undefined, dataDir: join(t.ctx.config.dataDir, 'elsewhere') } : { databaseUrl: t.ctx.config.databaseUrl, dataDir: t.ctx.config.dataDir, pgSchema: 'no_such_schema' };
      await assert.rejects(verifyAuditLog(t.ctx.database.db, { keyName: t.ctx.audit.keyName, publicKey: t.ctx.audit.publicKey, witnessPath: t.ctx.config.auditWitnessPath, connection, workers: 2 }));
    } finally {
      await t.close();
    }
  });

  test('a new process resumes the tree from the newest checkpoint, and rebuilds it when the stored range is wrong', async () => {
    const t = await build();
    const { dirname } = await import('node:path');
    try {
      for (const frontier of ['keep', '["0000000000000000000000000000000000000000000000000000000000000000"]']) {
        if (frontier !== 'keep') await t.ctx.database.db.updateTable('audit_checkpoints').set({ frontier }).where('size', '=', 45).execute();
        const next = await createTestApp(engine, {}, { dir: dirname(t.ctx.config.dataDir), pgSchema: t.pgSchema });
        try {
          await next.ctx.audit.record({ action: 'test.event', detail: { after: frontier } });
          await next.ctx.audit.checkpoint();
        } finally {
          await next.app.close();
          await next.ctx.close();
        }
      }
      const report = await verify(t);
      assert.ok(report.ok, JSON.stringify(report.problems));
      assert.ok(report.checkpoints >= 5, `${report.checkpoints} checkpoints`);
    } finally {
      await t.close();
    }
  });

  test('the witness file is append-only evidence: each line verifies on its own', async () => {
    const t = await build();
    try {
      const lines = (await readFile(t.ctx.config.auditWitnessPath, 'utf8')).trim().split('\n');
      assert.equal(lines.length, 3);
      assert.match(JSON.parse(lines[2] as string).note as string, new RegExp(`^${t.ctx.audit.keyName.replace('/', '\\/')}\\n45\\n`));
    } finally {
      await t.close();
    }
  });
});

test('room content tables are read only in the chat and realtime query modules (the road through accessRoom)', async () => {
  const src = fileURLToPath(new URL('..', import.meta.url));
  const allowed = new Set([
    'chat/message.queries.ts', // reads behind accessRoom: history, single messages
    'chat/search.queries.ts', // search, behind accessRoom per hit
    'chat/room.queries.ts', // unread counts (no content)
    'realtime/event.queries.ts', // the event log behind resume (recorded per room)
    'crypto/storage.scan.ts', // forms only, never values
    'instances/instance.queries.ts', // deleting an instance's messages
    'db/migrations/0003-encryption.ts', // drops the clear events of 0.1, reads nothing
  ]);
  const offenders: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') && !path.includes(`${join('src', 'testing')}`)) {
        const file = relative(src, path);
        const text = await readFile(path, 'utf8');
        if (/(selectFrom|deleteFrom|updateTable)\(\s*'(messages|message_edits|events)\b/.test(text) && !allowed.has(file)) offenders.push(file);
      }
    }
  };
  await walk(src);
  assert.deepEqual(offenders, [], 'room content is queried outside the modules accessRoom guards');
});

describeEachEngine('audit log: bundles and the access report', (engine) => {
  let t: TestApp;
  let owner: Client;
  let member: Client;
  let instanceId: string;
  let roomId: string;

  before(async () => {
    t = await createTestApp(engine);
    ({ owner, member, instanceId } = await t.setUpWithMember());
    roomId = (await t.as(owner, { method: 'POST', url: `/api/v1/instances/${instanceId}/rooms`, payload: { name: 'Reported' } })).json<{ id: string }>().id;
    await t.as(member, { method: 'POST', url: `/api/v1/rooms/${roomId}/join` });
    await t.as(member, { method: 'GET', url: `/api/v1/rooms/${roomId}/messages` });
  });
  after(() => t.close());

  test('an admin sees who read which rooms; members and outsiders do not; reading the report is recorded', async () => {
    const noCheckpoint = await t.as(owner, { method: 'GET', url: `/api/v1/instances/${instanceId}/audit/checkpoint` });
    assert.equal(noCheckpoint.json().error.code, 'AUDIT_NO_CHECKPOINT');
    const report = await t.as(owner, { method: 'GET', url: `/api/v1/instances/${instanceId}/audit/access` });
    assert.equal(report.statusCode, 200, report.body);
    const entries = report.json<{ entries: Array<{ action: string; roomId: string; actorId: string }> }>().entries;
    assert.ok(entries.some((e) => e.roomId === roomId && e.actorId === member.accountId && e.action === 'room.read'));
    assert.equal((await t.as(member, { method: 'GET', url: `/api/v1/instances/${instanceId}/audit/access` })).json().error.code, 'FORBIDDEN');
    assert.equal((await t.as(owner, { method: 'GET', url: `/api/v1/instances/${instanceId}/audit/access?limit=0` })).json().error.code, 'VALIDATION_FAILED');
    assert.equal((await t.as(owner, { method: 'GET', url: `/api/v1/instances/${instanceId}/audit/access?since=yesterday` })).json().error.code, 'VALIDATION_FAILED');
    const recorded = await t.ctx.database.db.selectFrom('audit_entries').select('action').where('action', '=', 'audit.read').execute();
    assert.ok(recorded.length >= 1);
    const signedUp = await t.ctx.database.db.selectFrom('audit_entries').selectAll().where('action', '=', 'instance.join').execute();
    assert.deepEqual(signedUp.map((e) => [e.instance_id, e.actor_id]), [[instanceId, member.accountId]], 'sign-up into the instance is recorded');
    const joined = await t.ctx.database.db.selectFrom('audit_entries').selectAll().where('action', '=', 'room.join').execute();
    assert.deepEqual(joined.map((e) => [e.room_id, e.actor_id]), [[roomId, member.accountId]], 'a join (the stream hears the room from then on) is recorded');
    await t.ctx.audit.checkpoint();
    const checkpoint = await t.as(owner, { method: 'GET', url: `/api/v1/instances/${instanceId}/audit/checkpoint` });
    assert.equal(checkpoint.statusCode, 200, checkpoint.body);
    assert.equal(checkpoint.json().publicKey, t.ctx.audit.publicKey.toString('base64'));
  });

  test('an exported bundle verifies offline with the public key alone, and not once altered', async () => {
    const { exportBundle, verifyBundle } = await import('./index.ts');
    await t.ctx.audit.checkpoint();
    await t.as(member, { method: 'GET', url: `/api/v1/rooms/${roomId}/messages` });
    await t.ctx.audit.checkpoint();
    const bundle = await exportBundle(t.ctx.database.db, { keyName: t.ctx.audit.keyName, publicKey: t.ctx.audit.publicKey }, { instanceId });
    assert.ok(bundle.entries.length >= 3 && bundle.earlier.length >= 1);
    assert.ok(bundle.entries.every(({ entry }) => entry.instance_id === instanceId));
    const offline = JSON.parse(JSON.stringify(bundle)) as typeof bundle;
    const report = verifyBundle(offline, t.ctx.audit.publicKey);
    assert.ok(report.ok, JSON.stringify(report.problems));
    const altered = JSON.parse(JSON.stringify(bundle)) as typeof bundle;
    (altered.entries[1] as (typeof altered.entries)[number]).entry.actor_id = 'someone-else';
    assert.match(verifyBundle(altered, t.ctx.audit.publicKey).problems.join(), /entry \d+ is not in the signed log/);
    assert.match(verifyBundle(offline, signerFromSeed(randomBytes(32), 'x').publicKey).problems.join(), /different public key/);
    const rewritten = JSON.parse(JSON.stringify(bundle)) as typeof bundle;
    (rewritten.earlier[0] as (typeof rewritten.earlier)[number]).consistency = [randomBytes(32).toString('hex')];
    assert.match(verifyBundle(rewritten, t.ctx.audit.publicKey).problems.join(), /is not consistent with the one at/);
  });
});

describeEachEngine('audit log: a webhook witness', (engine) => {
  test('every checkpoint is POSTed to CONCLAVE_AUDIT_WITNESS_URL and verifies there', async () => {
    const { createServer } = await import('node:http');
    const { openCheckpoint } = await import('./index.ts');
    const received: Array<{ at: number; note: string }> = [];
    const server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        received.push(JSON.parse(body) as { at: number; note: string });
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const t = await createTestApp(engine, { CONCLAVE_AUDIT_WITNESS_URL: `http://127.0.0.1:${port}/witness` });
    try {
      await t.ctx.audit.record({ action: 'test.event' });
      await t.ctx.audit.checkpoint();
      assert.equal(received.length, 1);
      const opened = openCheckpoint(received[0]?.note ?? '', t.ctx.audit.keyName, t.ctx.audit.publicKey);
      assert.ok(opened.ok && opened.checkpoint.size === 1);
    } finally {
      await t.close();
      server.close();
    }
  });
});
