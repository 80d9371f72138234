import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import { recordSecret } from './secret-ledger.ts';
import { testDatabaseUrl } from './test-env.ts';

const BIN = fileURLToPath(new URL('../../bin/conclave.js', import.meta.url));

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  /** The setup token it printed, if the server was not set up. */
  setupToken: string | undefined;
  output(): string;
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `conclave serve` as its own process and waits until it listens. */
export const startServer = (env: Record<string, string>): Promise<ServerProcess> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'serve'], {
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const exited = new Promise<number | null>((done) => child.on('close', (code) => done(code)));
    // Only a hang guard (loading the server costs ~4 s of CPU; on a busy machine that is many times longer). The
    // child is killed with the failure: left running, it would keep this test file's process alive to its timeout.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start within 120 s:\n${output}`));
    }, 120_000);
    const onData = (data: Buffer) => {
      output += data.toString();
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match && output.includes('Conclave is serving')) {
        clearTimeout(timer);
        const setupToken = /cnv_setup_[A-Za-z0-9_-]+/.exec(output)?.[0];
        recordSecret(setupToken);
        resolve({
          child,
          url: match[1] as string,
          setupToken,
          output: () => output,
          exited,
          stop: async (signal = 'SIGTERM') => {
            if (child.exitCode === null && child.signalCode === null) child.kill(signal);
            return exited;
          },
        });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('error', reject);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}) before listening:\n${output}`));
    });
  });

/** A fresh PostgreSQL schema and the DATABASE_URL that uses it; drop() removes it. */
export const freshPgSchema = async (label: string): Promise<{ schema: string; databaseUrl: string; drop(): Promise<void> }> => {
  const schema = `${label}_${process.pid}_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: testDatabaseUrl() });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  await admin.end();
  const url = new URL(testDatabaseUrl());
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    schema,
    databaseUrl: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: testDatabaseUrl() });
      await client.connect();
      await client.query(`drop schema if exists ${schema} cascade`);
      await client.end();
    },
  };
};

/**
 * A fresh PostgreSQL database whose DATABASE_URL has its search_path set to `schema` (which does not exist
 * in it yet): where a restore of a backup of that schema goes. drop() removes the database.
 */
export const freshPgDatabase = async (label: string, schema: string): Promise<{ databaseUrl: string; drop(): Promise<void> }> => {
  const name = `${label}_${process.pid}_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: testDatabaseUrl() });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(testDatabaseUrl());
  url.pathname = `/${name}`;
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    databaseUrl: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: testDatabaseUrl() });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
};

export const testRedisUrl = (): string => process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

/** Whether Redis answers (quickly; no retries). */
export const redisReachable = async (): Promise<boolean> => {
  const client = new Redis(testRedisUrl(), { lazyConnect: true, connectTimeout: 1_000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
};

/** JSON over HTTP against a spawned server. */
export const call = async (base: string, method: string, path: string, options: { token?: string; body?: unknown } = {}) => {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}), ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) },
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
};
