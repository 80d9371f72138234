// Runs after the whole test suite: every secret the tests handled (scripts/test.mjs's ledger) is looked for
// in every log line the servers under test wrote. One hit fails the run.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { findLeaks } from '../packages/server/src/testing/log-scan.ts';

const logDir = process.env['CONCLAVE_TEST_LOG_DIR'] ?? '.test-logs';

test('no password, token, key or cookie from the whole test run appears in any log', () => {
  const files = readdirSync(logDir);
  const secrets = files
    .filter((f) => f.startsWith('secrets-'))
    .flatMap((f) => readFileSync(join(logDir, f), 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as string));
  const logs = files.filter((f) => f.endsWith('.log')).map((f) => ({ name: f, text: readFileSync(join(logDir, f), 'utf8') }));
  const lines = logs.reduce((n, log) => n + log.text.split('\n').length, 0);
  // The check means something only if the run produced both secrets and logs.
  assert.ok(secrets.length >= 50, `expected the suite to handle many secrets, saw ${secrets.length}`);
  assert.ok(lines >= 500, `expected the suite to write many log lines, saw ${lines}`);
  const leaks = findLeaks(secrets, logs);
  assert.deepEqual(leaks, [], `secrets found in logs: ${leaks.map((l) => `${l.file}:${l.line}`).join(', ')}`);
});
