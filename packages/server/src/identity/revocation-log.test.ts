import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import type { RevokeScope } from '../realtime/index.ts';
import { closeTestPools, createTestApp, describeEachEngine, type TestApp } from '../testing/test-app.ts';
import { followRevocationLog, type RevocationFeed } from './revocation.feed.ts';
import { insertRevocations } from './revocation.queries.ts';
import { publishRevocations } from './session.actions.ts';

after(closeTestPools);

const MINUTE_MS = 60_000;
/** A scope that matches no socket: what the feed does with it is only to hand it over. */
const harmless = (): RevokeScope => ({ kind: 'session', sessionId: `test-${randomBytes(6).toString('hex')}` });
const idOf = (scope: RevokeScope): string => (scope.kind === 'session' ? scope.sessionId : scope.kind);

const waitFor = async (what: string, done: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(10);
  }
};

describeEachEngine('the revocation log', (engine) => {
  let t: TestApp;
  const feeds: RevocationFeed[] = [];

  /** A reader of the log like a gateway's, with its own timings, and what it handed over. */
  const follow = async (options: Parameters<typeof followRevocationLog>[2] = {}) => {
    const applied: string[] = [];
    const feed = followRevocationLog(t.ctx, (scope) => applied.push(idOf(scope)), { pollMs: 20, ...options });
    feeds.push(feed);
    // Caught up once a row written now is handed over (one written while it took its starting point may not be).
    for (;;) {
      const probe = harmless();
      await insertRevocations(t.ctx.database.db, [JSON.stringify(probe)], Date.now());
      try {
        await waitFor('probe', () => applied.includes(idOf(probe)), 500);
        break;
      } catch {
        // not started yet
      }
    }
    applied.length = 0;
    return applied;
  };
  const scopesInLog = async (): Promise<string[]> =>
    (await t.ctx.database.db.selectFrom('revocation_log').select('scope').orderBy('seq').execute()).map((row) => idOf(JSON.parse(row.scope) as RevokeScope));

  before(async () => {
    t = await createTestApp(engine);
  });
  after(async () => {
    for (const feed of feeds) await feed.stop();
    await t.close();
  });

  test('every published revocation is appended, one row per scope, and handed to readers in order', async () => {
    const applied = await follow();
    const scopes = [harmless(), { kind: 'account', accountId: 'nobody', notBefore: Date.now() + 1 } as const, harmless(), { kind: 'recheck' } as const];
    await publishRevocations(t.ctx, scopes);
    const rows = await t.ctx.database.db.selectFrom('revocation_log').select(['scope', 'created_at']).orderBy('seq', 'desc').limit(4).execute();
    assert.deepEqual(rows.reverse().map((row) => JSON.parse(row.scope) as unknown), scopes);
    assert.ok(rows.every((row) => Math.abs(row.created_at - Date.now()) < MINUTE_MS));
    await waitFor('all four applied', () => applied.length >= 4);
    assert.deepEqual(applied, scopes.map(idOf));
  });

  test('rows older than ten minutes are pruned; newer ones stay', async () => {
    const applied = await follow({ pruneEveryMs: 50, keepMs: 10 * MINUTE_MS });
    const old = [harmless(), harmless(), harmless()];
    const recent = harmless();
    await insertRevocations(t.ctx.database.db, old.map((scope) => JSON.stringify(scope)), Date.now() - 11 * MINUTE_MS);
    await waitFor('the old rows read', () => old.every((scope) => applied.includes(idOf(scope))));
    await insertRevocations(t.ctx.database.db, [JSON.stringify(recent)], Date.now());
    await waitFor('the recent row read', () => applied.includes(idOf(recent)));
    await waitFor('the old rows deleted', async () => {
      const left = await scopesInLog();
      return !old.some((scope) => left.includes(idOf(scope)));
    });
    assert.ok((await scopesInLog()).includes(idOf(recent)), 'a recent row stays');
  });

  // Last: on PostgreSQL it writes seqs ahead of the sequence.
  test('a seq skipped over (a write still committing) is handed over when it appears', async () => {
    const applied = await follow();
    const last = (await t.ctx.database.db.selectFrom('revocation_log').select((eb) => eb.fn.max('seq').as('max')).executeTakeFirstOrThrow()).max ?? 0;
    const late = harmless();
    const early = harmless();
    await t.ctx.database.db.insertInto('revocation_log').values({ seq: Number(last) + 1_000, scope: JSON.stringify(early), created_at: Date.now() }).execute();
    await waitFor('the later seq applied', () => applied.includes(idOf(early)));
    await sleep(100);
    await t.ctx.database.db.insertInto('revocation_log').values({ seq: Number(last) + 999, scope: JSON.stringify(late), created_at: Date.now() }).execute();
    await waitFor('the skipped seq applied', () => applied.includes(idOf(late)));
  });
});
