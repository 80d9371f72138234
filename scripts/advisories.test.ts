import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { decide, SKIPPED_MESSAGE } from './advisories.mjs';

const recorded = (name: string) => ({ status: 1, stdout: readFileSync(new URL(`./fixtures/advisories/${name}`, import.meta.url), 'utf8'), stderr: '' });

describe('scripts/advisories.mjs: the decision on npm audit --omit=dev --json', () => {
  test('a high or critical advisory in production dependencies fails, listing each package and advisory', () => {
    const { outcome, lines } = decide(recorded('high-and-critical.json'));
    assert.equal(outcome, 'failed');
    const text = lines.join('\n');
    assert.match(lines[0] as string, /3 production package\(s\) with a high or critical advisory \(production dependencies: 2 critical, 1 high/);
    assert.match(text, /tar \(high, direct; affected <=6\.2\.0; a fix is available\)/);
    assert.match(text, /high: Arbitrary File Creation\/Overwrite via insufficient symlink protection https:\/\/github\.com\/advisories\/GHSA-9r2w-394v-53qc/);
    assert.match(text, /minimist \(critical/);
    assert.match(text, /mkdirp \(critical.*\n {4}- through minimist/);
    assert.doesNotMatch(text, /debug/, 'a low advisory is not listed');
  });

  test('a clean report or one with only moderate advisories passes', () => {
    assert.equal(decide(recorded('clean.json')).outcome, 'clean');
    const moderate = decide({ ...recorded('moderate.json'), status: 0 });
    assert.equal(moderate.outcome, 'clean');
    assert.match(moderate.lines[0] as string, /0 critical, 0 high, 1 moderate/);
  });

  test('an unreachable audit endpoint is skipped and said so: a network error, an HTTP error from a mirror or proxy, a timeout', () => {
    for (const run of [
      recorded('network-enotfound.json'),
      recorded('endpoint-405.json'),
      { status: 1, stdout: '', stderr: 'npm error code ECONNREFUSED\nnpm error request to https://registry.npmjs.org/-/npm/v1/security/advisories/bulk failed' },
      { status: null, stdout: '', stderr: '', error: Object.assign(new Error('spawnSync npm ETIMEDOUT'), { code: 'ETIMEDOUT' }) },
    ]) {
      const { outcome, lines } = decide(run);
      assert.equal(outcome, 'skipped', JSON.stringify(run).slice(0, 120));
      assert.ok((lines[0] as string).startsWith(SKIPPED_MESSAGE));
    }
    assert.equal(SKIPPED_MESSAGE, 'advisory check skipped: registry audit endpoint unreachable');
  });

  test('anything else fails rather than passing unseen: npm missing, no report, a JSON that is not a report', () => {
    assert.equal(decide({ status: null, stdout: '', stderr: '', error: Object.assign(new Error('spawnSync npm ENOENT'), { code: 'ENOENT' }) }).outcome, 'failed');
    assert.equal(decide({ status: 1, stdout: '', stderr: 'npm error code ELOCKVERIFY' }).outcome, 'failed');
    assert.equal(decide({ status: 1, stdout: '{"error":{"code":"EAUDITNOLOCK","summary":"Neither npm-shrinkwrap.json nor package-lock.json found"}}', stderr: '' }).outcome, 'failed');
  });
});
