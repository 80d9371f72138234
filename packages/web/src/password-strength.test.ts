import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assessPassword } from './password-strength.ts';

describe('the password strength meter', () => {
  test('explains length and never asks for symbols, capitals or digits', () => {
    for (const password of ['', 'short', 'longenough', 'correct horse battery staple', 'a much longer passphrase of plain words']) {
      const { verdict, notes } = assessPassword(password);
      for (const text of [verdict, ...notes]) assert.doesNotMatch(text, /symbol|capital|upper|special|must contain|digit/i, text);
    }
    assert.match(assessPassword('short').verdict, /3 more characters/);
    assert.equal(assessPassword('short').refused, true);
    const accepted = assessPassword('eightchr');
    assert.equal(accepted.refused, false);
    assert.equal(accepted.score, 2);
    assert.match(accepted.verdict, /15 or more/);
    assert.equal(assessPassword('correct horse battery').score, 3);
    assert.equal(assessPassword('correct horse battery staple today').score, 4);
  });

  test('counts characters as the server does (code points after NFKC), not UTF-16 units', () => {
    assert.equal(assessPassword('🦊🦊🦊🦊🦊🦊🦊').refused, true, 'seven foxes are seven characters');
    assert.equal(assessPassword('ﬃﬃﬃ').refused, false, 'NFKC expands ligatures as the server does: 9 characters');
  });

  test('the server is the authority: its answer code replaces the estimate', () => {
    const common = assessPassword('password1234567', {}, 'PASSWORD_TOO_COMMON');
    assert.equal(common.refused, true);
    assert.match(common.verdict, /common or breached/);
  });

  test('refuses what the server will refuse for context, and names patterns without refusing them', () => {
    assert.equal(assessPassword('ada@example.org', { email: 'ada@example.org' }).refused, true);
    assert.equal(assessPassword('ada lovelace', { displayName: 'Ada Lovelace' }).refused, true);
    const run = assessPassword('abcdefghijk');
    assert.equal(run.refused, false);
    assert.ok(run.notes.length > 0);
  });
});
