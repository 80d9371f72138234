import { spawn, type ChildProcess } from 'node:child_process';
import { Console } from 'node:console';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
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

const childEnv = (env: Record<string, string>): Record<string, string> => ({ PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', ...env });

/**
 * Runs the real `conclave` binary in a process of its own with only the given environment (and PATH, HOME),
 * optional stdin. Each one costs node and tsx starting and loading the whole server (~4 s of CPU): keep it for
 * what only a process shows (exit codes as the shell sees them, a config error exiting 78, signals).
 */
export const runCliProcess = (args: string[], env: Record<string, string>, input?: string): Promise<Run> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: childEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
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

/** Starts the real `conclave` binary and returns the child (for long-lived commands and tests that stop it midway: `child.kill('SIGKILL')`). */
export const spawnCli = (args: string[], env: Record<string, string>): ChildProcess =>
  spawn(process.execPath, [BIN, ...args], { env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });

/** A stream that keeps what is written to it, and says it is no terminal (as a pipe to a child would). */
const collector = (): { stream: Writable; text(): string } => {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
};

/** Replaces one of process.stdin/stdout/stderr (getters Node defines as configurable) until `restore()`. */
const swapStdio = (name: 'stdin' | 'stdout' | 'stderr', stream: Readable | Writable): (() => void) => {
  const original = Object.getOwnPropertyDescriptor(process, name);
  if (!original) throw new Error(`process.${name} has no property descriptor`);
  Object.defineProperty(process, name, { configurable: true, enumerable: true, get: () => stream });
  return () => Object.defineProperty(process, name, original);
};

const inProcess = async (args: string[], env: Record<string, string>, input?: string): Promise<Run> => {
  const { buildProgram } = await import('../cli/program.ts');
  const { CliExit } = await import('../cli/exit-codes.ts');
  const out = collector();
  const err = collector();
  const savedEnv = process.env;
  const savedExitCode = process.exitCode;
  const savedConsole = globalThis.console;
  const restores = [
    swapStdio('stdin', Readable.from(input ? [Buffer.from(input)] : [])),
    swapStdio('stdout', out.stream),
    swapStdio('stderr', err.stream),
  ];
  process.env = childEnv(env);
  process.exitCode = undefined;
  globalThis.console = new Console({ stdout: out.stream, stderr: err.stream });
  let code: number;
  try {
    await buildProgram().parseAsync(['node', 'conclave', ...args]);
    code = Number(process.exitCode ?? 0);
  } catch (error) {
    if (error instanceof CliExit) {
      code = error.code;
    } else {
      // What main.ts would let escape: node prints it and exits 1.
      err.stream.write(`${(error as Error).stack ?? String(error)}\n`);
      code = 1;
    }
  } finally {
    globalThis.console = savedConsole;
    process.env = savedEnv;
    process.exitCode = savedExitCode;
    for (const restore of restores.reverse()) restore();
  }
  return { code, stdout: out.text(), stderr: err.text() };
};

let queue: Promise<unknown> = Promise.resolve();

/**
 * Runs `conclave` inside this process, one call at a time: the program buildProgram() makes, given exactly
 * `env` (and PATH, HOME) as process.env, `input` as its standard input (not a terminal), its stdout and stderr
 * (console and direct writes) captured, and its exit code from commander's early ends or runCommand's
 * process.exitCode. Everything is put back afterwards. Commands that keep running (serve) or that a test
 * kills midway use spawnCli; runCliProcess keeps the real binary covered.
 */
export const runCli = (args: string[], env: Record<string, string>, input?: string): Promise<Run> => {
  const run = queue.then(() => inProcess(args, env, input));
  queue = run.catch(() => undefined);
  return run;
};

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
