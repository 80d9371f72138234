// Fan-out: simulated clients (one process) and a poster (another) against Conclave running as its own
// process, and in the same run the same load against a bare `ws` broadcast server, the floor.
// Scenarios: 5,000 clients in 500 rooms at 1,000 posts/s (SQLite; and two nodes on PostgreSQL + Redis),
// and 1,000 clients sharing one room. Every Conclave post is stored before its 201.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Insertable } from 'kysely';
import pg from 'pg';
import type { Schema } from '../packages/server/src/db/index.ts';
import { createServices, loadConfig } from '@conclave/server';
import { hashToken, newId, newSecretToken, TOKEN_PREFIX } from '../packages/server/src/crypto/index.ts';
import { createLogger } from '../packages/server/src/http/logger.ts';
import { prepareAccount } from '../packages/server/src/identity/index.ts';
import { sealValuesInClear } from '../packages/server/src/services.ts';
import { describeMachine } from './lib/machine.ts';
import { spawnJsonChild } from './lib/children.ts';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 15);
/** An unmeasured run first, at the same load, so the server is measured warm (JIT, statement cache). */
const WARMUP_SECONDS = Number(process.env['BENCH_WARMUP_SECONDS'] ?? 3);
const BIN = fileURLToPath(new URL('../packages/server/bin/conclave.js', import.meta.url));
const PG_URL = process.env['BENCH_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/conclave_test';
const REDIS_URL = process.env['BENCH_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

interface Shape {
  name: string;
  clients: number;
  rooms: number;
  postsPerSecond: number;
}

interface Seeded {
  instanceId: string;
  rooms: Array<{ id: string; members: Array<{ token: string }> }>;
}

/** Accounts, sessions, one instance and its rooms, written straight to the database (no argon2 per account). */
const seed = async (env: Record<string, string>, shape: Shape): Promise<Seeded> => {
  const services = await createServices(loadConfig(env), { logger: createLogger('warn') });
  try {
    const db = services.database.db;
    const now = Date.now();
    const template = await prepareAccount(services, { email: 'template@example.org', displayName: 'Template', password: `bench-${randomBytes(8).toString('hex')}` });
    const instanceId = newId(now);
    await db.insertInto('instances').values({ id: instanceId, slug: 'bench', name: 'Bench', signup_mode: 'invite', two_factor_required: 'off', not_before: 0, created_at: now, updated_at: now }).execute();
    const perRoom = shape.clients / shape.rooms;
    const rooms: Seeded['rooms'] = [];
    const accounts: Array<Insertable<Schema['accounts']>> = [];
    const memberships: Array<Insertable<Schema['memberships']>> = [];
    const sessions: Array<Insertable<Schema['sessions']>> = [];
    const tokens: string[] = [];
    for (let i = 0; i < shape.clients; i += 1) {
      const id = newId(now);
      accounts.push({ ...template, id, email: `bench-${i}@example.org`, email_key: `bench-${i}@example.org`, display_name: `Bench ${i}` });
      memberships.push({ instance_id: instanceId, account_id: id, role: 'member' as const, created_at: now });
      const token = newSecretToken(TOKEN_PREFIX.session);
      tokens.push(token);
      sessions.push({ id: newId(now), token_hash: hashToken(token), account_id: id, created_at: now, last_seen_at: now, idle_expires_at: now + 86_400_000, expires_at: now + 86_400_000 });
    }
    const roomRows: Array<Insertable<Schema['rooms']>> = [];
    const roomMembers: Array<Insertable<Schema['room_members']>> = [];
    for (let r = 0; r < shape.rooms; r += 1) {
      const id = newId(now);
      roomRows.push({ id, instance_id: instanceId, kind: 'room' as const, name: `room ${r}`, name_key: `room ${r}`, topic: '', privacy: 'public' as const, archived_at: null, created_by: accounts[r * perRoom]!.id, created_at: now, updated_at: now, last_message_at: null });
      const members = [];
      for (let m = 0; m < perRoom; m += 1) {
        const index = r * perRoom + m;
        roomMembers.push({ room_id: id, account_id: accounts[index]!.id, role: (m === 0 ? 'owner' : 'member') as 'owner' | 'member', joined_at: now, last_read_message_id: null });
        members.push({ token: tokens[index]! });
      }
      rooms.push({ id, members });
    }
    const chunks = <T>(rows: T[], size = 500): T[][] => Array.from({ length: Math.ceil(rows.length / size) }, (_, i) => rows.slice(i * size, (i + 1) * size));
    await db.transaction().execute(async (trx) => {
      for (const chunk of chunks(accounts)) await trx.insertInto('accounts').values(chunk).execute();
      for (const chunk of chunks(memberships)) await trx.insertInto('memberships').values(chunk).execute();
      for (const chunk of chunks(sessions)) await trx.insertInto('sessions').values(chunk).execute();
      for (const chunk of chunks(roomRows)) await trx.insertInto('rooms').values(chunk).execute();
      for (const chunk of chunks(roomMembers)) await trx.insertInto('room_members').values(chunk).execute();
    });
    // Rows written in clear, as fast as possible: the start-up path that seals a 0.1 database's values gives
    // the instance and rooms their keys, seals names and emails and moves lookups to blind indexes.
    await services.database.db.updateTable('server_state').set({ plaintext_sealed_at: null }).execute();
    await sealValuesInClear(services);
    return { instanceId, rooms };
  } finally {
    await services.close();
  }
};

const startProcess = (args: string[], env: Record<string, string>, ready: RegExp): Promise<{ port: number; stop(): Promise<void>; pid: number }> =>
  new Promise((resolve, reject) => {
    // BENCH_SERVER_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") reaches Conclave only, for diagnosis.
    const nodeArgs = args[0] === BIN ? (process.env['BENCH_SERVER_NODE_ARGS'] ?? '').split(' ').filter(Boolean) : [];
    const child = spawn(process.execPath, [...nodeArgs, ...args], { env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    const timer = setTimeout(() => reject(new Error(`no start: ${output}`)), 60_000);
    child.stdout.on('data', (data: Buffer) => {
      output += data.toString();
      const match = ready.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({
          port: Number(match[1]),
          pid: child.pid ?? 0,
          stop: () =>
            new Promise((done) => {
              if (child.exitCode !== null) return done();
              child.once('close', () => done());
              child.kill('SIGTERM');
            }),
        });
      }
    });
  });

interface RunResult {
  deliveriesPerSecond: number;
  expectedDeliveriesPerSecond: number;
  latencyMs: Record<string, number>;
  posts: Record<string, unknown>;
  connected: number;
  failedConnections: number;
  closes: Record<string, number>;
}

/** One measured run: clients connect (through `clientUrl(i)`), then clients and poster start together. */
const drive = async (clientJob: { clients: Array<{ token: string; url: string }> }, targets: Array<{ url: string; token: string }>, postsPerSecond: number, membersPerRoom: number, seconds = SECONDS): Promise<RunResult> => {
  const durationMs = seconds * 1000;
  const clients = spawnJsonChild('./ws-load-client.mjs', { url: 'ws://unused', clients: clientJob.clients, connectConcurrency: 100, durationMs });
  const poster = spawnJsonChild('./poster.mjs', { targets, ratePerSecond: postsPerSecond, durationMs, concurrencyLimit: 512 });
  try {
    const connected = await clients.next<{ clients: number; failed: number }>('connected');
    await poster.next('ready');
    clients.send('start');
    poster.send('start');
    const posts = await poster.next<Record<string, unknown>>('result');
    const delivered = await clients.next<{ deliveriesPerSecond: number; latencyMs: Record<string, number>; closeCodes: Record<string, number> }>('result');
    return {
      // Counted in the same window as the posting: a backlog shows as latency and a lower rate.
      deliveriesPerSecond: Math.round(delivered.deliveriesPerSecond),
      expectedDeliveriesPerSecond: postsPerSecond * membersPerRoom,
      latencyMs: delivered.latencyMs,
      posts: { ok: posts['ok'], statuses: posts['statuses'], skipped: posts['skipped'], postLatencyMs: posts['postLatencyMs'], sendRatePerSecond: posts['sendRatePerSecond'] },
      connected: connected.clients - connected.failed,
      failedConnections: connected.failed,
      closes: delivered.closeCodes,
    };
  } finally {
    clients.stop();
    poster.stop();
  }
};

const targetsFor = (seeded: Seeded, bases: string[]): Array<{ url: string; token: string }> => {
  const targets = [];
  const perRoom = seeded.rooms[0]?.members.length ?? 1;
  for (let m = 0; m < perRoom; m += 1) {
    for (const [r, room] of seeded.rooms.entries()) {
      const member = room.members[m]!;
      targets.push({ url: `${bases[(r + m) % bases.length]}/api/v1/rooms/${room.id}/messages`, token: member.token });
    }
  }
  return targets;
};

const conclaveRun = async (shape: Shape, engine: 'sqlite' | 'postgres', nodes: number): Promise<RunResult> => {
  const dir = await mkdtemp(join(tmpdir(), 'conclave-fanout-'));
  let schema: string | undefined;
  const env: Record<string, string> = {
    CONCLAVE_DATA_DIR: join(dir, 'data'),
    CONCLAVE_KEYS_DIR: join(dir, 'keys'),
    CONCLAVE_AUDIT_WITNESS: join(dir, 'witness.log'),
    MESSAGE_RATE_LIMIT: '1000000/1m',
    STREAM_MAX_BUFFERED_BYTES: String(8 * 1024 * 1024),
    LOG_LEVEL: 'warn',
  };
  const admin = new pg.Client({ connectionString: PG_URL });
  if (engine === 'postgres') {
    schema = `fanout_${randomBytes(4).toString('hex')}`;
    await admin.connect();
    await admin.query(`create schema ${schema}`);
    const url = new URL(PG_URL);
    url.searchParams.set('options', `-c search_path=${schema}`);
    env['DATABASE_URL'] = url.toString();
  }
  if (nodes > 1) {
    env['REDIS_URL'] = REDIS_URL;
    env['REDIS_PREFIX'] = `bench-${randomBytes(3).toString('hex')}`;
  }
  const servers = [];
  try {
    const seeded = await seed(env, shape);
    for (let n = 0; n < nodes; n += 1) {
      servers.push(await startProcess([BIN, 'serve'], { ...env, PORT: '0', HOST: '127.0.0.1' }, /listening on 127\.0\.0\.1:(\d+)/));
    }
    const bases = servers.map((s) => `http://127.0.0.1:${s.port}`);
    const clients = seeded.rooms.flatMap((room, r) => room.members.map((member, m) => ({ token: member.token, url: `${bases[(r + m) % bases.length]!.replace('http', 'ws')}/api/v1/stream` })));
    if (WARMUP_SECONDS > 0) await drive({ clients: clients.slice(0, 500) }, targetsFor(seeded, bases), shape.postsPerSecond, shape.clients / shape.rooms, WARMUP_SECONDS);
    return await drive({ clients }, targetsFor(seeded, bases), shape.postsPerSecond, shape.clients / shape.rooms);
  } finally {
    for (const server of servers) await server.stop();
    if (schema) {
      await admin.query(`drop schema if exists ${schema} cascade`);
      await admin.end();
    }
    await rm(dir, { recursive: true, force: true });
  }
};

const bareRun = async (shape: Shape): Promise<RunResult> => {
  const server = await startProcess([fileURLToPath(new URL('./lib/bare-ws-server.mjs', import.meta.url)), '0'], {}, /"port":(\d+)/);
  try {
    const base = `http://127.0.0.1:${server.port}`;
    const perRoom = shape.clients / shape.rooms;
    const rooms = Array.from({ length: shape.rooms }, (_, r) => ({ id: `r${r}`, members: Array.from({ length: perRoom }, () => ({ token: '' })) }));
    const clients = rooms.flatMap((room) => room.members.map(() => ({ token: '', url: `${base.replace('http', 'ws')}/api/v1/stream?rooms=${room.id}` })));
    const targets = targetsFor({ instanceId: '', rooms }, [base]);
    if (WARMUP_SECONDS > 0) await drive({ clients: clients.slice(0, 500) }, targets, shape.postsPerSecond, perRoom, WARMUP_SECONDS);
    return await drive({ clients }, targets, shape.postsPerSecond, perRoom);
  } finally {
    await server.stop();
  }
};

export const run = async (args: string[]): Promise<void> => {
  const only = args[0];
  const machine = describeMachine(['fastify', '@fastify/websocket', 'ws', 'better-sqlite3', 'pg', 'ioredis']);
  const manyRooms: Shape = { name: '5,000 clients in 500 rooms, 1,000 posts/s', clients: 5_000, rooms: 500, postsPerSecond: 1_000 };
  const oneRoom: Shape = { name: '1,000 clients in one room, 150 posts/s', clients: 1_000, rooms: 1, postsPerSecond: 150 };
  const runs: Array<{ scenario: string; system: string; result: RunResult }> = [];
  const record = async (scenario: Shape, system: string, go: () => Promise<RunResult>) => {
    if (only && !system.includes(only) && !scenario.name.includes(only)) return;
    console.log(`\n== ${scenario.name} on ${system}`);
    const result = await go();
    console.log(JSON.stringify(result));
    runs.push({ scenario: scenario.name, system, result });
  };
  await record(manyRooms, 'bare ws (floor)', () => bareRun(manyRooms));
  await record(manyRooms, 'Conclave, SQLite, one node', () => conclaveRun(manyRooms, 'sqlite', 1));
  await record(oneRoom, 'bare ws (floor)', () => bareRun(oneRoom));
  await record(oneRoom, 'Conclave, SQLite, one node', () => conclaveRun(oneRoom, 'sqlite', 1));
  await record(manyRooms, 'Conclave, PostgreSQL, one node', () => conclaveRun(manyRooms, 'postgres', 1));
  await record(manyRooms, 'Conclave, PostgreSQL + Redis, two nodes', () => conclaveRun(manyRooms, 'postgres', 2));

  const command = `npm run bench -- fanout${only ? ` ${only}` : ''}`;
  const rows = runs.map(({ scenario, system, result }) => {
    const ok = (result.posts['statuses'] as Record<string, number> | undefined)?.['201'] ?? result.posts['ok'];
    return `| ${scenario} | ${system} | ${result.connected} | ${result.deliveriesPerSecond.toLocaleString('en')} of ${result.expectedDeliveriesPerSecond.toLocaleString('en')} | ${result.latencyMs['p50']?.toFixed(1)} / ${result.latencyMs['p99']?.toFixed(1)} | ${String(ok)} (${JSON.stringify(result.posts['statuses'])}) | ${JSON.stringify(result.closes)} |`;
  });
  const stamp = machine.date.slice(0, 19).replaceAll(':', '-');
  const report = [
    `# Fan-out benchmark, ${machine.date}`,
    '',
    `Command: \`${command}\` (commit ${machine.commit}), ${SECONDS} s a run. Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}.`,
    `Packages: ${Object.entries(machine.packages).map(([k, v]) => `${k} ${v}`).join(', ')}.`,
    '',
    `Each system first takes ${WARMUP_SECONDS} s of the same post rate (500 sockets, not measured), then the measured run.`,
    'Conclave runs as its own process (`conclave serve`, LOG_LEVEL=warn); the WebSocket clients run in a second',
    'process and the poster in a third, all on the same 2 cores. Latency is from the poster\'s send to the',
    'client\'s receipt. Every Conclave post is committed (message row, event log row) before its 201.',
    '',
    '| scenario | system | sockets | deliveries/s (achieved of offered) | latency p50 / p99 ms | posts stored (statuses) | server closes |',
    '|---|---|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
  await writeFile(join('bench', 'results', `fanout-${stamp}.md`), report);
  await writeFile(join('bench', 'results', `fanout-${stamp}.json`), `${JSON.stringify({ command, machine, seconds: SECONDS, runs }, null, 2)}\n`);
  console.log(`\n${report}\nwrote bench/results/fanout-${stamp}.md`);
};
