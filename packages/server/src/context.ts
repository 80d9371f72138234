import type { Logger } from 'pino';
import type { AuditLog } from './audit/index.ts';
import type { Config } from './config/config.ts';
import type { SearchIndexer } from './chat/index.ts';
import type { Keyring } from './crypto/index.ts';
import type { Database } from './db/index.ts';
import type { PasswordBlocklist } from './identity/password.blocklist.ts';
import type { PasswordHasher } from './identity/password.hasher.ts';
import type { EventBus } from './realtime/event-bus.ts';
import type { PresenceDirectory } from './realtime/presence.ts';
import type { EventTap } from './realtime/event.actions.ts';
import type { Redis } from 'ioredis';
import type { Metrics, UpdateChecker } from './ops/index.ts';
import type { FileStore } from './files/index.ts';

/** What every action needs: built once per process by createServices(), passed explicitly. */
export interface AppContext {
  config: Config;
  database: Database;
  hasher: PasswordHasher;
  /** The tamper-evident log of security events and reads of room content. */
  audit: AuditLog;
  /** Seals and opens names, topics, messages and emails; makes the blind indexes. */
  keyring: Keyring;
  blocklist: PasswordBlocklist;
  log: Logger;
  now: () => number;
  /** This process's id among the nodes. */
  nodeId: string;
  /** Committed events, revocations and presence, to every node. */
  bus: EventBus;
  presence: PresenceDirectory;
  /** Writes new messages' search terms in batches, off the posting path. */
  searchIndexer: SearchIndexer;
  /** Shared Redis when REDIS_URL is set (rate limits across nodes). */
  redis: Redis | undefined;
  /** Files' encrypted bytes on disk (FILES_DIR; decision 0021). */
  fileStore: FileStore;
  /** This node's Prometheus metrics: counters on the hot paths, database reads when scraped. */
  metrics: Metrics;
  /** Run in the transaction of every recorded event (outgoing webhooks queue their deliveries). */
  eventTaps: EventTap[];
  /** New releases from the signed release feed (checked by serving nodes only). */
  updates: UpdateChecker;
}
