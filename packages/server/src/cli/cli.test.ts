import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cliWorkspace, runCli, runCliProcess } from '../testing/cli-process.ts';
import { recordSecret } from '../testing/secret-ledger.ts';
import { startServer } from '../testing/server-process.ts';
import { describeEachEngine, newEmail, newPassword } from '../testing/test-app.ts';
import { buildProgram } from './program.ts';
import type { Command } from 'commander';

const allCommands = (command: Command): Command[] => [command, ...command.commands.flatMap(allCommands)];

describe('conclave CLI: help and usage', () => {
  test('every command has a description and help', () => {
    const program = buildProgram();
    const commands = allCommands(program);
    assert.ok(commands.length >= 12, `commands: ${commands.map((c) => c.name()).join(', ')}`);
    for (const command of commands) {
      assert.ok(command.description().length > 10, `${command.name()} has a description`);
      assert.match(command.helpInformation(), /^Usage: /, `${command.name()} --help`);
    }
  });

  test('--help exits 0; an unknown command or option exits 2; a bad environment exits 78 and says how to fix it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'conclave-cli-'));
    try {
      const env = { CONCLAVE_DATA_DIR: join(dir, 'data'), CONCLAVE_KEYS_DIR: join(dir, 'keys'), CONCLAVE_AUDIT_WITNESS: join(dir, 'witness.log') };
      const help = await runCli(['--help'], env);
      assert.equal(help.code, 0);
      for (const name of ['serve', 'migrate', 'setup', 'user', 'doctor', 'sessions']) assert.match(help.stdout, new RegExp(`\\b${name}\\b`));
      const sub = await runCli(['user', 'create', '--help'], env);
      assert.equal(sub.code, 0);
      assert.match(sub.stdout, /--display-name/);
      assert.equal((await runCli(['frobnicate'], env)).code, 2);
      assert.equal((await runCli(['migrate', '--no-such-flag'], env)).code, 2);
      assert.equal((await runCli(['user', 'create'], env)).code, 2, 'a missing required option is a usage error');
      const bad = await runCli(['migrate'], { ...env, PORT: 'eighty', DATABASE_URL: 'mysql://x' });
      assert.equal(bad.code, 78);
      assert.match(bad.stderr, /PORT="eighty" is not a whole number/);
      assert.match(bad.stderr, /DATABASE_URL must be a postgres/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('runCli runs the program in this process one call at a time, and puts the environment, exit code and stdio back', async () => {
    const before = { env: process.env, exitCode: process.exitCode, console: globalThis.console, stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };
    process.env['CONCLAVE_CLI_TEST_MARK'] = 'outside';
    try {
      const [usage, version, config] = await Promise.all([
        runCli(['migrate', '--no-such-flag'], {}),
        runCli(['--version'], {}),
        runCli(['migrate'], { PORT: 'eighty', CONCLAVE_CLI_TEST_MARK: 'inside' }),
      ]);
      assert.equal(usage.code, 2);
      assert.match(usage.stderr, /unknown option '--no-such-flag'/);
      assert.equal(version.code, 0);
      assert.match(version.stdout, /^\d+/);
      assert.equal(config.code, 78);
      assert.match(config.stderr, /PORT="eighty"/);
      assert.equal(process.env['CONCLAVE_CLI_TEST_MARK'], 'outside');
      assert.deepEqual({ env: process.env, exitCode: process.exitCode, console: globalThis.console, stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }, before);
    } finally {
      delete process.env['CONCLAVE_CLI_TEST_MARK'];
    }
  });

  test('the real binary: a usage error exits 2 and a bad environment 78, as a shell sees them', async () => {
    // runCli runs the program in this process; these spawn bin/conclave.js (tsx, main.ts) itself.
    const dir = await mkdtemp(join(tmpdir(), 'conclave-cli-'));
    try {
      const env = { CONCLAVE_DATA_DIR: join(dir, 'data'), CONCLAVE_KEYS_DIR: join(dir, 'keys'), CONCLAVE_AUDIT_WITNESS: join(dir, 'witness.log') };
      const usage = await runCliProcess(['frobnicate'], env);
      assert.equal(usage.code, 2);
      assert.match(usage.stderr, /unknown command 'frobnicate'/);
      const bad = await runCliProcess(['migrate'], { ...env, PORT: 'eighty' });
      assert.equal(bad.code, 78);
      assert.match(bad.stderr, /PORT="eighty" is not a whole number/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describeEachEngine('conclave CLI: operating a server', (engine) => {
  let dir: string;
  let env: Record<string, string>;
  let workspace: Awaited<ReturnType<typeof cliWorkspace>>;

  before(async () => {
    workspace = await cliWorkspace(engine, 'cli', { LOG_LEVEL: 'warn' });
    ({ dir, env } = workspace);
  });
  after(() => workspace.close());

  test('migrate, setup from stdin, user create/list/set-role, sessions revoke, doctor', async () => {
    const migrate = await runCli(['migrate'], env);
    assert.equal(migrate.code, 0, migrate.stderr);
    assert.match(migrate.stdout, /Applied 0001-foundation/);
    assert.match((await runCli(['migrate'], env)).stdout, /up to date/);

    const ownerEmail = newEmail('cli-owner');
    const ownerPassword = newPassword();
    const setup = await runCli(['setup', '--instance-slug', 'acme', '--instance-name', 'Acme', '--email', ownerEmail, '--display-name', 'Owner'], env, `${ownerPassword}\n`);
    assert.equal(setup.code, 0, setup.stderr);
    assert.match(setup.stdout, /Created instance acme/);
    const twice = await runCli(['setup', '--instance-slug', 'b', '--instance-name', 'B', '--email', newEmail(), '--display-name', 'X'], env, `${newPassword()}\n`);
    assert.equal(twice.code, 1);
    assert.match(twice.stderr, /SETUP_ALREADY_DONE/);

    const weak = await runCli(['user', 'create', '--email', newEmail(), '--display-name', 'Weak'], env, 'password\n');
    assert.equal(weak.code, 1);
    assert.match(weak.stderr, /PASSWORD_TOO_COMMON/);
    const noPassword = await runCli(['user', 'create', '--email', newEmail(), '--display-name', 'None'], env, '');
    assert.equal(noPassword.code, 1);
    assert.match(noPassword.stderr, /No password on standard input/);

    const memberEmail = newEmail('cli-member');
    const created = await runCli(['user', 'create', '--email', memberEmail, '--display-name', 'Member', '--instance', 'acme'], env, `${newPassword()}\n`);
    assert.equal(created.code, 0, created.stderr);
    const dup = await runCli(['user', 'create', '--email', memberEmail.toUpperCase(), '--display-name', 'Dup'], env, `${newPassword()}\n`);
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /EMAIL_TAKEN/);

    const setRole = await runCli(['user', 'set-role', '--instance', 'acme', '--email', memberEmail, '--role', 'admin'], env);
    assert.equal(setRole.code, 0, setRole.stderr);
    const badRole = await runCli(['user', 'set-role', '--instance', 'acme', '--email', memberEmail, '--role', 'king'], env);
    assert.equal(badRole.code, 1);
    const lastOwner = await runCli(['user', 'set-role', '--instance', 'acme', '--email', ownerEmail, '--role', 'member'], env);
    assert.equal(lastOwner.code, 1);
    assert.match(lastOwner.stderr, /LAST_OWNER/);

    const list = await runCli(['user', 'list', '--json'], env);
    assert.equal(list.code, 0, list.stderr);
    const rows = list.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, string>);
    assert.deepEqual(rows.map((r) => [r['email'], r['instances'], r['operator']]), [
      [ownerEmail, 'acme:owner', 'yes'],
      [memberEmail, 'acme:admin', 'no'],
    ]);
    const members = await runCli(['user', 'list', '--instance', 'acme', '--json'], env);
    assert.equal(members.code, 0, members.stderr);
    assert.equal(members.stdout.trim().split('\n').length, 2, members.stdout);
    assert.equal((await runCli(['user', 'list', '--instance', 'nope'], env)).code, 1);

    assert.equal((await runCli(['sessions', 'revoke'], env)).code, 1, 'a scope is required');
    assert.equal((await runCli(['sessions', 'revoke', '--everyone', '--email', memberEmail], env)).code, 1, 'only one scope');
    const revoke = await runCli(['sessions', 'revoke', '--email', memberEmail], env);
    assert.equal(revoke.code, 0, revoke.stderr);
    assert.equal((await runCli(['sessions', 'revoke', '--instance', 'acme'], env)).code, 0);
    const memberOnly = await runCli(['sessions', 'revoke', '--instance', 'acme', '--email', memberEmail], env);
    assert.equal(memberOnly.code, 0, memberOnly.stderr);
    assert.match(memberOnly.stdout, /lost access to acme/);
    assert.equal((await runCli(['sessions', 'revoke', '--everyone', '--instance', 'acme'], env)).code, 1, 'everyone excludes the other scopes');
    assert.equal((await runCli(['sessions', 'revoke', '--everyone'], env)).code, 0);

    const doctor = await runCli(['doctor', '--no-update-check'], env);
    assert.equal(doctor.code, 0, doctor.stdout + doctor.stderr);
    assert.match(doctor.stdout, /ok +pepper/);
    assert.match(doctor.stdout, /ok +master/);
    assert.doesNotMatch(doctor.stdout, /^(warn|fail)/m);
    recordSecret(ownerPassword);
  });

  test('doctor fails when the keys directory sits inside the data directory', async () => {
    const inside = { ...env, CONCLAVE_DATA_DIR: join(dir, 'inside'), CONCLAVE_KEYS_DIR: join(dir, 'inside', 'keys') };
    if (engine === 'postgres') {
      // The PostgreSQL database already has a pepper; a different keys directory must fail, loudly.
      const doctor = await runCli(['doctor', '--no-update-check'], inside);
      assert.equal(doctor.code, 1);
      assert.match(doctor.stdout, /fail +keys .*inside the data directory/);
      assert.match(doctor.stdout, /fail +pepper/);
      return;
    }
    assert.equal((await runCli(['migrate'], inside)).code, 0);
    const doctor = await runCli(['doctor', '--no-update-check'], inside);
    assert.match(doctor.stdout, /fail +keys .*inside the data directory/);
    assert.match(doctor.stdout, /fix: Move it outside the data directory/);
    assert.equal(doctor.code, 1);
    const json = await runCli(['doctor', '--json', '--no-update-check'], inside);
    assert.ok(json.stdout.trim().split('\n').every((line) => ['ok', 'warn', 'fail'].includes((JSON.parse(line) as { level: string }).level)));
    const strict = await runCli(['doctor', '--strict'], env);
    assert.match(strict.stdout, /warn +updates +No release feed is configured/);
    assert.equal(strict.code, 1, 'with --strict a warning fails');
  });

  test('serve prints a setup token on a fresh install, answers health checks and stops on SIGTERM', async () => {
    const fresh = await cliWorkspace(engine, 'serve');
    const server = await startServer(fresh.env);
    try {
      const token = server.setupToken;
      assert.ok(token, 'a fresh install prints a setup token');
      assert.match(server.output(), /in a browser: open http:\/\/\S+\/setup and paste it/, 'the banner names the setup page');
      const logLines = server.output().split('\n').filter((line) => line.startsWith('{'));
      assert.ok(logLines.length > 0);
      assert.ok(logLines.every((line) => !line.includes(token)), 'the setup token is printed for the operator, never logged');
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
      assert.equal((await fetch(`${server.url}/readyz`)).status, 200);
      const setup = await fetch(`${server.url}/api/v1/setup`);
      assert.deepEqual(await setup.json(), { required: true });
      assert.equal(await server.stop('SIGTERM'), 0, 'a clean exit on SIGTERM');
    } finally {
      await server.stop('SIGKILL');
      await fresh.close();
    }
  });
});
