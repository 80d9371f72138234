import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, test } from 'node:test';
import { cliWorkspace, runCli } from '../testing/cli-process.ts';
import { recordSecret } from '../testing/secret-ledger.ts';
import { call, freshPgDatabase, startServer, type ServerProcess } from '../testing/server-process.ts';
import { closeTestPools, describeEachEngine, newEmail, newPassword } from '../testing/test-app.ts';

after(closeTestPools);

interface Message {
  id: string;
  roomId: string;
  body: string;
}

/** Every message of a room through the API, oldest first (pages of 100, walking back with `before`). */
const readHistory = async (base: string, token: string, roomId: string): Promise<Message[]> => {
  const all: Message[] = [];
  let before: string | undefined;
  for (;;) {
    const page = await call(base, 'GET', `/api/v1/rooms/${roomId}/messages?limit=100${before ? `&before=${before}` : ''}`, { token });
    assert.equal(page.status, 200, JSON.stringify(page.body));
    const messages = page.body['messages'] as Message[];
    all.unshift(...messages);
    if (page.body['hasMore'] !== true || messages.length === 0) return all;
    before = (messages[0] as Message).id;
  }
};

const rooms = async (base: string, token: string, instanceId: string) => {
  const list = await call(base, 'GET', `/api/v1/instances/${instanceId}/rooms`, { token });
  assert.equal(list.status, 200, JSON.stringify(list.body));
  return (list.body['rooms'] as Array<{ id: string; name: string; topic: string; privacy: string }>)
    .map(({ id, name, topic, privacy }) => ({ id, name, topic, privacy }))
    .sort((a, b) => a.id.localeCompare(b.id));
};

const logIn = async (base: string, email: string, password: string): Promise<{ token: string; accountId: string }> => {
  const response = await call(base, 'POST', '/api/v1/auth/login', { body: { email, password, mode: 'bearer' } });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  const token = response.body['token'] as string;
  recordSecret(token);
  return { token, accountId: (response.body['account'] as { id: string }).id };
};
const login = async (base: string, email: string, password: string): Promise<string> => (await logIn(base, email, password)).token;

describeEachEngine('backup and restore', (engine) => {
  test('a backup taken while clients post restores onto a fresh target: every room reads the same, the audit log verifies; not without the keys', async () => {
    const cleanups: Array<() => Promise<unknown>> = [];
    let stop = false;
    let posting: Promise<unknown> = Promise.resolve();
    const limits = { MESSAGE_RATE_LIMIT: '100000/1m', AUTH_RATE_LIMIT_IP: '100000/1m', AUTH_RATE_LIMIT_ACCOUNT: '100000/1m' };
    try {
      const source = await cliWorkspace(engine, 'bksrc', limits);
      cleanups.unshift(() => source.close());
      const server: ServerProcess = await startServer(source.env);
      cleanups.unshift(() => server.stop('SIGKILL'));
      const base = server.url;

      // A populated server: an owner, a member, three rooms (one private, with a topic), some history.
      const ownerEmail = newEmail('bk-owner');
      const ownerPassword = newPassword();
      const setup = await call(base, 'POST', '/api/v1/setup', {
        body: { setupToken: server.setupToken, instance: { slug: 'acme', name: 'Acme' }, owner: { email: ownerEmail, displayName: 'Owner', password: ownerPassword } },
      });
      assert.equal(setup.status, 201, JSON.stringify(setup.body));
      const instanceId = (setup.body['instance'] as { id: string }).id;
      const owner = await login(base, ownerEmail, ownerPassword);
      const invite = await call(base, 'POST', `/api/v1/instances/${instanceId}/invites`, { token: owner, body: {} });
      const memberEmail = newEmail('bk-member');
      const memberPassword = newPassword();
      const signup = await call(base, 'POST', '/api/v1/auth/signup', { body: { email: memberEmail, password: memberPassword, displayName: 'Member', instance: 'acme', inviteToken: invite.body['token'] } });
      assert.equal(signup.status, 202, JSON.stringify(signup.body));
      const { token: member, accountId: memberId } = await logIn(base, memberEmail, memberPassword);
      const roomIds: string[] = [];
      for (const [name, extra] of [['general', {}], ['ops', { topic: 'Backups and restores' }], ['board', { privacy: 'private' }]] as const) {
        const room = await call(base, 'POST', `/api/v1/instances/${instanceId}/rooms`, { token: owner, body: { name, ...extra } });
        assert.equal(room.status, 201, JSON.stringify(room.body));
        const roomId = room.body['id'] as string;
        roomIds.push(roomId);
        if (name === 'board') assert.equal((await call(base, 'POST', `/api/v1/rooms/${roomId}/members`, { token: owner, body: { accountId: memberId } })).status, 204);
        else assert.equal((await call(base, 'POST', `/api/v1/rooms/${roomId}/join`, { token: member })).status, 204);
      }

      // Clients post in every room, before, during and after the backup.
      const acked: Array<{ id: string; at: number }> = [];
      const poster = async (token: string, roomId: string, label: string): Promise<void> => {
        for (let i = 0; !stop && i < 400; i += 1) {
          const posted = await call(base, 'POST', `/api/v1/rooms/${roomId}/messages`, { token, body: { body: `${label} ${i} — ünïcode ✓` } });
          assert.equal(posted.status, 201, JSON.stringify(posted.body));
          acked.push({ id: posted.body['id'] as string, at: Date.now() });
          await sleep(10);
        }
      };
      posting = Promise.all(roomIds.flatMap((roomId, n) => [poster(owner, roomId, `owner in room ${n}`), poster(member, roomId, `member in room ${n}`)]));
      posting.catch(() => undefined); // awaited below; a failure elsewhere first must not leave it unhandled
      // A populated history first (the check below wants more than 30 restored): backup runs in this process now,
      // without a spawned process's seconds of start-up in which the clients used to post.
      for (let i = 0; i < 600 && acked.length < 40; i += 1) await sleep(100);
      await sleep(300);

      const backups = join(source.dir, 'backups');
      const keyVault = join(source.dir, 'key-vault');
      await mkdir(backups);
      await mkdir(keyVault);
      const backupFile = join(backups, 'conclave.backup.tgz');
      const ackedBeforeBackup = new Set(acked.map((a) => a.id));
      const backupStarted = Date.now();
      const backup = await runCli(['backup', '--out', backupFile], source.env);
      const backupEnded = Date.now();
      assert.equal(backup.code, 0, backup.stdout + backup.stderr);
      assert.match(backup.stdout, /Wrote .*conclave\.backup\.tgz .*audit entries under a signed checkpoint/);
      assert.match(backup.stderr, /DOES NOT CONTAIN THE KEYS/, 'the backup says loudly that its keys are elsewhere');
      assert.ok(acked.some((a) => a.at > backupStarted && a.at < backupEnded), 'clients posted while the backup ran');
      await sleep(300);
      stop = true;
      await posting;

      // The keys, exported under a passphrase: refused beside the backup, written elsewhere.
      const passphraseFile = join(source.dir, 'passphrase.txt');
      const passphrase = `correct horse battery ${newPassword()}`;
      recordSecret(passphrase);
      await writeFile(passphraseFile, `${passphrase}\n`, { mode: 0o600 });
      const beside = await runCli(['keys', 'export', '--out', join(backups, 'keys.json'), '--passphrase-file', passphraseFile], source.env);
      assert.equal(beside.code, 1, beside.stdout + beside.stderr);
      assert.match(beside.stderr, /KEYS_BESIDE_BACKUP/);
      const exportFile = join(keyVault, 'keys.json');
      const exported = await runCli(['keys', 'export', '--out', exportFile, '--passphrase-file', passphraseFile], source.env);
      assert.equal(exported.code, 0, exported.stdout + exported.stderr);
      assert.match(exported.stderr, /OPEN EVERY BACKUP/);
      const exportText = await readFile(exportFile, 'utf8');
      for (const name of ['pepper', 'master', 'audit']) {
        const key = (await readFile(join(source.env['CONCLAVE_KEYS_DIR'] as string, `${name}.key`), 'utf8')).trim();
        assert.ok(!exportText.includes(key), `the ${name} key is not in the export in clear`);
      }
      const backupBesideKeys = await runCli(['backup', '--out', join(keyVault, 'b.tgz')], source.env);
      assert.equal(backupBesideKeys.code, 1);
      assert.match(backupBesideKeys.stderr, /KEYS_BESIDE_BACKUP/);

      const originalRooms = await rooms(base, owner, instanceId);
      const original = new Map<string, Message[]>();
      for (const roomId of roomIds) original.set(roomId, await readHistory(base, owner, roomId));
      await server.stop('SIGTERM');

      // A fresh target: an empty data directory, or a new PostgreSQL database, and no keys.
      const target = await cliWorkspace('sqlite', 'bkdst', limits);
      cleanups.unshift(() => target.close());
      const targetEnv = { ...target.env };
      if (engine === 'postgres') {
        const database = await freshPgDatabase('conclave_restore', source.schema as string);
        cleanups.unshift(() => database.drop());
        targetEnv['DATABASE_URL'] = database.databaseUrl;
      }
      const withoutKeys = await runCli(['restore', backupFile], targetEnv);
      assert.equal(withoutKeys.code, 1, withoutKeys.stdout + withoutKeys.stderr);
      assert.match(withoutKeys.stderr, /BACKUP_KEYS_MISSING/);
      assert.match(withoutKeys.stderr, /pepper\.key is missing/);
      assert.match(withoutKeys.stderr, /master\.key is missing/);
      assert.match(withoutKeys.stderr, /audit\.key is missing/);
      assert.match(withoutKeys.stderr, /conclave keys import/);
      await assert.rejects(readdir(targetEnv['CONCLAVE_DATA_DIR'] as string), 'nothing was written');

      const wrongFile = join(target.dir, 'wrong.txt');
      await writeFile(wrongFile, 'not the passphrase at all\n');
      const wrong = await runCli(['keys', 'import', exportFile, '--passphrase-file', wrongFile], targetEnv);
      assert.equal(wrong.code, 1);
      assert.match(wrong.stderr, /KEY_EXPORT_UNREADABLE/);
      const imported = await runCli(['keys', 'import', exportFile, '--passphrase-file', passphraseFile], targetEnv);
      assert.equal(imported.code, 0, imported.stdout + imported.stderr);
      assert.match(imported.stdout, /Imported into .*: audit\.key, master\.key, pepper\.key/);
      const checked = await runCli(['restore', '--check', backupFile], targetEnv);
      assert.equal(checked.code, 0, `the failed restore left the target empty: ${checked.stderr}`);

      const restored = await runCli(['restore', backupFile], targetEnv);
      assert.equal(restored.code, 0, restored.stdout + restored.stderr);
      assert.match(restored.stdout, /Restored the backup of/);
      const verified = await runCli(['audit', 'verify'], targetEnv);
      assert.equal(verified.code, 0, verified.stdout + verified.stderr);
      assert.match(verified.stdout, /The audit log is intact/);
      const again = await runCli(['restore', backupFile], targetEnv);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /RESTORE_TARGET_NOT_EMPTY/);

      // The restored server reads exactly what the original held when the backup was made.
      const copy = await startServer(targetEnv);
      cleanups.unshift(() => copy.stop('SIGKILL'));
      const ownerThere = await login(copy.url, ownerEmail, ownerPassword);
      assert.deepEqual(await rooms(copy.url, ownerThere, instanceId), originalRooms, 'rooms, names, topics and privacy are the same');
      let restoredCount = 0;
      for (const roomId of roomIds) {
        const history = await readHistory(copy.url, ownerThere, roomId);
        const before = original.get(roomId) as Message[];
        assert.deepEqual(history, before.slice(0, history.length), `room ${roomId}: the restored history is the original's, up to the backup`);
        assert.ok(history.length < before.length, `room ${roomId}: what was posted after the backup is not in it`);
        const ids = new Set(history.map((m) => m.id));
        for (const id of ackedBeforeBackup) if (before.some((m) => m.id === id)) assert.ok(ids.has(id), `message ${id}, acknowledged before the backup started, was restored`);
        restoredCount += history.length;
      }
      assert.ok(restoredCount > 30, `a populated history was restored (${restoredCount} messages)`);
      assert.equal(await copy.stop('SIGTERM'), 0);
    } finally {
      stop = true;
      await posting.catch(() => undefined);
      for (const cleanup of cleanups) await cleanup().catch(() => undefined);
    }
  });

  test('restore refuses a damaged backup and a backup of the other engine; backup refuses the keys and data directories', async () => {
    const source = await cliWorkspace(engine, 'bkbad', { LOG_LEVEL: 'warn' });
    try {
      const migrate = await runCli(['migrate'], source.env);
      assert.equal(migrate.code, 0, migrate.stderr);
      const inKeys = await runCli(['backup', '--out', join(source.env['CONCLAVE_KEYS_DIR'] as string, 'b.tgz')], source.env);
      assert.equal(inKeys.code, 1);
      assert.match(inKeys.stderr, /KEYS_BESIDE_BACKUP: .*inside the keys directory/);
      const inData = await runCli(['backup', '--force', '--out', join(source.env['CONCLAVE_DATA_DIR'] as string, 'b.tgz')], source.env);
      assert.equal(inData.code, 1, 'not even with --force');
      assert.match(inData.stderr, /inside the data directory/);
      const file = join(source.dir, 'b.tgz');
      const backup = await runCli(['backup', '--out', file], source.env);
      assert.equal(backup.code, 0, backup.stderr);
      const bytes = await readFile(file);
      const truncated = join(source.dir, 'truncated.tgz');
      await writeFile(truncated, bytes.subarray(0, Math.floor(bytes.length * 0.7)));
      const fresh = { ...source.env, CONCLAVE_DATA_DIR: join(source.dir, 'restored'), CONCLAVE_AUDIT_WITNESS: join(source.dir, 'restored-witness.log') };
      const other = engine === 'postgres' ? { ...fresh, DATABASE_URL: '' } : { ...fresh, DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/none' };
      const mismatch = await runCli(['restore', file], other);
      assert.equal(mismatch.code, 1, mismatch.stdout + mismatch.stderr);
      assert.match(mismatch.stderr, /BACKUP_ENGINE_MISMATCH/);
      if (engine === 'sqlite') {
        const damaged = await runCli(['restore', truncated], fresh);
        assert.equal(damaged.code, 1, damaged.stdout + damaged.stderr);
        assert.match(damaged.stderr, /BACKUP_INVALID/);
        await assert.rejects(readdir(fresh.CONCLAVE_DATA_DIR), 'nothing was written');
      }
      const notBackup = await runCli(['restore', join(source.dir, 'witness.log')], fresh);
      assert.equal(notBackup.code, 1);
      assert.match(notBackup.stderr, /BACKUP_INVALID/);
    } finally {
      await source.close();
    }
  });
});
