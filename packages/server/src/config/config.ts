import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { parseDurationMs } from './duration.ts';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export type SqliteSynchronous = 'full' | 'normal';

export interface RateLimit {
  max: number;
  windowMs: number;
}

export interface Config {
  port: number;
  host: string;
  publicUrl: URL;
  secureCookies: boolean;
  dataDir: string;
  keysDir: string;
  /** CONCLAVE_MASTER_KEY (base64 of 32 bytes) when the master key comes from the environment, not keys/master.key. */
  masterKeyEnv: string | undefined;
  /** The append-only file, outside the database, that every signed audit checkpoint is also written to. */
  auditWitnessPath: string;
  /** Where every signed checkpoint is also POSTed (a second witness, on another system), if set. */
  auditWitnessUrl: URL | undefined;
  databaseUrl: string | undefined;
  logLevel: LogLevel;
  trustProxy: boolean | number | string[];
  sessionIdleTtlMs: number;
  sessionMaxTtlMs: number;
  authRateLimitPerIp: RateLimit;
  authRateLimitPerAccount: RateLimit;
  passwordHashMemoryKib: number;
  passwordHashIterations: number;
  passwordHashConcurrency: number;
  sqliteSynchronous: SqliteSynchronous;
  redisUrl: string | undefined;
  redisPrefix: string;
  messageRateLimit: RateLimit;
  streamAuthTimeoutMs: number;
  streamMaxBufferedBytes: number;
  resumeWindowEvents: number;
  resumeWindowMs: number;
  /** smtp:// or smtps:// with optional credentials; unset: mail stays in the outbox (`conclave mail list`). */
  smtpUrl: URL | undefined;
  /** The From of every mail Conclave sends. */
  mailFrom: string;
  /** SMTP connections per node, and mails in flight at once. */
  mailConcurrency: number;
  /** Sent and failed mails are deleted this long after they ended (an incident mailing's stay with it). */
  mailRetentionMs: number;
  passwordResetTtlMs: number;
  /** A reset an admin, an operator or an incident forced may live longer: the person may be away. */
  forcedResetTtlMs: number;
  resetRateLimitPerIp: RateLimit;
  resetRateLimitPerEmail: RateLimit;
  /** The public status page, its feed and its JSON, per client address. */
  statusRateLimitPerIp: RateLimit;
  /** GET /metrics on the main port needs `Authorization: Bearer <this>`; unset, the main port serves no metrics. */
  metricsToken: string | undefined;
  /** A separate listener serving only GET /metrics; unset, none. */
  metricsPort: number | undefined;
  metricsHost: string;
  /** Incoming webhook posts per hook per window. */
  webhookRateLimit: RateLimit;
  /** Outgoing webhooks may reach private, loopback and link-local addresses (off by default: SSRF). */
  webhookAllowPrivateTargets: boolean;
  /** The signed release feed to check for new versions; unset, no checks. */
  updateFeedUrl: URL | undefined;
  updateCheckIntervalMs: number;
  /** The Ed25519 public key the feed must be signed with: the one shipped in the release unless overridden. */
  releaseKeyPath: string | undefined;
  /** Where files' encrypted bytes are kept (decision 0021); by default files/ in the data directory. */
  filesDir: string;
  /** The server-wide upload limit; an instance may set its own (instances.file_max_bytes). */
  fileMaxBytes: number;
}

/** OWASP's floor for argon2id (m=19 MiB, t=2, p=1); configuration may raise it, never lower it. */
export const ARGON2_MIN_MEMORY_KIB = 19_456;
export const ARGON2_MIN_ITERATIONS = 2;

/** Every variable Conclave reads, with its default and meaning: the README's table is made from this. */
export const CONFIG_VARIABLES = [
  { name: 'PORT', default: '8080', meaning: 'TCP port to listen on.' },
  { name: 'HOST', default: '0.0.0.0', meaning: 'Address to bind.' },
  { name: 'PUBLIC_URL', default: 'http://localhost:$PORT', meaning: 'The URL people use to reach Conclave; https makes cookies Secure.' },
  { name: 'CONCLAVE_DATA_DIR', default: './data', meaning: 'Where the embedded SQLite database lives.' },
  { name: 'CONCLAVE_KEYS_DIR', default: './keys', meaning: 'Where secrets live (password pepper, master key; later the audit key). Keep it outside the data directory and out of database backups.' },
  { name: 'CONCLAVE_MASTER_KEY', default: '(unset: keys/master.key)', meaning: 'The master key as base64 of 32 bytes (from a secrets manager), instead of master.key in the keys directory.' },
  { name: 'CONCLAVE_AUDIT_WITNESS', default: './audit-witness/checkpoints.log', meaning: 'Append-only file that receives every signed audit checkpoint, outside the database (ideally on other storage), so deleting the newest audit entries is detectable.' },
  { name: 'CONCLAVE_AUDIT_WITNESS_URL', default: '(unset)', meaning: 'https://… that receives every signed audit checkpoint as a JSON POST ({ at, note }): a witness on another system.' },
  { name: 'DATABASE_URL', default: '(unset: SQLite)', meaning: 'postgres://… to run on PostgreSQL instead of SQLite.' },
  { name: 'LOG_LEVEL', default: 'info', meaning: 'fatal, error, warn, info, debug, trace or silent.' },
  { name: 'TRUST_PROXY', default: 'false', meaning: 'true, a hop count, or comma-separated proxy addresses whose X-Forwarded-For is believed.' },
  { name: 'SESSION_IDLE_TIMEOUT', default: '14d', meaning: 'A session unused this long ends (ms, s, m, h, d).' },
  { name: 'SESSION_MAX_AGE', default: '30d', meaning: 'A session ends this long after log-in, used or not.' },
  { name: 'AUTH_RATE_LIMIT_IP', default: '30/1m', meaning: 'Authentication attempts allowed per client address per window.' },
  { name: 'AUTH_RATE_LIMIT_ACCOUNT', default: '10/15m', meaning: 'Authentication attempts allowed per email address per window.' },
  { name: 'PASSWORD_HASH_MEMORY_KIB', default: String(ARGON2_MIN_MEMORY_KIB), meaning: 'argon2id memory cost; at least 19456.' },
  { name: 'PASSWORD_HASH_ITERATIONS', default: String(ARGON2_MIN_ITERATIONS), meaning: 'argon2id time cost; at least 2.' },
  { name: 'PASSWORD_HASH_CONCURRENCY', default: '(cores)', meaning: 'At most this many password hashes at once, so hashing never starves the event loop of a core.' },
  { name: 'REDIS_URL', default: '(unset: one process)', meaning: 'redis://… to run several nodes: events, revocations and rate limits cross nodes through Redis.' },
  { name: 'REDIS_PREFIX', default: 'conclave', meaning: 'Prefix of Conclave\'s Redis channel and keys (several deployments can share a Redis).' },
  { name: 'MESSAGE_RATE_LIMIT', default: '30/1m', meaning: 'Messages one person may post in one room per window (flood control).' },
  { name: 'STREAM_AUTH_TIMEOUT', default: '5s', meaning: 'A WebSocket that has not authenticated by then is closed.' },
  { name: 'STREAM_MAX_BUFFERED_BYTES', default: '1048576', meaning: 'A socket with more than this waiting to be sent is dropped as a slow consumer.' },
  { name: 'RESUME_WINDOW', default: '10000/1h', meaning: 'Events kept for reconnecting clients: at most this many, this old; older gaps resync.' },
  { name: 'SMTP_URL', default: '(unset: mail stays in the outbox)', meaning: 'smtp://[user:password@]host[:port] (STARTTLS when offered) or smtps://… (TLS from the start). Unset, mail waits in the outbox and `conclave mail list|show` prints it.' },
  { name: 'MAIL_FROM', default: 'Conclave <conclave@PUBLIC_URL host>', meaning: 'The From of the mail Conclave sends: an address, or a name and <address>.' },
  { name: 'MAIL_CONCURRENCY', default: '16', meaning: 'SMTP connections each node keeps open and mails it sends at once (16: about 700 mails/s on 2 cores in bench/mail-delivery). Lower it if your relay limits connections per client (Postfix allows 50 by default), counting every node.' },
  { name: 'MAIL_RETENTION', default: '30d', meaning: 'Sent and failed mails (sealed) are deleted this long after they ended, at least 1d; the mails of an incident\'s notices stay with the incident as its record.' },
  { name: 'PASSWORD_RESET_TTL', default: '1h', meaning: 'A reset link someone asked for works this long, once.' },
  { name: 'PASSWORD_RESET_FORCED_TTL', default: '72h', meaning: 'A reset link sent because an admin, an operator or an incident forced a reset works this long, once.' },
  { name: 'PASSWORD_RESET_RATE_LIMIT_IP', default: '10/15m', meaning: 'Reset requests allowed per client address per window.' },
  { name: 'PASSWORD_RESET_RATE_LIMIT_EMAIL', default: '3/1h', meaning: 'Reset requests allowed per email address per window (known or not: the limit reveals nothing).' },
  { name: 'STATUS_RATE_LIMIT_IP', default: '300/1m', meaning: 'Requests for the public status page, its feed and its JSON allowed per client address per window.' },
  { name: 'METRICS_TOKEN', default: '(unset: no /metrics on the main port)', meaning: 'Serve Prometheus metrics at /metrics on the main port to requests with Authorization: Bearer <this> (at least 32 characters; compared in constant time). Also required on METRICS_PORT when set.' },
  { name: 'METRICS_PORT', default: '(unset: no metrics listener)', meaning: 'Serve Prometheus metrics (GET /metrics only) on this port of their own, bound to METRICS_HOST. Each node serves its own: scrape every node.' },
  { name: 'METRICS_HOST', default: '127.0.0.1', meaning: 'Address the METRICS_PORT listener binds; keep it off the public network (or set METRICS_TOKEN).' },
  { name: 'WEBHOOK_RATE_LIMIT', default: '60/1m', meaning: 'Posts one incoming webhook may make per window (Slack allows about one a second); more answer 429 rate_limited.' },
  { name: 'WEBHOOK_ALLOW_PRIVATE_TARGETS', default: 'false', meaning: 'true lets outgoing webhooks reach private, loopback, link-local and other reserved addresses (an intranet receiver). Off, a URL resolving to one is refused when made and when sent: room content cannot be aimed at the server\'s own network.' },
  { name: 'UPDATE_FEED_URL', default: '(unset: no update checks)', meaning: 'https://… of the signed release feed. Each node fetches it every UPDATE_CHECK_INTERVAL, accepts it only if its Ed25519 signature verifies against the release key shipped in packages/server/release-key.pub, and shows operators and instance admins the newest release (docs/runbooks/updates.md).' },
  { name: 'UPDATE_CHECK_INTERVAL', default: '6h', meaning: 'How often each node fetches the release feed (at least 1m).' },
  { name: 'UPDATE_FEED_KEY', default: '(unset: the shipped release-key.pub)', meaning: 'Path to another Ed25519 public key (PEM) for the release feed: for a private mirror signing its own feed, or tests.' },
  { name: 'CONCLAVE_FILES_DIR', default: '$CONCLAVE_DATA_DIR/files', meaning: 'Where uploaded files are kept, encrypted under their rooms\' keys, named by random ids. Back it up with the database (conclave backup includes it).' },
  { name: 'FILE_MAX_BYTES', default: String(25 * 1024 * 1024), meaning: 'The largest file one upload may carry (bytes), unless an instance sets its own limit (conclave instance file-limit).' },
  { name: 'SQLITE_SYNCHRONOUS', default: 'normal', meaning: 'normal (WAL: survives a killed process; no fsync on the event loop per commit) or full (also survives power loss, at a cost in latency).' },
] as const;

export class ConfigError extends Error {
  readonly problems: string[];

  constructor(problems: string[]) {
    super(`Conclave cannot start: its configuration is wrong.\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

type Env = Record<string, string | undefined>;

/** Reads and validates the environment. Throws a ConfigError listing every problem and how to fix it. */
export const loadConfig = (env: Env, cwd: string = process.cwd()): Config => {
  const problems: string[] = [];
  const read = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };

  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = read(name);
    if (raw === undefined) return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      problems.push(`${name}="${raw}" is not a whole number from ${min} to ${max}. Set it to, for example, ${fallback}.`);
      return fallback;
    }
    return Number(raw);
  };

  const duration = (name: string, fallback: string): number => {
    const raw = read(name) ?? fallback;
    const ms = parseDurationMs(raw);
    if (ms === undefined || ms <= 0) {
      problems.push(`${name}="${raw}" is not a duration. Write a number and a unit, such as 30s, 15m, 12h or ${fallback}.`);
      return parseDurationMs(fallback) ?? 0;
    }
    return ms;
  };

  const rateLimit = (name: string, fallback: string): RateLimit => {
    const raw = read(name) ?? fallback;
    const [maxRaw, windowRaw] = raw.split('/');
    const max = maxRaw !== undefined && /^\d+$/.test(maxRaw) ? Number(maxRaw) : NaN;
    const windowMs = windowRaw === undefined ? undefined : parseDurationMs(windowRaw);
    if (!Number.isInteger(max) || max < 1 || windowMs === undefined || windowMs <= 0) {
      problems.push(`${name}="${raw}" is not a rate limit. Write attempts/window, such as ${fallback}.`);
      const [fbMax, fbWindow] = fallback.split('/');
      return { max: Number(fbMax), windowMs: parseDurationMs(fbWindow ?? '1m') ?? 60_000 };
    }
    return { max, windowMs };
  };

  const port = integer('PORT', 8080, 0, 65_535);
  const host = read('HOST') ?? '0.0.0.0';

  const publicUrlRaw = read('PUBLIC_URL') ?? `http://localhost:${port}`;
  let publicUrl = new URL('http://localhost:8080');
  try {
    publicUrl = new URL(publicUrlRaw);
    if (publicUrl.protocol !== 'http:' && publicUrl.protocol !== 'https:') {
      problems.push(`PUBLIC_URL="${publicUrlRaw}" must start with https:// (or http:// for a local trial).`);
    } else if (publicUrl.pathname !== '/' || publicUrl.search || publicUrl.hash || publicUrl.username) {
      problems.push(`PUBLIC_URL="${publicUrlRaw}" must be an origin only, such as https://chat.example.org (no path, query or credentials).`);
    }
  } catch {
    problems.push(`PUBLIC_URL="${publicUrlRaw}" is not a URL. Set it to the address people use, such as https://chat.example.org.`);
  }

  const dataDir = resolve(cwd, read('CONCLAVE_DATA_DIR') ?? './data');
  const keysDir = resolve(cwd, read('CONCLAVE_KEYS_DIR') ?? './keys');
  if (dataDir === keysDir) {
    problems.push('CONCLAVE_KEYS_DIR is the same directory as CONCLAVE_DATA_DIR. Keys must live apart from the data they protect; point CONCLAVE_KEYS_DIR elsewhere.');
  }

  const masterKeyEnv = read('CONCLAVE_MASTER_KEY');
  if (masterKeyEnv !== undefined && Buffer.from(masterKeyEnv, 'base64').length !== 32) {
    problems.push('CONCLAVE_MASTER_KEY is not the base64 of 32 bytes. Generate one with: openssl rand -base64 32 (or unset it to use master.key in the keys directory).');
  }

  const auditWitnessPath = resolve(cwd, read('CONCLAVE_AUDIT_WITNESS') ?? './audit-witness/checkpoints.log');
  const witnessUrlRaw = read('CONCLAVE_AUDIT_WITNESS_URL');
  let auditWitnessUrl: URL | undefined;
  if (witnessUrlRaw !== undefined) {
    try {
      auditWitnessUrl = new URL(witnessUrlRaw);
      if (auditWitnessUrl.protocol !== 'https:' && auditWitnessUrl.protocol !== 'http:') throw new Error('not http');
    } catch {
      problems.push(`CONCLAVE_AUDIT_WITNESS_URL="${witnessUrlRaw}" is not an http(s) URL. Give the address that receives checkpoints, such as https://witness.example.org/conclave.`);
      auditWitnessUrl = undefined;
    }
  }

  const databaseUrl = read('DATABASE_URL');
  if (databaseUrl !== undefined) {
    try {
      const url = new URL(databaseUrl);
      if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
        problems.push('DATABASE_URL must be a postgres:// URL; leave it unset to use the embedded SQLite database.');
      }
    } catch {
      problems.push('DATABASE_URL is not a URL. Write it as postgres://user:password@host:5432/database.');
    }
  }

  const logLevelRaw = (read('LOG_LEVEL') ?? 'info').toLowerCase();
  const logLevel = LOG_LEVELS.find((level) => level === logLevelRaw);
  if (!logLevel) problems.push(`LOG_LEVEL="${logLevelRaw}" is not a level. Use one of ${LOG_LEVELS.join(', ')}.`);

  const trustProxyRaw = read('TRUST_PROXY') ?? 'false';
  let trustProxy: Config['trustProxy'] = false;
  if (trustProxyRaw === 'true') trustProxy = true;
  else if (trustProxyRaw === 'false') trustProxy = false;
  else if (/^\d+$/.test(trustProxyRaw)) trustProxy = Number(trustProxyRaw);
  else if (/^[0-9a-fA-F.:/,\s]+$/.test(trustProxyRaw)) trustProxy = trustProxyRaw.split(',').map((part) => part.trim()).filter(Boolean);
  else problems.push(`TRUST_PROXY="${trustProxyRaw}" must be true, false, a hop count, or comma-separated proxy addresses.`);

  const sessionIdleTtlMs = duration('SESSION_IDLE_TIMEOUT', '14d');
  const sessionMaxTtlMs = duration('SESSION_MAX_AGE', '30d');
  if (sessionIdleTtlMs > sessionMaxTtlMs) {
    problems.push('SESSION_IDLE_TIMEOUT is longer than SESSION_MAX_AGE; make the idle timeout the shorter of the two.');
  }

  const passwordHashMemoryKib = integer('PASSWORD_HASH_MEMORY_KIB', ARGON2_MIN_MEMORY_KIB, ARGON2_MIN_MEMORY_KIB, 4_194_304);
  const passwordHashIterations = integer('PASSWORD_HASH_ITERATIONS', ARGON2_MIN_ITERATIONS, ARGON2_MIN_ITERATIONS, 100);
  const passwordHashConcurrency = integer('PASSWORD_HASH_CONCURRENCY', availableParallelism(), 1, 1024);

  const redisUrl = read('REDIS_URL');
  if (redisUrl !== undefined && !/^rediss?:\/\//.test(redisUrl)) problems.push('REDIS_URL must start with redis:// or rediss://; leave it unset for a single node.');
  const redisPrefix = read('REDIS_PREFIX') ?? 'conclave';
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(redisPrefix)) problems.push(`REDIS_PREFIX="${redisPrefix}" may hold letters, digits and _.:- (up to 64).`);
  const messageRateLimit = rateLimit('MESSAGE_RATE_LIMIT', '30/1m');
  const streamAuthTimeoutMs = duration('STREAM_AUTH_TIMEOUT', '5s');
  const streamMaxBufferedBytes = integer('STREAM_MAX_BUFFERED_BYTES', 1_048_576, 16_384, 1_073_741_824);
  const resumeWindow = rateLimit('RESUME_WINDOW', '10000/1h');

  const syncRaw = (read('SQLITE_SYNCHRONOUS') ?? 'normal').toLowerCase();
  if (syncRaw !== 'full' && syncRaw !== 'normal') problems.push(`SQLITE_SYNCHRONOUS="${syncRaw}" must be full or normal.`);

  const smtpRaw = read('SMTP_URL');
  let smtpUrl: URL | undefined;
  if (smtpRaw !== undefined) {
    // Never echoed: it may carry the SMTP password.
    try {
      smtpUrl = new URL(smtpRaw);
      if ((smtpUrl.protocol !== 'smtp:' && smtpUrl.protocol !== 'smtps:') || smtpUrl.hostname === '' || (smtpUrl.pathname !== '' && smtpUrl.pathname !== '/')) throw new Error('not smtp');
    } catch {
      problems.push('SMTP_URL is not an SMTP server address. Write smtp://user:password@mail.example.org:587 (STARTTLS) or smtps://user:password@mail.example.org:465 (TLS), with the user and password URL-encoded; leave it unset to keep mail in the outbox.');
      smtpUrl = undefined;
    }
  }
  const mailFrom = read('MAIL_FROM') ?? `Conclave <conclave@${publicUrl.hostname}>`;
  if (!/^([^<>\r\n]{0,100}<[^<>@\s]+@[^<>@\s]+>|[^<>@\s]+@[^<>@\s]+)$/.test(mailFrom)) {
    problems.push(`MAIL_FROM="${mailFrom}" is not an address. Write conclave@example.org or Conclave <conclave@example.org>.`);
  }
  const passwordResetTtlMs = duration('PASSWORD_RESET_TTL', '1h');
  const mailConcurrency = integer('MAIL_CONCURRENCY', 16, 1, 256);
  const mailRetentionMs = duration('MAIL_RETENTION', '30d');
  if (mailRetentionMs < 86_400_000) problems.push(`MAIL_RETENTION must be at least 1d (the outbox is what \`conclave mail list\` shows); write 30d, say.`);
  const forcedResetTtlMs = duration('PASSWORD_RESET_FORCED_TTL', '72h');
  if (passwordResetTtlMs > 7 * 86_400_000 || forcedResetTtlMs > 30 * 86_400_000) {
    problems.push('PASSWORD_RESET_TTL may be at most 7d and PASSWORD_RESET_FORCED_TTL at most 30d: a reset link is a password while it works.');
  }

  const metricsToken = read('METRICS_TOKEN');
  // Never echoed: it is a credential.
  if (metricsToken !== undefined && !/^[\x21-\x7e]{32,512}$/.test(metricsToken)) {
    problems.push('METRICS_TOKEN must be 32 to 512 printable characters without spaces. Generate one with: openssl rand -base64 32');
  }
  const metricsPortRaw = read('METRICS_PORT');
  const metricsPort = metricsPortRaw === undefined ? undefined : integer('METRICS_PORT', 9464, 0, 65_535);
  if (metricsPort !== undefined && metricsPort !== 0 && metricsPort === port) problems.push(`METRICS_PORT=${metricsPort} is the same as PORT; give the metrics a port of their own (9464 is usual), or unset METRICS_PORT and use METRICS_TOKEN.`);
  const metricsHost = read('METRICS_HOST') ?? '127.0.0.1';
  const allowPrivateRaw = (read('WEBHOOK_ALLOW_PRIVATE_TARGETS') ?? 'false').toLowerCase();
  if (allowPrivateRaw !== 'true' && allowPrivateRaw !== 'false') problems.push(`WEBHOOK_ALLOW_PRIVATE_TARGETS="${allowPrivateRaw}" must be true or false.`);

  const feedRaw = read('UPDATE_FEED_URL');
  let updateFeedUrl: URL | undefined;
  if (feedRaw !== undefined) {
    try {
      updateFeedUrl = new URL(feedRaw);
      const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(updateFeedUrl.hostname);
      if (updateFeedUrl.protocol !== 'https:' && !(updateFeedUrl.protocol === 'http:' && loopback)) throw new Error('not https');
    } catch {
      problems.push('UPDATE_FEED_URL must be an https:// URL (http:// only on this machine), such as https://releases.example.org/conclave/feed.json; leave it unset for no update checks.');
      updateFeedUrl = undefined;
    }
  }
  const updateCheckIntervalMs = duration('UPDATE_CHECK_INTERVAL', '6h');
  if (updateCheckIntervalMs < 60_000) problems.push('UPDATE_CHECK_INTERVAL must be at least 1m: the feed changes a few times a year.');
  const releaseKeyRaw = read('UPDATE_FEED_KEY');
  const releaseKeyPath = releaseKeyRaw === undefined ? undefined : resolve(cwd, releaseKeyRaw);

  const filesDir = resolve(cwd, read('CONCLAVE_FILES_DIR') ?? resolve(dataDir, 'files'));
  if (filesDir === keysDir || filesDir.startsWith(`${keysDir}/`)) problems.push('CONCLAVE_FILES_DIR is inside CONCLAVE_KEYS_DIR; keep files with the data, apart from the keys.');
  const fileMaxBytes = integer('FILE_MAX_BYTES', 25 * 1024 * 1024, 1, 4 * 1024 * 1024 * 1024);

  const config: Config = {
    port,
    host,
    publicUrl,
    secureCookies: publicUrl.protocol === 'https:',
    dataDir,
    keysDir,
    masterKeyEnv,
    auditWitnessPath,
    auditWitnessUrl,
    databaseUrl,
    logLevel: logLevel ?? 'info',
    trustProxy,
    sessionIdleTtlMs,
    sessionMaxTtlMs,
    authRateLimitPerIp: rateLimit('AUTH_RATE_LIMIT_IP', '30/1m'),
    authRateLimitPerAccount: rateLimit('AUTH_RATE_LIMIT_ACCOUNT', '10/15m'),
    passwordHashMemoryKib,
    passwordHashIterations,
    passwordHashConcurrency,
    sqliteSynchronous: syncRaw === 'full' ? 'full' : 'normal',
    redisUrl,
    redisPrefix,
    messageRateLimit,
    streamAuthTimeoutMs,
    streamMaxBufferedBytes,
    resumeWindowEvents: resumeWindow.max,
    resumeWindowMs: resumeWindow.windowMs,
    smtpUrl,
    mailFrom,
    mailConcurrency,
    mailRetentionMs,
    passwordResetTtlMs,
    forcedResetTtlMs,
    resetRateLimitPerIp: rateLimit('PASSWORD_RESET_RATE_LIMIT_IP', '10/15m'),
    resetRateLimitPerEmail: rateLimit('PASSWORD_RESET_RATE_LIMIT_EMAIL', '3/1h'),
    statusRateLimitPerIp: rateLimit('STATUS_RATE_LIMIT_IP', '300/1m'),
    metricsToken,
    metricsPort,
    metricsHost,
    webhookRateLimit: rateLimit('WEBHOOK_RATE_LIMIT', '60/1m'),
    webhookAllowPrivateTargets: allowPrivateRaw === 'true',
    updateFeedUrl,
    updateCheckIntervalMs,
    releaseKeyPath,
    filesDir,
    fileMaxBytes,
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
};
