import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, describe, test } from 'node:test';
import { loadPasswordBlocklist, packBlocklist, type PasswordBlocklist } from './password.blocklist.ts';
import { createLimiter, createPasswordHasher } from './password.hasher.ts';
import { findPasswordProblem, passwordAdvice, passwordLength } from './password.policy.ts';

describe('password policy (NIST SP 800-63B)', () => {
  let blocklist: PasswordBlocklist;
  before(async () => {
    blocklist = await loadPasswordBlocklist();
  });

  test('the blocklist holds at least the 100,000 most common passwords', () => {
    assert.ok(blocklist.size >= 100_000, `size ${blocklist.size}`);
    for (const common of ['123456', 'password', 'qwerty123', 'iloveyou', 'password1', 'letmein', 'trustno1', 'football']) {
      assert.ok(blocklist.has(common), common);
    }
    assert.ok(blocklist.has('PassWord1'), 'compared case-insensitively');
  });

  test('at least 8 characters, counted as characters rather than bytes', () => {
    assert.equal(findPasswordProblem('xk3-q9z', blocklist), 'PASSWORD_TOO_SHORT');
    assert.equal(findPasswordProblem('xk3-q9zr', blocklist), undefined);
    assert.equal(passwordLength('日本語のパスワ'), 7);
    assert.equal(findPasswordProblem('日本語のパスワ', blocklist), 'PASSWORD_TOO_SHORT', '7 characters (21 bytes) is too short');
    assert.equal(findPasswordProblem('日本語のパスワード', blocklist), undefined);
    assert.equal(passwordLength('👩🏽‍💻'.repeat(2)), 8, 'emoji count by code point');
  });

  test('no composition rules: lower-case words pass, symbols are not demanded', () => {
    assert.equal(findPasswordProblem('correct horse battery staple', blocklist), undefined);
    assert.equal(findPasswordProblem('zebraquilt', blocklist), undefined);
  });

  test('64 and more characters are allowed (up to 1024), never truncated', () => {
    assert.equal(findPasswordProblem('a'.repeat(63) + 'Z', blocklist), undefined);
    assert.equal(findPasswordProblem(randomBytes(300).toString('base64').slice(0, 1024), blocklist), undefined);
    assert.equal(findPasswordProblem('x'.repeat(1025), blocklist), 'PASSWORD_TOO_LONG');
  });

  test('common passwords and the person\'s own email or name are refused', () => {
    assert.equal(findPasswordProblem('password123', blocklist), 'PASSWORD_TOO_COMMON');
    assert.equal(findPasswordProblem('ada.lovelace@example.org', blocklist, { email: 'Ada.Lovelace@example.org' }), 'PASSWORD_MATCHES_CONTEXT');
    assert.equal(findPasswordProblem('ada.lovelace', blocklist, { email: 'ada.lovelace@example.org' }), 'PASSWORD_MATCHES_CONTEXT');
    assert.equal(findPasswordProblem('Augusta Ada King', blocklist, { displayName: 'augusta ada king' }), 'PASSWORD_MATCHES_CONTEXT');
  });

  test('advice, not a rule, under 15 characters', () => {
    assert.match(passwordAdvice('xk3-q9zr-b') ?? '', /15 or more/);
    assert.equal(passwordAdvice('a much longer pass phrase'), undefined);
  });
});

describe('password hasher', () => {
  const pepper = randomBytes(32);
  const hasher = createPasswordHasher({ pepper, memoryKib: 19_456, iterations: 2 });

  test('argon2id PHC strings with a fresh salt each time; verifies right and wrong', async () => {
    const a = await hasher.hash('correct horse battery staple');
    const b = await hasher.hash('correct horse battery staple');
    assert.match(a, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    assert.notEqual(a, b, 'per-hash random salt');
    assert.deepEqual(await hasher.verify(a, 'correct horse battery staple'), { ok: true, needsRehash: false });
    assert.deepEqual(await hasher.verify(a, 'correct horse battery stapler'), { ok: false, needsRehash: false });
  });

  test('the pepper is part of the hash: another pepper cannot verify it', async () => {
    const stored = await hasher.hash('pepper-dependent-1');
    const other = createPasswordHasher({ pepper: randomBytes(32), memoryKib: 19_456, iterations: 2 });
    assert.equal((await other.verify(stored, 'pepper-dependent-1')).ok, false);
  });

  test('unicode is normalized (NFKC) before hashing: composed and decomposed forms match', async () => {
    const stored = await hasher.hash('caf\u00e9-au-lait');
    assert.equal((await hasher.verify(stored, 'cafe\u0301-au-lait')).ok, true);
  });

  test('a hash made with weaker parameters is flagged for rehash', async () => {
    const stronger = createPasswordHasher({ pepper, memoryKib: 19_456 * 2, iterations: 3 });
    const old = await hasher.hash('upgrade-me-please');
    assert.deepEqual(await stronger.verify(old, 'upgrade-me-please'), { ok: true, needsRehash: true });
    assert.deepEqual(await stronger.verify(await stronger.hash('upgrade-me-please'), 'upgrade-me-please'), { ok: true, needsRehash: false });
  });

  test('non-argon2id or corrupt hashes never verify', async () => {
    assert.equal((await hasher.verify('$2b$12$abcdefghijklmnopqrstuv', 'x')).ok, false);
    assert.equal((await hasher.verify('$argon2id$garbage', 'x')).ok, false);
    assert.equal((await hasher.verify('plaintext-password', 'plaintext-password')).ok, false);
  });

  test('hashing runs off the event loop: a timer keeps firing while 8 hashes run', async () => {
    let ticks = 0;
    const timer = setInterval(() => {
      ticks += 1;
    }, 1);
    await Promise.all(Array.from({ length: 8 }, (_, i) => hasher.hash(`concurrent-${i}-password`)));
    clearInterval(timer);
    assert.ok(ticks >= 3, `the loop turned ${ticks} times while hashing`);
  });
});

describe('packed blocklist', () => {
  test('finds every entry and nothing else, whatever the case or normalization', () => {
    const list = packBlocklist(['banana', 'Apple', 'cherry', 'ßtraße', 'ｆｕｌｌｗｉｄｔｈ', 'apple', '']);
    assert.equal(list.size, 5, 'case-folded duplicates and blanks are dropped');
    for (const present of ['banana', 'APPLE', 'Cherry', 'ßtraße', 'fullwidth']) assert.ok(list.has(present), present);
    for (const absent of ['', 'a', 'bananas', 'appl', 'zzz', 'cherryx']) assert.equal(list.has(absent), false, absent);
  });
});

describe('hash concurrency limit', () => {
  test('never more tasks in flight than the limit, and every task runs', async () => {
    const limiter = createLimiter(2);
    let inFlight = 0;
    let peak = 0;
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        limiter.run(async () => {
          inFlight += 1;
          peak = Math.max(peak, inFlight);
          await new Promise((resolve) => setTimeout(resolve, 2));
          inFlight -= 1;
          return i;
        }),
      ),
    );
    assert.deepEqual(results, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.equal(peak, 2);
    assert.equal(limiter.active, 0, 'all slots released');
  });

  test('a failing task releases its slot', async () => {
    const limiter = createLimiter(1);
    await assert.rejects(limiter.run(async () => { throw new Error('boom'); }), /boom/);
    assert.equal(await limiter.run(async () => 'next'), 'next');
  });
});
