import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe } from 'node:test';
import pg from 'pg';
import pino from 'pino';
import type { LightMyRequestResponse } from 'fastify';
import { buildApp } from '../app.ts';
import { loadConfig } from '../config/config.ts';
import type { Engine } from '../db/index.ts';
import { readKey } from '../crypto/index.ts';
import { createLogger } from '../http/logger.ts';
import type { App } from '../http/types.ts';
import { issueSetupToken } from '../instances/index.ts';
import { createServices, type Services } from '../services.ts';
import { recordSecret } from './secret-ledger.ts';
import { testDatabaseUrl, testEngines, testLogDir } from './test-env.ts';

export type Response = LightMyRequestResponse;

export interface Client {
  email: string;
  password: string;
  accountId: string;
  /** Session token: sent as a cookie (with CSRF header on writes) or as a bearer token. */
  token: string;
  csrfToken: string;
  via: 'cookie' | 'bearer';
}

export interface TestApp {
  engine: Engine;
  app: App;
  ctx: Services;
  /** The environment the app was configured from (for making a second app on the same storage). */
  env: Record<string, string>;
  pgSchema: string | undefined;
  inject(options: InjectOptions): Promise<Response>;
  /** A request as `client`: cookie plus CSRF header, or bearer. */
  as(client: Client, options: InjectOptions): Promise<Response>;
  setUp(): Promise<{ owner: Client; instanceId: string; instanceSlug: string }>;
  /** setUp, then a member who joined by the owner's invite. */
  setUpWithMember(options?: { displayName?: string }): Promise<{ owner: Client; member: Client; instanceId: string; instanceSlug: string }>;
  /** Posts a message (201 expected) and returns it. */
  post(client: Client, roomId: string, body: string): Promise<{ id: string; body: string }>;
  login(email: string, password: string, via?: 'cookie' | 'bearer'): Promise<Client>;
  signUpAndLogIn(instanceSlug: string, options?: { inviteToken?: string; displayName?: string }): Promise<Client>;
  /** Starts listening on 127.0.0.1 (for WebSocket clients); returns the base URL. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

export interface InjectOptions {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE' | 'HEAD' | 'OPTIONS';
  url: string;
  payload?: unknown;
  headers?: Record<string, string>;
  remoteAddress?: string;
}

let counter = 0;

/** A strong random password, recorded so the log check can look for it. */
export const newPassword = (): string => {
  const value = `pw-${randomBytes(12).toString('base64url')}-${randomBytes(4).toString('hex')}`;
  recordSecret(value);
  return value;
};

export const newEmail = (label = 'person'): string => `${label}-${process.pid}-${++counter}-${randomBytes(3).toString('hex')}@example.org`;

const recordResponseSecrets = (response: Response): void => {
  for (const cookie of response.cookies) recordSecret(cookie.value);
  try {
    const body = JSON.parse(response.body) as Record<string, unknown>;
    if (typeof body['token'] === 'string') recordSecret(body['token']);
    if (typeof body['csrfToken'] === 'string') recordSecret(body['csrfToken']);
    // An outgoing webhook's signing secret, shown once.
    if (typeof body['secret'] === 'string') recordSecret(body['secret']);
  } catch {
    // not JSON
  }
};

const adminPool = (() => {
  let pool: pg.Pool | undefined;
  return () => (pool ??= new pg.Pool({ connectionString: testDatabaseUrl(), max: 2 }));
})();

export const closeTestPools = async (): Promise<void> => {
  await adminPool().end();
};

export const createTestApp = async (engine: Engine, envOverrides: Record<string, string> = {}, shared?: { dir: string; pgSchema?: string | undefined }): Promise<TestApp> => {
  const dir = shared?.dir ?? (await mkdtemp(join(tmpdir(), 'conclave-test-')));
  let pgSchema: string | undefined = shared?.pgSchema;
  if (engine === 'postgres' && !pgSchema) {
    pgSchema = `t_${process.pid}_${++counter}_${randomBytes(3).toString('hex')}`;
    await adminPool().query(`create schema ${pgSchema}`);
  }
  const env: Record<string, string> = {
    PORT: '0',
    HOST: '127.0.0.1',
    CONCLAVE_DATA_DIR: join(dir, 'data'),
    CONCLAVE_KEYS_DIR: join(dir, 'keys'),
    CONCLAVE_AUDIT_WITNESS: join(dir, 'witness.log'),
    LOG_LEVEL: 'trace',
    AUTH_RATE_LIMIT_IP: '100000/1m',
    AUTH_RATE_LIMIT_ACCOUNT: '100000/1m',
    SQLITE_SYNCHRONOUS: 'normal',
    ...(engine === 'postgres' ? { DATABASE_URL: testDatabaseUrl() } : {}),
    ...envOverrides,
  };
  const config = loadConfig(env);
  const logger = createLogger(config.logLevel, pino.destination({ dest: join(testLogDir(), `server-${process.pid}.log`), mkdir: true, sync: true }));
  const ctx = await createServices(config, { logger, ...(pgSchema ? { pgSchema } : {}) });
  const pepper = await readKey(config.keysDir, 'pepper');
  recordSecret(pepper?.toString('base64'));
  recordSecret(pepper?.toString('hex'));
  const master = await readKey(config.keysDir, 'master');
  recordSecret(master?.toString('base64'));
  recordSecret(master?.toString('hex'));
  const app = await buildApp(ctx);
  await app.ready();

  const inject = async (options: InjectOptions): Promise<Response> => {
    const response = await app.inject({
      method: options.method,
      url: options.url,
      ...(options.payload !== undefined ? { payload: options.payload as string } : {}),
      headers: options.headers ?? {},
      ...(options.remoteAddress ? { remoteAddress: options.remoteAddress } : {}),
    });
    recordResponseSecrets(response);
    return response;
  };

  const as = (client: Client, options: InjectOptions): Promise<Response> => {
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    if (client.via === 'bearer') headers['authorization'] = `Bearer ${client.token}`;
    else {
      headers['cookie'] = `conclave_session=${client.token}`;
      if (options.method !== 'GET' && options.method !== 'HEAD') headers['x-csrf-token'] = client.csrfToken;
    }
    return inject({ ...options, headers });
  };

  const login = async (email: string, password: string, via: 'cookie' | 'bearer' = 'cookie'): Promise<Client> => {
    const response = await inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password, mode: via } });
    if (response.statusCode !== 200) throw new Error(`login failed: ${response.statusCode} ${response.body}`);
    const body = response.json<{ account: { id: string }; token?: string; csrfToken?: string }>();
    const token = via === 'bearer' ? body.token : response.cookies.find((c) => c.name === 'conclave_session')?.value;
    if (!token) throw new Error('no session token in the login answer');
    return { email, password, accountId: body.account.id, token, csrfToken: body.csrfToken ?? '', via };
  };

  const testApp: TestApp = {
    engine,
    app,
    ctx,
    env,
    pgSchema,
    inject,
    as,
    login,
    async setUp() {
      const setupToken = await issueSetupToken(ctx);
      recordSecret(setupToken);
      const email = newEmail('owner');
      const password = newPassword();
      const slug = `inst-${randomBytes(3).toString('hex')}`;
      const response = await inject({
        method: 'POST',
        url: '/api/v1/setup',
        payload: { setupToken, instance: { slug, name: 'Test instance' }, owner: { email, displayName: 'Owner', password } },
      });
      if (response.statusCode !== 201) throw new Error(`setup failed: ${response.statusCode} ${response.body}`);
      const body = response.json<{ instance: { id: string } }>();
      return { owner: await login(email, password), instanceId: body.instance.id, instanceSlug: slug };
    },
    async setUpWithMember(options = {}) {
      const setup = await testApp.setUp();
      const invite = await testApp.as(setup.owner, { method: 'POST', url: `/api/v1/instances/${setup.instanceId}/invites`, payload: {} });
      const token = invite.json<{ token: string }>().token;
      const member = await testApp.signUpAndLogIn(setup.instanceSlug, { inviteToken: token, ...(options.displayName ? { displayName: options.displayName } : {}) });
      return { ...setup, member };
    },
    async post(client, roomId, body) {
      const response = await testApp.as(client, { method: 'POST', url: `/api/v1/rooms/${roomId}/messages`, payload: { body } });
      if (response.statusCode !== 201) throw new Error(`post failed: ${response.statusCode} ${response.body}`);
      return response.json<{ id: string; body: string }>();
    },
    async signUpAndLogIn(instanceSlug, options = {}) {
      const email = newEmail();
      const password = newPassword();
      const response = await inject({
        method: 'POST',
        url: '/api/v1/auth/signup',
        payload: { email, password, displayName: options.displayName ?? 'Someone', instance: instanceSlug, ...(options.inviteToken ? { inviteToken: options.inviteToken } : {}) },
      });
      if (response.statusCode !== 202) throw new Error(`signup failed: ${response.statusCode} ${response.body}`);
      return login(email, password);
    },
    async listen() {
      await app.listen({ port: 0, host: '127.0.0.1' });
      const address = app.server.address();
      return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    },
    async close() {
      await app.close();
      await ctx.close();
      if (!shared) {
        if (pgSchema) await adminPool().query(`drop schema if exists ${pgSchema} cascade`);
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
  return testApp;
};

/** Defines the suite once per engine this run covers: every storage test runs on SQLite and PostgreSQL. */
export const describeEachEngine = (name: string, body: (engine: Engine) => void): void => {
  for (const engine of testEngines()) {
    describe(`${name} [${engine}]`, () => body(engine));
  }
};
