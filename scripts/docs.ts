// Renders the reference tables that must stay true of the code: docs/errors.md from the error catalog and the
// README's and docs/deploy.md's configuration tables from CONFIG_VARIABLES. `node --import tsx scripts/docs.ts` rewrites them;
// scripts/docs.test.ts fails when they drift.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ERROR_CATALOG } from '../packages/protocol/src/index.ts';
import { CONFIG_VARIABLES } from '../packages/server/src/config/config.ts';

export const root = fileURLToPath(new URL('..', import.meta.url));

export const renderErrors = (): string =>
  [
    '# Error codes',
    '',
    'Every error answers `{ "error": { "code", "message", "requestId", "details"? } }`. Codes are stable once',
    'shipped; clients branch on `code`, never on `message`. `details` lists `{ path, problem }` for',
    '`VALIDATION_FAILED`. This file is generated from `packages/protocol/src/errors.ts` by `node --import tsx scripts/docs.ts`.',
    '',
    '| code | HTTP status | message |',
    '|---|---|---|',
    ...Object.entries(ERROR_CATALOG).map(([code, { status, message }]) => `| \`${code}\` | ${status} | ${message} |`),
    '',
  ].join('\n');

export const renderConfigTable = (): string =>
  [
    '| variable | default | meaning |',
    '|---|---|---|',
    ...CONFIG_VARIABLES.map((v) => `| \`${v.name}\` | \`${v.default}\` | ${v.meaning} |`.replace('`(unset: SQLite)`', '(unset: SQLite)')),
  ].join('\n');

const TABLE = /\| variable \| default \| meaning \|\n\|---\|---\|---\|\n(?:\|.*\|\n?)+/;

export const readmeWithConfigTable = (readme: string): string => readme.replace(TABLE, `${renderConfigTable()}\n`);

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(`${root}docs/errors.md`, renderErrors());
  const readme = readFileSync(`${root}README.md`, 'utf8');
  writeFileSync(`${root}README.md`, readmeWithConfigTable(readme));
  const deploy = readFileSync(`${root}docs/deploy.md`, 'utf8');
  writeFileSync(`${root}docs/deploy.md`, readmeWithConfigTable(deploy));
  console.log('wrote docs/errors.md and the configuration tables of the README and docs/deploy.md');
}
