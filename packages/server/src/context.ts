import type { Logger } from 'pino';
import type { Config } from './config/config.ts';
import type { Database } from './db/index.ts';
import type { PasswordBlocklist } from './identity/password.blocklist.ts';
import type { PasswordHasher } from './identity/password.hasher.ts';

/** What every action needs: built once per process by createServices(), passed explicitly. */
export interface AppContext {
  config: Config;
  database: Database;
  hasher: PasswordHasher;
  blocklist: PasswordBlocklist;
  log: Logger;
  now: () => number;
}
