import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { testLogDir } from './test-env.ts';

const recorded = new Set<string>();

/**
 * Remembers a secret the tests handled (password, token, cookie, key) in this run's ledger, so the check
 * after all tests can prove none of them reached a log.
 */
export const recordSecret = (value: string | undefined | null): void => {
  if (!value || value.length < 8 || recorded.has(value)) return;
  recorded.add(value);
  const dir = testLogDir();
  mkdirSync(dir, { recursive: true });
  appendFileSync(join(dir, `secrets-${process.pid}.jsonl`), `${JSON.stringify(value)}\n`);
};
