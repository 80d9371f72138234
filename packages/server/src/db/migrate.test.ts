import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import { testDatabaseUrl, testEngines } from '../testing/test-env.ts';
import { migrateToLatest, openDatabase, pendingMigrations } from './index.ts';
import { MIGRATIONS } from './migrations/index.ts';

const ALL = Object.keys(MIGRATIONS);

describe('migrations on SQLite', () => {
  test('a fresh file gets every migration once; a second run applies nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'conclave-migrate-'));
    try {
      const database = await openDatabase({ dataDir: dir });
      assert.deepEqual(await pendingMigrations(database), ALL);
      assert.deepEqual(await migrateToLatest(database), ALL);
      assert.deepEqual(await migrateToLatest(database), []);
      assert.deepEqual(await pendingMigrations(database), []);
      await database.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('migrations on PostgreSQL', { skip: !testEngines().includes('postgres') }, () => {
  const admin = new pg.Pool({ connectionString: testDatabaseUrl(), max: 1 });
  const schemas: string[] = [];
  const newSchema = async () => {
    const schema = `mig_${process.pid}_${randomBytes(3).toString('hex')}`;
    await admin.query(`create schema ${schema}`);
    schemas.push(schema);
    return schema;
  };
  after(async () => {
    for (const schema of schemas) await admin.query(`drop schema if exists ${schema} cascade`);
    await admin.end();
  });

  test('four nodes starting at once apply each migration exactly once (advisory lock)', async () => {
    const schema = await newSchema();
    const nodes = await Promise.all(Array.from({ length: 4 }, () => openDatabase({ databaseUrl: testDatabaseUrl(), dataDir: '/nonexistent', pgSchema: schema, pgPoolSize: 2 })));
    try {
      const results = await Promise.all(nodes.map((node) => migrateToLatest(node)));
      assert.deepEqual(results.flat().sort(), [...ALL].sort(), `applied: ${JSON.stringify(results)}`);
      const { rows } = await admin.query(`select name from ${schema}.kysely_migration`);
      assert.deepEqual(rows.map((r: { name: string }) => r.name), ALL);
    } finally {
      await Promise.all(nodes.map((node) => node.close()));
    }
  });

  test('start-up migration is not upset by another schema of the database being dropped meanwhile', async () => {
    const schema = await newSchema();
    const database = await openDatabase({ databaseUrl: testDatabaseUrl(), dataDir: '/nonexistent', pgSchema: schema });
    try {
      assert.deepEqual(await migrateToLatest(database), ALL);
      // What the migrator asks on every start, while other installs' schemas (tests, here) come and go.
      const churn = async (round: number): Promise<void> => {
        const other = `${schema}_x${round}`;
        await admin.query(`create schema ${other}; create table ${other}.t (a int, b text, c bigint)`);
        await admin.query(`drop schema ${other} cascade`);
      };
      for (let round = 0; round < 40; round += 1) {
        const [tables] = await Promise.all([database.db.introspection.getTables({ withInternalKyselyTables: true }), churn(round)]);
        assert.ok(tables.some((table) => table.name === 'kysely_migration' && table.schema === schema));
        assert.ok(tables.every((table) => table.schema === schema), 'only its own schema is read');
      }
      assert.deepEqual(await migrateToLatest(database), []);
    } finally {
      await database.close();
    }
  });

  test('two installs in two schemas of one database each get their own tables', async () => {
    const first = await newSchema();
    const second = await newSchema();
    for (const schema of [first, second]) {
      const database = await openDatabase({ databaseUrl: testDatabaseUrl(), dataDir: '/nonexistent', pgSchema: schema });
      try {
        assert.deepEqual(await migrateToLatest(database), ALL, `${schema} migrates from scratch`);
      } finally {
        await database.close();
      }
      const { rows } = await admin.query(`select count(*)::int as n from information_schema.tables where table_schema = $1 and table_name = 'accounts'`, [schema]);
      assert.equal(rows[0].n, 1);
    }
  });
});
