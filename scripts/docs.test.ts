import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { readmeWithConfigTable, renderErrors, root } from './docs.ts';

test('docs/errors.md lists every error code with its status (regenerate with node --import tsx scripts/docs.ts)', () => {
  assert.equal(readFileSync(`${root}docs/errors.md`, 'utf8'), renderErrors());
});

test('the README configuration table lists every variable the config module reads', () => {
  const readme = readFileSync(`${root}README.md`, 'utf8');
  assert.equal(readmeWithConfigTable(readme), readme);
});

test('docs/deploy.md carries the same generated configuration table', () => {
  const deploy = readFileSync(`${root}docs/deploy.md`, 'utf8');
  assert.match(deploy, /\| variable \| default \| meaning \|/);
  assert.equal(readmeWithConfigTable(deploy), deploy);
});

test('the README starts with what Conclave is, then exactly the two quick-start commands', () => {
  const readme = readFileSync(`${root}README.md`, 'utf8');
  assert.match(readme, /^# Conclave\n\nConclave is a self-hostable team chat platform/);
  const firstBlock = /```sh\n([\s\S]*?)```/.exec(readme)?.[1];
  assert.equal(firstBlock, 'npm install && npm start\nnpm test\n');
});
