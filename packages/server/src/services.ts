import { createHmac, randomBytes } from 'node:crypto';
import { FileStore } from './files/index.ts';
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { createLocalBus, createRedisBus } from './realtime/event-bus.ts';
import { pruneEvents } from './realtime/event.queries.ts';
import { createPresenceDirectory } from './realtime/presence.ts';
import type { Config } from './config/config.ts';
import type { AppContext } from './context.ts';
import { Keyring, MasterKeyError, type KeyringOptions, keyFingerprint, keyPath, readKey, readOrCreateKey } from './crypto/index.ts';
import { migrateToLatest, openDatabase, type Database } from './db/index.ts';
import { createLogger } from './http/logger.ts';
import { AuditLog, auditKeyName, listCheckpoints, signerFromSeed, type AuditInput } from './audit/index.ts';
import { createMetrics, createUpdateChecker } from './ops/index.ts';
import { createSearchIndexer, reindexRecentMessages, sealChatInClear } from './chat/index.ts';
import { createPasswordHasher, findServerState, lazyPasswordBlocklist, loadPasswordBlocklist, sealAccountsInClear, updateServerState } from './identity/index.ts';
import { sealInstancesInClear } from './instances/index.ts';
import { createDeliveryTap } from './integrations/index.ts';

/** Start-up refused for a reason the operator must fix; the message says how. */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}

export interface Services extends AppContext {
  /** A serving node: start-up entry, heartbeats and checkpoints (one-shot commands only record). */
  startAudit(): Promise<void>;
  /** A serving node: the release feed checks (UPDATE_FEED_URL). */
  startUpdateChecks(): void;
  close(): Promise<void>;
}

export interface ServiceOptions {
  logger?: Logger;
  /** PostgreSQL schema (tests); production uses the database's default. */
  pgSchema?: string;
  /** False only for the encryption benchmark's baseline (values stored as given); no configuration reaches it. */
  encrypt?: boolean;
  /** Opened values cached in memory, in characters (the benchmark turns it off to measure cold reads). */
  plaintextCacheChars?: number;
  /** False only for the audit benchmark's baseline (nothing recorded); no configuration reaches it. */
  audit?: boolean;
  /** One-shot commands load the password blocklist only if they check a password. */
  lazyBlocklist?: boolean;
}

/** Opens the keyring; a missing or wrong master key is an operator's problem to fix, said as such. */
export const openKeyring = async (config: Config, database: Database, options: KeyringOptions = {}): Promise<Keyring> => {
  try {
    return await Keyring.open(database.db, { keysDir: config.keysDir, fromEnv: config.masterKeyEnv }, options);
  } catch (error) {
    if (error instanceof MasterKeyError) throw new StartupError(error.message);
    throw error;
  }
};

/**
 * The pepper is created with the database and must come back with it. A fresh database adopts (or creates)
 * the keys directory's pepper and records its fingerprint; afterwards a missing or different pepper stops
 * start-up, because every password check would fail.
 */
export const loadPepper = async (config: Config, database: Database): Promise<Buffer> => {
  const state = await findServerState(database.db);
  if (state.pepper_id === null) {
    const { key } = await readOrCreateKey(config.keysDir, 'pepper');
    const fingerprint = keyFingerprint(key, 'pepper');
    await database.db.updateTable('server_state').set({ pepper_id: fingerprint }).where('id', '=', 1).where('pepper_id', 'is', null).execute();
    const recorded = (await findServerState(database.db)).pepper_id;
    if (recorded !== fingerprint) {
      throw new StartupError(`Another node set this database up with a different password pepper. Give every node the same keys directory (CONCLAVE_KEYS_DIR).`);
    }
    return key;
  }
  const key = await readKey(config.keysDir, 'pepper');
  if (!key) {
    throw new StartupError(
      `${keyPath(config.keysDir, 'pepper')} is missing, but this database's passwords were hashed with a pepper (id ${state.pepper_id.slice(0, 12)}). ` +
        'Restore the keys directory from its backup, or point CONCLAVE_KEYS_DIR at it. Without it no password can be checked; Conclave will not make a new one.',
    );
  }
  if (keyFingerprint(key, 'pepper') !== state.pepper_id) {
    throw new StartupError(
      `${keyPath(config.keysDir, 'pepper')} is not the pepper this database was set up with (expected id ${state.pepper_id.slice(0, 12)}). ` +
        'Point CONCLAVE_KEYS_DIR at the keys directory that belongs to this database.',
    );
  }
  return key;
};

/**
 * Values stored before encryption at rest existed (the 0.1 schema) are sealed once, at the first start with
 * keys; legacy data does not linger in clear. Idempotent and safe on several nodes at once.
 */
export const sealValuesInClear = async (ctx: AppContext): Promise<void> => {
  if ((await findServerState(ctx.database.db)).plaintext_sealed_at !== null) return;
  const sealed = (await sealInstancesInClear(ctx)) + (await sealAccountsInClear(ctx)) + (await sealChatInClear(ctx));
  await updateServerState(ctx.database.db, { plaintext_sealed_at: ctx.now() });
  if (sealed > 0) ctx.log.info({ sealed }, 'values stored in clear before encryption at rest are now sealed');
};

/**
 * The audit log and its signing key (keys/audit.key, an Ed25519 seed). A database that already has signed
 * checkpoints needs the key that signed them: Conclave refuses to start rather than sign with a new one.
 */
export const openAuditLog = async (config: Config, database: Database, log: Logger, enabled = true, onAppended?: (entries: readonly AuditInput[]) => void): Promise<AuditLog> => {
  let seed = await readKey(config.keysDir, 'audit');
  if (!seed) {
    if ((await listCheckpoints(database.db)).length > 0) {
      throw new StartupError(`${keyPath(config.keysDir, 'audit')} is missing, but this database's audit log is signed with it. Restore the keys directory from its backup.`);
    }
    seed = (await readOrCreateKey(config.keysDir, 'audit')).key;
  }
  // The log's name is fixed by its key, not by PUBLIC_URL, so checkpoints stay verifiable if the URL changes.
  const keyName = auditKeyName(seed);
  return new AuditLog({
    db: database.db,
    signer: signerFromSeed(seed, keyName),
    clientKey: createHmac('sha256', seed).update('conclave-audit-client-hash-v1').digest(),
    witnessPath: config.auditWitnessPath,
    witnessUrl: config.auditWitnessUrl,
    log,
    enabled,
    onAppended,
  });
};

/** Opens the database, migrates it, loads keys and the password blocklist: everything the app and CLI need. */
export const createServices = async (config: Config, options: ServiceOptions = {}): Promise<Services> => {
  const log = options.logger ?? createLogger(config.logLevel);
  const database = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    sqliteSynchronous: config.sqliteSynchronous,
    ...(options.pgSchema ? { pgSchema: options.pgSchema } : {}),
  });
  try {
    const applied = await migrateToLatest(database);
    if (applied.length > 0) log.info({ migrations: applied }, 'database migrated');
    const pepper = await loadPepper(config, database);
    const keyring = await openKeyring(config, database, {
      encrypt: options.encrypt ?? true,
      ...(options.plaintextCacheChars !== undefined ? { plaintextCacheChars: options.plaintextCacheChars } : {}),
    });
    const metrics = createMetrics({ db: database.db, log, processMetrics: config.metricsToken !== undefined || config.metricsPort !== undefined });
    const updates = createUpdateChecker({ config, log, onChecked: (result) => metrics.updateChecked(result) });
    const audit = await openAuditLog(config, database, log, options.audit ?? true, (entries) => metrics.auditAppended(entries));
    const blocklist = options.lazyBlocklist ? lazyPasswordBlocklist() : await loadPasswordBlocklist();
    const hasher = createPasswordHasher({
      pepper,
      memoryKib: config.passwordHashMemoryKib,
      iterations: config.passwordHashIterations,
      concurrency: config.passwordHashConcurrency,
    });
    const nodeId = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    const onRedisError = (error: Error) => log.error({ err: error }, 'redis error');
    const channel = `${config.redisPrefix}:bus`;
    // Events carry message bodies and revocations: sealed under the server's data key, bound to the channel.
    const codec = { encode: (text: string) => keyring.server.seal('bus.batch', channel, text), decode: (text: string) => keyring.server.open('bus.batch', channel, text) };
    const bus = config.redisUrl ? await createRedisBus(config.redisUrl, channel, onRedisError, codec) : createLocalBus();
    const redis = config.redisUrl ? new Redis(config.redisUrl, { maxRetriesPerRequest: 3 }) : undefined;
    redis?.on('error', onRedisError);
    const presence = createPresenceDirectory(bus);
    const searchIndexer = createSearchIndexer(database, log);
    // The resume window: prune the event log to its bounds, on every node (idempotent).
    const prune = setInterval(() => {
      pruneEvents(database.db, config.resumeWindowEvents, Date.now() - config.resumeWindowMs).catch((error: unknown) => log.warn({ err: error }, 'event pruning failed'));
    }, 60_000);
    prune.unref();
    let auditStarted = false;
    const services: Services = {
      config,
      database,
      hasher,
      audit,
      keyring,
      blocklist,
      log,
      now: Date.now,
      startAudit: async () => {
        auditStarted = true;
        await audit.start();
      },
      nodeId,
      bus,
      presence,
      searchIndexer,
      fileStore: new FileStore(config.filesDir),
      redis,
      metrics,
      eventTaps: [],
      updates,
      startUpdateChecks: () => updates.start(),
      close: async () => {
        clearInterval(prune);
        updates.close();
        await searchIndexer.close();
        await audit.close({ stopEntry: auditStarted });
        presence.close();
        await bus.close();
        redis?.disconnect();
        await database.close();
      },
    };
    // Outgoing webhooks queue their deliveries in the transaction of the events they hear.
    services.eventTaps.push(createDeliveryTap(services));
    await sealValuesInClear(services);
    const reindexed = await reindexRecentMessages(services);
    if (reindexed > 0) log.info({ messages: reindexed }, 'recent messages without search terms were indexed');
    return services;
  } catch (error) {
    await database.close();
    throw error;
  }
};

