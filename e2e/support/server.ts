import { appendFileSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordSecret } from '../../packages/server/src/testing/secret-ledger.ts';
import { startServer, type ServerProcess } from '../../packages/server/src/testing/server-process.ts';
import { testLogDir } from '../../packages/server/src/testing/test-env.ts';

/** A free TCP port on 127.0.0.1: the browser's origin must stay the same across a restart. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });

export interface E2eServer {
  url: string;
  server: ServerProcess;
  setupToken: string | undefined;
  /** Stops the process (SIGTERM), keeping its port, data and keys for resume(). */
  halt(): Promise<void>;
  /** Starts it again after halt(), on the same port, data and keys. */
  resume(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A real `conclave serve` (SQLite, in a temporary directory) on a fixed port, with PUBLIC_URL set to the
 * address the browser uses (the server refuses writes from any other Origin). Its JSON log lines go to the
 * run's log directory, where the check after the suite looks for leaked secrets.
 */
export const startE2eServer = async (label: string, env: Record<string, string> = {}): Promise<E2eServer> => {
  const dir = await mkdtemp(join(tmpdir(), `conclave-e2e-${label}-`));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const fullEnv: Record<string, string> = {
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_URL: url,
    CONCLAVE_DATA_DIR: join(dir, 'data'),
    CONCLAVE_KEYS_DIR: join(dir, 'keys'),
    CONCLAVE_AUDIT_WITNESS: join(dir, 'witness.log'),
    AUTH_RATE_LIMIT_IP: '10000/1m',
    AUTH_RATE_LIMIT_ACCOUNT: '10000/1m',
    MESSAGE_RATE_LIMIT: '10000/1m',
    ...env,
  };
  const logFile = join(testLogDir(), `e2e-${label}-${process.pid}.log`);
  mkdirSync(testLogDir(), { recursive: true });
  const keepLog = (server: ServerProcess) => {
    const lines = server.output().split('\n').filter((line) => line.startsWith('{'));
    appendFileSync(logFile, lines.map((line) => `${line}\n`).join(''));
  };
  let server = await startServer(fullEnv);
  const setupToken = server.setupToken;
  recordSecret(setupToken);
  const handle: E2eServer = {
    url,
    get server() {
      return server;
    },
    setupToken,
    async halt() {
      await server.stop();
      keepLog(server);
    },
    async resume() {
      server = await startServer(fullEnv);
    },
    async stop() {
      if (server.child.exitCode === null && server.child.signalCode === null) {
        await server.stop();
        keepLog(server);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
  return handle;
};

/** JSON over HTTP as an API client (bearer token), for the other side of a journey. */
export const apiCall = async <T = Record<string, unknown>>(base: string, method: string, path: string, options: { token?: string; body?: unknown } = {}): Promise<{ status: number; body: T }> => {
  const response = await fetch(`${base}/api/v1${path}`, {
    method,
    headers: { ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}), ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) },
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : {}) as T };
};

export interface Person {
  accountId: string;
  email: string;
  password: string;
  /** A bearer session token, for the API side of a journey. */
  token: string;
}

/** Sets the server up through the API: instance `acme`, its owner (the operator), and a bearer session. */
export const setUpInstance = async (server: E2eServer, owner: { email: string; displayName: string; password: string }): Promise<{ instanceId: string; owner: Person }> => {
  recordSecret(owner.password);
  const setup = await apiCall<{ instance: { id: string } }>(server.url, 'POST', '/setup', { body: { setupToken: server.setupToken, instance: { slug: 'acme', name: 'Acme' }, owner } });
  if (setup.status !== 201) throw new Error(`setup answered ${setup.status}`);
  return { instanceId: setup.body.instance.id, owner: await logIn(server, owner.email, owner.password) };
};

export const logIn = async (server: E2eServer, email: string, password: string): Promise<Person> => {
  const login = await apiCall<{ token: string; account: { id: string } }>(server.url, 'POST', '/auth/login', { body: { email, password, mode: 'bearer' } });
  if (login.status !== 200) throw new Error(`log-in answered ${login.status}`);
  recordSecret(login.body.token);
  return { accountId: login.body.account.id, email, password, token: login.body.token };
};

/** Invites and signs up another member through the API. */
export const addMember = async (server: E2eServer, instanceId: string, owner: Person, person: { email: string; displayName: string; password: string }): Promise<Person> => {
  recordSecret(person.password);
  const invite = await apiCall<{ token: string }>(server.url, 'POST', `/instances/${instanceId}/invites`, { token: owner.token, body: {} });
  recordSecret(invite.body.token);
  const signup = await apiCall(server.url, 'POST', '/auth/signup', { body: { ...person, instance: 'acme', inviteToken: invite.body.token } });
  if (signup.status !== 202) throw new Error(`sign-up answered ${signup.status}`);
  return logIn(server, person.email, person.password);
};
