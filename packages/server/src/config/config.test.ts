import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from './config.ts';
import { parseDurationMs } from './duration.ts';

const problemsOf = (env: Record<string, string>): string[] => {
  try {
    loadConfig(env, '/srv/conclave');
    return [];
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.problems;
  }
};

describe('configuration', () => {
  test('defaults: port 8080, ./data and ./keys, SQLite, http://localhost:8080', () => {
    const config = loadConfig({}, '/srv/conclave');
    assert.equal(config.port, 8080);
    assert.equal(config.dataDir, '/srv/conclave/data');
    assert.equal(config.keysDir, '/srv/conclave/keys');
    assert.equal(config.databaseUrl, undefined);
    assert.equal(config.publicUrl.origin, 'http://localhost:8080');
    assert.equal(config.secureCookies, false);
    assert.equal(config.passwordHashMemoryKib, 19_456);
    assert.equal(config.passwordHashIterations, 2);
  });

  test('https PUBLIC_URL turns on Secure cookies', () => {
    assert.equal(loadConfig({ PUBLIC_URL: 'https://chat.example.org' }).secureCookies, true);
  });

  test('every bad value is reported at once, each with how to fix it', () => {
    const problems = problemsOf({
      PORT: 'eighty',
      PUBLIC_URL: 'chat.example.org',
      DATABASE_URL: 'mysql://db/conclave',
      LOG_LEVEL: 'loud',
      SESSION_IDLE_TIMEOUT: 'forever',
      AUTH_RATE_LIMIT_IP: 'many',
      PASSWORD_HASH_MEMORY_KIB: '4096',
      SQLITE_SYNCHRONOUS: 'off',
      TRUST_PROXY: 'maybe?',
    });
    const joined = problems.join('\n');
    for (const name of ['PORT', 'PUBLIC_URL', 'DATABASE_URL', 'LOG_LEVEL', 'SESSION_IDLE_TIMEOUT', 'AUTH_RATE_LIMIT_IP', 'PASSWORD_HASH_MEMORY_KIB', 'SQLITE_SYNCHRONOUS', 'TRUST_PROXY']) {
      assert.match(joined, new RegExp(`^${name}`, 'm'), `${name} is named`);
    }
    assert.equal(problems.length, 9);
    assert.match(joined, /at least|from 19456/, 'the argon2 floor cannot be lowered');
  });

  test('keys may not share the data directory; PUBLIC_URL must be an origin', () => {
    assert.match(problemsOf({ CONCLAVE_DATA_DIR: '/x', CONCLAVE_KEYS_DIR: '/x' }).join(), /CONCLAVE_KEYS_DIR/);
    assert.match(problemsOf({ PUBLIC_URL: 'https://example.org/chat' }).join(), /origin only/);
    assert.match(problemsOf({ SESSION_IDLE_TIMEOUT: '60d', SESSION_MAX_AGE: '30d' }).join(), /idle timeout the shorter/);
  });

  test('durations', () => {
    assert.equal(parseDurationMs('15m'), 900_000);
    assert.equal(parseDurationMs('14d'), 14 * 86_400_000);
    assert.equal(parseDurationMs('500ms'), 500);
    assert.equal(parseDurationMs('1w'), undefined);
    assert.equal(parseDurationMs('-1s'), undefined);
  });

  test('rate limits parse as attempts/window', () => {
    const config = loadConfig({ AUTH_RATE_LIMIT_IP: '12/30s', AUTH_RATE_LIMIT_ACCOUNT: '4/1h' });
    assert.deepEqual(config.authRateLimitPerIp, { max: 12, windowMs: 30_000 });
    assert.deepEqual(config.authRateLimitPerAccount, { max: 4, windowMs: 3_600_000 });
  });

  test('mail: SMTP_URL must be smtp(s):// and is never echoed; MAIL_FROM refuses header injection; reset lifetimes are bounded', () => {
    const config = loadConfig({ SMTP_URL: 'smtps://user%40x:p%40ss@mail.example.org:465', PUBLIC_URL: 'https://chat.example.org' });
    assert.equal(config.smtpUrl?.hostname, 'mail.example.org');
    assert.equal(config.mailFrom, 'Conclave <conclave@chat.example.org>');
    assert.equal(config.passwordResetTtlMs, 3_600_000);
    assert.equal(config.forcedResetTtlMs, 72 * 3_600_000);
    assert.deepEqual(config.resetRateLimitPerEmail, { max: 3, windowMs: 3_600_000 });
    assert.equal(loadConfig({}).smtpUrl, undefined);
    assert.equal(config.mailConcurrency, 16);
    assert.equal(loadConfig({ MAIL_CONCURRENCY: '4' }).mailConcurrency, 4);
    const problems = problemsOf({ SMTP_URL: 'http://user:hunter2secret@mail.example.org', MAIL_FROM: 'x@y.org\r\nBcc: z@w.org', PASSWORD_RESET_TTL: '30d', MAIL_CONCURRENCY: '0' }).join('\n');
    assert.match(problems, /^MAIL_CONCURRENCY="0"/m);
    assert.equal(loadConfig({}).mailRetentionMs, 30 * 86_400_000);
    assert.match(problemsOf({ MAIL_RETENTION: '1h' }).join(), /MAIL_RETENTION must be at least 1d/);
    assert.match(problems, /^SMTP_URL is not an SMTP server address/m);
    assert.doesNotMatch(problems, /hunter2secret/, 'the SMTP password is not echoed');
    assert.match(problems, /^MAIL_FROM=/m);
    assert.match(problems, /PASSWORD_RESET_TTL may be at most 7d/);
  });
});
