import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Engine } from '../db/index.ts';
import { freshPgSchema } from './server-process.ts';
import { testDatabaseUrl } from './test-env.ts';

const BIN = fileURLToPath(new URL('../../bin/conclave.js', import.meta.url));

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real `conclave` binary with only the given environment (and PATH, HOME), optional stdin. */
export const runCli = (args: string[], env: Record<string, string>, input?: string): Promise<Run> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input ?? '');
  });

/** Starts the real `conclave` binary and returns the child (for tests that stop it midway: `child.kill('SIGKILL')`). */
export const spawnCli = (args: string[], env: Record<string, string>): ChildProcess =>
  spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });

/** DATABASE_URL for the test database with its search_path set to one schema. */
export const databaseUrlFor = (schema: string): string => {
  const url = new URL(testDatabaseUrl());
  url.searchParams.set('options', `-c search_path=${schema}`);
  return url.toString();
};

/**
 * A place for CLI tests to run `conclave` in: a temporary data, keys and witness directory and, on
 * PostgreSQL, a schema of its own. `close()` removes both.
 */
export const cliWorkspace = async (
  engine: Engine,
  label: string,
  extraEnv: Record<string, string> = {},
): Promise<{ dir: string; env: Record<string, string>; schema: string | undefined; close(): Promise<void> }> => {
  const dir = await mkdtemp(join(tmpdir(), `conclave-${label}-`));
  const env: Record<string, string> = { CONCLAVE_DATA_DIR: join(dir, 'data'), CONCLAVE_KEYS_DIR: join(dir, 'keys'), CONCLAVE_AUDIT_WITNESS: join(dir, 'witness.log'), ...extraEnv };
  let schema: string | undefined;
  let drop = async (): Promise<void> => undefined;
  if (engine === 'postgres') {
    const fresh = await freshPgSchema(label.replaceAll('-', ''));
    ({ schema, drop } = fresh);
    env['DATABASE_URL'] = fresh.databaseUrl;
  }
  return {
    dir,
    env,
    schema,
    close: async () => {
      await drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
};
