import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { hash as bcryptHash } from '@node-rs/bcrypt';
import { sql } from 'kysely';
import { scanStorage } from '../crypto/index.ts';
import { databaseUrlFor, runCli } from '../testing/cli-process.ts';
import { dumpDatabase } from '../testing/dump.ts';
import { recordSecret } from '../testing/secret-ledger.ts';
import { closeTestPools, createTestApp, describeEachEngine, newEmail, newPassword, type Client, type TestApp } from '../testing/test-app.ts';
import { ImportError, importAccounts, type ImportFormat } from './index.ts';

after(closeTestPools);

const digest = (algorithm: string, input: string): string => createHash(algorithm).update(input, 'utf8').digest('hex');

interface Person {
  email: string;
  name: string;
  password: string;
  /** What the legacy system stored (or the password itself, for plaintext). */
  stored: string;
  salt?: string;
}

/** A person of the old system: a password with non-ASCII letters (hashed over UTF-8, as old systems did). */
const person = async (label: string, store: (password: string) => Promise<string> | string, salt?: string): Promise<Person> => {
  const password = `${newPassword()}-Grüße`;
  recordSecret(password);
  const stored = await store(password);
  recordSecret(stored);
  return { email: newEmail(label), name: `Imported ${label}`, password, stored, ...(salt !== undefined ? { salt } : {}) };
};

const csvOf = (people: Person[], columns: { secret: 'password' | 'password_hash'; name?: 'display_name' | 'name'; salt?: boolean; extra?: boolean }): string => {
  const quote = (value: string): string => `"${value.replaceAll('"', '""')}"`;
  const header = ['email', columns.name ?? 'display_name', columns.secret, ...(columns.salt ? ['salt'] : []), ...(columns.extra ? ['legacy_id'] : [])];
  const lines = people.map((p, i) => [p.email, p.name, p.stored, ...(columns.salt ? [p.salt ?? ''] : []), ...(columns.extra ? [String(i + 1)] : [])].map(quote).join(','));
  return `${header.join(',')}\r\n${lines.join('\r\n')}\r\n`;
};

const listTables = async (t: TestApp): Promise<string[]> =>
  t.engine === 'sqlite'
    ? (await sql<{ name: string }>`select name from sqlite_master where type = 'table' order by name`.execute(t.ctx.database.db)).rows.map((r) => r.name)
    : (await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = current_schema() order by table_name`.execute(t.ctx.database.db)).rows.map((r) => r.name);

describeEachEngine('legacy import (conclave import users)', (engine) => {
  let t: TestApp;
  let instanceId: string;
  let instanceSlug: string;
  let owner: Client;
  let tablesBefore: string[];
  let dir: string;

  before(async () => {
    t = await createTestApp(engine);
    ({ instanceId, instanceSlug, owner } = await t.setUp());
    tablesBefore = await listTables(t);
    dir = await mkdtemp(join(tmpdir(), 'conclave-import-'));
  });
  after(async () => {
    await t.close();
    await rm(dir, { recursive: true, force: true });
  });

  const storedHash = async (email: string): Promise<string> =>
    (await t.ctx.database.db.selectFrom('accounts').select('password_hash').where('email_key', '=', t.ctx.keyring.emailIndex(email)).executeTakeFirstOrThrow()).password_hash;

  const logIn = (p: Person, password = p.password) => t.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: p.email, password } });

  const countAccounts = async (): Promise<number> => Number((await t.ctx.database.db.selectFrom('accounts').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);

  /** Imports, then checks: nothing weak stored, a wrong password fails, the right one logs in and goes native. */
  const importAndLogIn = async (format: ImportFormat, people: Person[], csv: string, options: { saltOrder?: 'salt+password' | 'password+salt' } = {}): Promise<void> => {
    const summary = await importAccounts(t.ctx, csv, { format, instanceId, chunkSize: 2, ...options });
    assert.deepEqual(summary, { rows: people.length, created: people.length, skipped: 0, ignoredColumns: [] });
    const dump = await dumpDatabase(t);
    for (const p of people) {
      const hash = await storedHash(p.email);
      if (format === 'plaintext') assert.match(hash, /^\$argon2id\$v=19\$/, 'a plaintext password is hashed natively at once');
      else assert.match(hash, new RegExp(`^\\$conclave-legacy\\$${format}\\$[A-Za-z0-9_-]*\\$argon2id\\$v=19\\$m=\\d+,t=\\d+,p=1\\$`), 'the legacy hash is wrapped at once');
      assert.ok(!dump.includes(p.stored) && !dump.includes(p.stored.toLowerCase()) && !dump.includes(p.password), `nothing of ${p.email}'s old password or hash is stored`);
      if (format === 'bcrypt') assert.ok(!dump.includes(p.stored.slice(29)), 'not even the hash part of the bcrypt string');
    }
    if (format !== 'plaintext') {
      const scan = (await scanStorage(t.ctx.database.db, t.engine)).map((f) => `${f.level} ${f.message}`).join('\n');
      assert.match(scan, /warn \d+ account\(s\) are still on a wrapped legacy hash/, 'doctor --scan sees the wrapped hashes');
    }
    for (const p of people) {
      const wrong = await logIn(p, `${p.password}x`);
      assert.equal(wrong.statusCode, 401);
      assert.equal(wrong.json().error.code, 'INVALID_CREDENTIALS');
      if (format !== 'plaintext') assert.ok((await storedHash(p.email)).startsWith('$conclave-legacy$'), 'a wrong password changes nothing');
      const right = await logIn(p);
      assert.equal(right.statusCode, 200, `${format}: ${right.body}`);
      assert.match(await storedHash(p.email), /^\$argon2id\$v=19\$/, 'after the first log-in the stored hash is native argon2id');
      assert.equal((await logIn(p)).statusCode, 200, 'and the native hash logs in');
      const client = await t.login(p.email, p.password);
      const me = await t.as(client, { method: 'GET', url: '/api/v1/me' });
      assert.equal(me.json().account.displayName, p.name);
      assert.deepEqual(me.json().instances.map((i: { slug: string; role: string }) => [i.slug, i.role]), [[instanceSlug, 'member']]);
    }
  };

  test('bcrypt ($2a$, $2b$, $2y$): wrapped, then the original password logs in and the hash goes native', async () => {
    const people = [
      await person('bcrypt-2b', (pw) => bcryptHash(pw, { cost: 4, version: '2b' })),
      await person('bcrypt-2a', (pw) => bcryptHash(pw, { cost: 5, version: '2a' })),
      await person('bcrypt-2y', (pw) => bcryptHash(pw, { cost: 4, version: '2y' })),
    ];
    await importAndLogIn('bcrypt', people, csvOf(people, { secret: 'password_hash' }));
  });

  test('md5, sha1 and sha256, unsalted and salted (either order), hex in any case', async () => {
    const md5 = [await person('md5', (pw) => digest('md5', pw).toUpperCase()), await person('md5-salted', (pw) => digest('md5', `s4lt${pw}`), 's4lt')];
    await importAndLogIn('md5', md5, csvOf(md5, { secret: 'password_hash', salt: true, name: 'name' }));
    const sha1 = [await person('sha1', (pw) => digest('sha1', pw))];
    await importAndLogIn('sha1', sha1, csvOf(sha1, { secret: 'password_hash' }));
    const sha256 = [await person('sha256-salted', (pw) => digest('sha256', `${pw}pepperish`), 'pepperish'), await person('sha256', (pw) => digest('sha256', pw))];
    await importAndLogIn('sha256', sha256, csvOf(sha256, { secret: 'password_hash', salt: true }), { saltOrder: 'password+salt' });
  });

  test('plaintext: hashed natively straight away', async () => {
    const people = [await person('plain-1', (pw) => pw), await person('plain-2', (pw) => pw)];
    await importAndLogIn('plaintext', people, csvOf(people, { secret: 'password' }));
  });

  test('--reset-required: the right password is refused with PASSWORD_RESET_REQUIRED, a wrong one like any other', async () => {
    const people = [await person('reset', (pw) => digest('sha1', pw))];
    const summary = await importAccounts(t.ctx, csvOf(people, { secret: 'password_hash' }), { format: 'sha1', resetRequired: true });
    assert.equal(summary.created, 1);
    const [p] = people;
    assert.ok(p);
    const right = await logIn(p);
    assert.equal(right.statusCode, 403, right.body);
    assert.equal(right.json().error.code, 'PASSWORD_RESET_REQUIRED');
    assert.equal(right.cookies.length, 0);
    assert.equal((await logIn(p, `${p.password}!`)).json().error.code, 'INVALID_CREDENTIALS');
  });

  test('a bad file is refused whole, every problem by line number, nothing written', async () => {
    const good = await person('good', (pw) => digest('sha1', pw));
    const dupe = { ...(await person('dupe', (pw) => digest('sha1', pw))), email: good.email.toUpperCase() };
    const md5InSha1 = await person('wrong-kind', (pw) => digest('md5', pw));
    const badEmail = { ...(await person('bad-email', (pw) => digest('sha1', pw))), email: 'not an email' };
    const before = await countAccounts();
    const expectProblems = async (csv: string, format: ImportFormat, expected: Array<[number, RegExp]>): Promise<void> => {
      await assert.rejects(importAccounts(t.ctx, csv, { format }), (error: unknown) => {
        assert.ok(error instanceof ImportError, String(error));
        assert.equal(error.problems.length, expected.length, JSON.stringify(error.problems));
        expected.forEach(([line, pattern], i) => {
          assert.equal(error.problems[i]?.line, line, JSON.stringify(error.problems[i]));
          assert.match(error.problems[i]?.problem ?? '', pattern);
        });
        assert.ok(!JSON.stringify(error.problems).includes(md5InSha1.stored), 'a problem never echoes a hash');
        return true;
      });
    };
    await expectProblems(csvOf([good, md5InSha1, dupe, badEmail], { secret: 'password_hash' }), 'sha1', [
      [3, /password_hash is not a sha1 hash \(40 hexadecimal characters\)/],
      [4, /email duplicates line 2/],
      [5, /email is not a valid address/],
    ]);
    await expectProblems(csvOf([good], { secret: 'password' }), 'sha1', [[1, /missing column\(s\): password_hash/]]);
    await expectProblems('email,password_hash\nsomeone@example.org,abc\n', 'md5', [[1, /missing column\(s\): display_name \(or name\)/]]);
    await expectProblems(csvOf([good], { secret: 'password_hash' }), 'bcrypt', [[2, /not a bcrypt hash/]]);
    await expectProblems(`email,name,password_hash\n${good.email},"unclosed,${good.stored}\n`, 'sha1', [[2, /not readable as CSV/]]);
    assert.equal(await countAccounts(), before, 'no account was created');
    assert.equal((await logIn(good)).json().error.code, 'INVALID_CREDENTIALS');
  });

  test('a second run creates nothing twice; an account that existed is left alone; no staging table remains', async () => {
    // The owner's email in the file, with another password: the existing account must not change.
    const ownerHash = await storedHash(owner.email);
    const impostor = { ...(await person('impostor', (pw) => digest('sha256', pw))), email: owner.email.toUpperCase() };
    const people = [await person('twice-1', (pw) => digest('sha256', pw)), impostor, await person('twice-2', (pw) => digest('sha256', pw))];
    const csv = csvOf(people, { secret: 'password_hash', extra: true });
    const first = await importAccounts(t.ctx, csv, { format: 'sha256', chunkSize: 2 });
    assert.deepEqual(first, { rows: 3, created: 2, skipped: 1, ignoredColumns: ['legacy_id'] });
    assert.equal(await storedHash(owner.email), ownerHash, 'the existing account keeps its password');
    assert.equal((await logIn(impostor)).json().error.code, 'INVALID_CREDENTIALS', 'the file\'s password does not log into it');
    const afterFirst = await countAccounts();
    const second = await importAccounts(t.ctx, csv, { format: 'sha256', chunkSize: 2 });
    assert.deepEqual(second, { rows: 3, created: 0, skipped: 3, ignoredColumns: ['legacy_id'] });
    assert.equal(await countAccounts(), afterFirst);
    assert.deepEqual(await listTables(t), tablesBefore, 'the import leaves no table behind');
  });

  test('the conclave binary imports a file, reports bad lines and exits 1, and the people log in through the API', async () => {
    const env: Record<string, string> = { ...t.env, LOG_LEVEL: 'warn' };
    if (t.pgSchema) env['DATABASE_URL'] = databaseUrlFor(t.pgSchema);
    const people = [await person('cli-1', (pw) => bcryptHash(pw, { cost: 4 })), await person('cli-2', (pw) => bcryptHash(pw, { cost: 4 }))];
    const file = join(dir, 'users.csv');
    await writeFile(file, csvOf([...people, { ...people[0]!, email: 'broken@' }], { secret: 'password_hash' }));
    const bad = await runCli(['import', 'users', '--file', file, '--hash', 'bcrypt', '--instance', instanceSlug], env);
    assert.equal(bad.code, 1, bad.stderr);
    assert.match(bad.stderr, new RegExp(`${file.replaceAll('/', '\\/')}:4: email is not a valid address`));
    assert.match(bad.stderr, /nothing was imported/);
    await writeFile(file, csvOf(people, { secret: 'password_hash' }));
    const ok = await runCli(['import', 'users', '--file', file, '--hash', 'bcrypt', '--instance', instanceSlug, '--reset-required'], env);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /2 row\(s\), 2 account\(s\) created as members of .*, 0 skipped/);
    assert.match(ok.stdout, /Now delete/);
    for (const p of people) assert.ok(!ok.stdout.includes(p.stored) && !ok.stderr.includes(p.stored), 'the command never prints a hash');
    assert.equal((await logIn(people[0]!)).json().error.code, 'PASSWORD_RESET_REQUIRED', '--reset-required reached the accounts');
    await t.ctx.database.db.updateTable('accounts').set({ reset_required_at: null }).where('email_key', '=', t.ctx.keyring.emailIndex(people[0]!.email)).execute();
    assert.equal((await logIn(people[0]!)).statusCode, 200, 'once the reset flag is gone, the bcrypt password logs in');
    const again = await runCli(['import', 'users', '--file', file, '--hash', 'bcrypt'], env);
    assert.match(again.stdout, /0 account\(s\) created, 2 skipped/);
    const help = await runCli(['import', 'users', '--help'], env);
    assert.match(help.stdout, /--hash md5\|sha1\|sha256 +email, display_name \(or name\), password_hash, and optionally salt/);
  });
});
