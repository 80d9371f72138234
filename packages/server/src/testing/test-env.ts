import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Engine } from '../db/index.ts';

/** Where this run's logs and secret ledger go; scripts/test.mjs sets it, a lone test file gets a temp dir. */
export const testLogDir = (): string => process.env['CONCLAVE_TEST_LOG_DIR'] ?? join(tmpdir(), 'conclave-test-logs');

/** PostgreSQL for tests; scripts/test.mjs checks it is reachable (and creates the database) first. */
export const testDatabaseUrl = (): string => process.env['TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/conclave_test';

/** The engines this run covers: both, unless scripts/test.mjs found no PostgreSQL outside CI. */
export const testEngines = (): Engine[] => {
  const raw = process.env['CONCLAVE_TEST_ENGINES'] ?? 'sqlite,postgres';
  return raw.split(',').map((e) => e.trim()).filter((e): e is Engine => e === 'sqlite' || e === 'postgres');
};
