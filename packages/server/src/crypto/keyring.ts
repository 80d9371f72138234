import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Schema } from '../db/index.ts';
import { openWithKey, sealedVersion, sealWithKey, unwrapKey, wrapKey } from './field-cipher.ts';
import { KEY_BYTES } from './key-files.ts';
import {
  completeMasterFileRotation,
  describeMasterSource,
  MasterKeyError,
  readMasterKey,
  readNextMasterKey,
  type MasterKey,
  type MasterKeySource,
} from './master-key.ts';
import {
  findDataKeys,
  findMasterKeyId,
  findRootKeys,
  insertDataKeys,
  insertRootKeys,
  setMasterKeyId,
  type DataKeyRow,
  type RootKeyRow,
} from './keyring.queries.ts';

/** Seals and opens the fields whose data key belongs to one owner: a room, an instance, or the server. */
export interface OwnerCipher {
  readonly instanceId: string | null;
  readonly ownerId: string;
  /** The version new seals use. */
  readonly version: number;
  seal(field: string, recordId: string, plaintext: string): string;
  open(field: string, recordId: string, sealed: string): string;
  /**
   * A key of its own for one large record (a file), derived with HKDF-SHA256 from the owner's data key of
   * `version` (the current one when omitted) and bound to the purpose and record: destroying or shredding
   * the data key makes it underivable. Undefined when that version is not held.
   */
  deriveKey(purpose: string, recordId: string, version?: number): { version: number; key: Buffer } | undefined;
}

/** An instance's own data key (its name, its rooms' names and topics, its events) and its blind index. */
export interface InstanceKeys {
  data: OwnerCipher;
  /** Keyed blind index of a room name, for uniqueness without the name. */
  roomNameKey(name: string): string;
  /** Keyed blind index of one normalized search word. */
  term(word: string): string;
}

/** Keys made before a transaction and saved inside it, so a failed write leaves no orphan key behind. */
export interface PreparedKeys {
  save(db: Kysely<Schema>): Promise<void>;
}

export interface KeyringOptions {
  /** False only for the encryption benchmark's baseline: values are stored as given. */
  encrypt?: boolean;
  /** How long a loaded data key set is trusted before it is re-read (another node may have rotated). */
  refreshMs?: number;
  /** Data key sets kept in memory at most. */
  cacheSize?: number;
  /**
   * Opened values kept in memory, keyed by owner, field, record and the stored ciphertext (so an edit, a
   * tampered value or one moved from another record never hits), up to this many characters; 0 turns it off.
   */
  plaintextCacheChars?: number;
}

/**
 * A bounded LRU of opened values. Reads of a room's recent history repeat (every client that opens the room
 * reads the same page), and AES-GCM through node:crypto costs ~6 µs a value in cipher set-up alone. Keyed by
 * key owner, field and record; an entry is used only when the stored ciphertext is the very one it was
 * opened from, so an edit, a tampered value or one moved from another record or room never hits.
 */
class PlaintextCache {
  private readonly entries = new Map<string, { sealed: string; plain: string }>();
  private chars = 0;
  constructor(private readonly maxChars: number) {}

  get(key: string, sealed: string): string | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined || entry.sealed !== sealed) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.plain;
  }

  set(key: string, sealed: string, plain: string): void {
    if (this.maxChars <= 0) return;
    const previous = this.entries.get(key);
    if (previous) {
      this.entries.delete(key);
      this.chars -= key.length + previous.sealed.length + previous.plain.length;
    }
    this.entries.set(key, { sealed, plain });
    this.chars += key.length + sealed.length + plain.length;
    while (this.chars > this.maxChars) {
      const oldest = this.entries.entries().next().value;
      if (!oldest) break;
      this.entries.delete(oldest[0]);
      this.chars -= oldest[0].length + oldest[1].sealed.length + oldest[1].plain.length;
    }
  }

  clear(): void {
    this.entries.clear();
    this.chars = 0;
  }
}

const SERVER_OWNER = 'server';
const rootKeyId = (purpose: RootKeyRow['purpose'], instanceId: string | null, version: number): string =>
  instanceId === null ? `server:${purpose}:${version}` : `instance:${instanceId}:${purpose}:${version}`;
const dataKeyId = (ownerId: string, version: number): string => `data:${ownerId}:${version}`;

export const normalizeForIndex = (value: string): string => value.trim().normalize('NFC').toLowerCase();

const hmacHex = (key: Buffer, purpose: string, value: string): string => createHmac('sha256', key).update(`${purpose}\u0000${value}`, 'utf8').digest('hex');

interface OwnerEntry {
  instanceId: string | null;
  keys: Map<number, Buffer>;
  current: number;
  loadedAt: number;
}

const makeCipher = (ownerId: string, entry: OwnerEntry, encrypt: boolean, cache: PlaintextCache): OwnerCipher => ({
  instanceId: entry.instanceId,
  ownerId,
  version: entry.current,
  seal(field, recordId, plaintext) {
    if (!encrypt) return plaintext;
    const key = entry.keys.get(entry.current);
    if (!key) throw new Error(`No current data key for ${ownerId}.`);
    const sealed = sealWithKey(key, entry.current, { field, instanceId: entry.instanceId, ownerId, recordId }, plaintext);
    // What was just written is what the room's readers ask for next: no one pays to open it.
    cache.set(`${ownerId}|${field}|${recordId}`, sealed, plaintext);
    return sealed;
  },
  open(field, recordId, sealed) {
    if (!encrypt) return sealed;
    const cacheKey = `${ownerId}|${field}|${recordId}`;
    const cached = cache.get(cacheKey, sealed);
    if (cached !== undefined) return cached;
    const opened = openWithKey((version) => entry.keys.get(version), { field, instanceId: entry.instanceId, ownerId, recordId }, sealed);
    cache.set(cacheKey, sealed, opened);
    return opened;
  },
  deriveKey(purpose, recordId, version = entry.current) {
    const key = entry.keys.get(version);
    if (!key) return undefined;
    const info = `conclave-derived-v1|${purpose}|${entry.instanceId ?? '-'}|${ownerId}|${recordId}|${version}`;
    return { version, key: Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), info, 32)) };
  },
});

export class Keyring {
  readonly encrypt: boolean;
  private master: MasterKey;
  private readonly source: MasterKeySource;
  private readonly db: Kysely<Schema>;
  private readonly refreshMs: number;
  private readonly cacheSize: number;
  private readonly owners = new Map<string, OwnerEntry>();
  private readonly keks = new Map<string, Map<number, Buffer>>();
  private readonly indexKeys = new Map<string, Buffer>();
  private serverEntry: OwnerEntry | undefined;
  private serverIndex: Buffer | undefined;
  private readonly plaintext: PlaintextCache;

  private constructor(db: Kysely<Schema>, source: MasterKeySource, master: MasterKey, options: KeyringOptions) {
    this.db = db;
    this.source = source;
    this.master = master;
    this.encrypt = options.encrypt ?? true;
    this.refreshMs = options.refreshMs ?? 30_000;
    this.cacheSize = options.cacheSize ?? 20_000;
    this.plaintext = new PlaintextCache(options.plaintextCacheChars ?? 16 * 1024 * 1024);
  }

  /**
   * Loads the master key (creating it for a fresh database), checks it is the one the database was set up
   * with (finishing a master rotation that stopped between its database and file steps), and makes sure the
   * server's own data and index keys exist.
   */
  static async open(db: Kysely<Schema>, source: MasterKeySource, options: KeyringOptions = {}): Promise<Keyring> {
    const recorded = await findMasterKeyId(db);
    let master: MasterKey | undefined;
    if (recorded === null) {
      master = await readMasterKey(source, { create: true });
      if (!master) throw new MasterKeyError('No master key could be created.');
      if (!(await setMasterKeyId(db, master.id, null)) && (await findMasterKeyId(db)) !== master.id) {
        throw new MasterKeyError(`Another node set this database up with a different master key. Give every node the same keys directory (CONCLAVE_KEYS_DIR) or CONCLAVE_MASTER_KEY.`);
      }
    } else {
      master = await readMasterKey(source, { create: false });
      if (!master) {
        throw new MasterKeyError(
          `${describeMasterSource(source)} is missing, but this database's keys are wrapped by a master key (id ${recorded.slice(0, 12)}). ` +
            'Restore the keys directory from its backup or set CONCLAVE_MASTER_KEY. Without it nothing encrypted can be read; Conclave will not make a new one.',
        );
      }
      if (master.id !== recorded) {
        const next = source.fromEnv === undefined ? await readNextMasterKey(source.keysDir) : undefined;
        if (next?.id === recorded) {
          // A master rotation committed in the database but stopped before swapping the files: finish it.
          await completeMasterFileRotation(source.keysDir, master.id, true);
          master = next;
        } else {
          throw new MasterKeyError(
            `${describeMasterSource(source)} is not the master key this database's keys are wrapped with (expected id ${recorded.slice(0, 12)}, found ${master.id.slice(0, 12)}). ` +
              'Point CONCLAVE_KEYS_DIR at the keys directory that belongs to this database.',
          );
        }
      }
    }
    const keyring = new Keyring(db, source, master, options);
    await keyring.loadServerKeys();
    return keyring;
  }

  get masterId(): string {
    return this.master.id;
  }

  get masterSource(): MasterKeySource {
    return this.source;
  }

  /** The server's data key: people's names and emails, events addressed to one person. */
  get server(): OwnerCipher {
    if (!this.serverEntry) throw new Error('The keyring is not open.');
    return makeCipher(SERVER_OWNER, this.serverEntry, this.encrypt, this.plaintext);
  }

  /** The lookup key of an email: a keyed blind index, never the address. */
  emailIndex(email: string): string {
    if (!this.serverIndex) throw new Error('The keyring is not open.');
    return hmacHex(this.serverIndex, 'email', normalizeForIndex(email));
  }

  async instance(instanceId: string): Promise<InstanceKeys> {
    const data = await this.owner(instanceId);
    const index = await this.instanceIndexKey(instanceId);
    return {
      data,
      roomNameKey: (name) => hmacHex(index, 'room-name', normalizeForIndex(name)),
      term: (word) => createHmac('sha256', index).update(`term\u0000${word}`, 'utf8').digest('base64url').slice(0, 22),
    };
  }

  /**
   * The cipher of a room's (or an instance's, or 'server') data key. `seen` are stored values about to be
   * opened: a version this node has not loaded yet (another node rotated) makes it re-read the keys first.
   * Inside a transaction, pass it as `db`: on SQLite a read outside it would wait for it forever.
   */
  async owner(ownerId: string, seen: Iterable<string | null> = [], db: Kysely<Schema> = this.db): Promise<OwnerCipher> {
    if (ownerId === SERVER_OWNER) return this.server;
    let entry = this.owners.get(ownerId);
    const stale = entry === undefined || Date.now() - entry.loadedAt > this.refreshMs || this.missesVersion(entry, seen);
    if (stale) entry = await this.loadOwner(ownerId, db);
    else if (entry) {
      // Most recently used last: the map's order is the eviction order.
      this.owners.delete(ownerId);
      this.owners.set(ownerId, entry);
    }
    if (!entry) throw new MasterKeyError(`No data key for ${ownerId}: its keys were destroyed or never made.`);
    return makeCipher(ownerId, entry, this.encrypt, this.plaintext);
  }

  /** Makes an instance's key-encryption key, index key and data key, wrapped, ready to save with the instance. */
  async prepareInstance(instanceId: string, now: number): Promise<PreparedKeys> {
    await this.refreshMaster();
    const kek = randomBytes(KEY_BYTES);
    const index = randomBytes(KEY_BYTES);
    const roots: RootKeyRow[] = [
      this.rootRow('kek', instanceId, 1, kek, now),
      this.rootRow('index', instanceId, 1, index, now),
    ];
    const data = randomBytes(KEY_BYTES);
    const dataRow: DataKeyRow = { owner_id: instanceId, version: 1, instance_id: instanceId, wrapped: this.wrapData(kek, instanceId, 1, data), kek_version: 1, created_at: now };
    return {
      save: async (db) => {
        await insertRootKeys(db, roots);
        await insertDataKeys(db, [dataRow]);
        this.keks.set(instanceId, new Map([[1, kek]]));
        this.indexKeys.set(instanceId, index);
        this.remember(instanceId, { instanceId, keys: new Map([[1, data]]), current: 1, loadedAt: Date.now() });
      },
    };
  }

  /** Makes a room's first data key, wrapped by its instance's current KEK, ready to save with the room. */
  async prepareRoom(instanceId: string, roomId: string, now: number): Promise<PreparedKeys> {
    const { version: kekVersion, key: kek } = await this.currentKek(instanceId);
    const data = randomBytes(KEY_BYTES);
    const row: DataKeyRow = { owner_id: roomId, version: 1, instance_id: instanceId, wrapped: this.wrapData(kek, roomId, 1, data), kek_version: kekVersion, created_at: now };
    return {
      save: async (db) => {
        await insertDataKeys(db, [row]);
        this.remember(roomId, { instanceId, keys: new Map([[1, data]]), current: 1, loadedAt: Date.now() });
      },
    };
  }

  /** Drops everything cached of an instance (after rotation or shredding). */
  forgetInstance(instanceId: string): void {
    // Rare (rotation, shredding): dropping every opened value is simpler than finding the instance's.
    this.plaintext.clear();
    this.keks.delete(instanceId);
    this.indexKeys.delete(instanceId);
    for (const [ownerId, entry] of this.owners) if (entry.instanceId === instanceId) this.owners.delete(ownerId);
  }

  // ---- used by rotation (crypto/key-rotation.ts) ----

  /** Every KEK version of an instance, unwrapped. */
  async instanceKeks(instanceId: string, db: Kysely<Schema> = this.db): Promise<Map<number, Buffer>> {
    const rows = await findRootKeys(db, instanceId, 'kek');
    const keks = new Map<number, Buffer>();
    for (const row of rows) keks.set(row.version, await this.unwrapRoot(row));
    this.keks.set(instanceId, keks);
    return keks;
  }

  async newRootRow(purpose: RootKeyRow['purpose'], instanceId: string | null, version: number, key: Buffer, now: number): Promise<RootKeyRow> {
    await this.refreshMaster();
    return this.rootRow(purpose, instanceId, version, key, now);
  }

  wrapData(kek: Buffer, ownerId: string, version: number, key: Buffer): string {
    return wrapKey(kek, dataKeyId(ownerId, version), key);
  }

  unwrapData(kek: Buffer, row: DataKeyRow): Buffer {
    return unwrapKey(kek, dataKeyId(row.owner_id, row.version), row.wrapped);
  }

  /** Opens a root key under whichever master wrapped it (reloading the master once if it changed). */
  async unwrapRoot(row: RootKeyRow): Promise<Buffer> {
    if (row.master_id !== this.master.id) await this.reloadMaster();
    if (row.master_id !== this.master.id) {
      throw new MasterKeyError(`The key ${row.id} is wrapped by master key ${row.master_id.slice(0, 12)}, but ${describeMasterSource(this.source)} holds ${this.master.id.slice(0, 12)}.`);
    }
    return this.master.unwrap(row.id, row.wrapped);
  }

  /** Switches to a new master after a rotation committed. */
  adoptMaster(master: MasterKey): void {
    this.master = master;
  }

  // ---- internals ----

  private rootRow(purpose: RootKeyRow['purpose'], instanceId: string | null, version: number, key: Buffer, now: number): RootKeyRow {
    const id = rootKeyId(purpose, instanceId, version);
    return { id, instance_id: instanceId, purpose, version, wrapped: this.master.wrap(id, key), master_id: this.master.id, created_at: now };
  }

  private missesVersion(entry: OwnerEntry, seen: Iterable<string | null>): boolean {
    if (!this.encrypt) return false;
    for (const value of seen) {
      if (value === null) continue;
      const version = sealedVersion(value);
      if (version !== undefined && !entry.keys.has(version)) return true;
    }
    return false;
  }

  private remember(ownerId: string, entry: OwnerEntry): void {
    this.owners.delete(ownerId);
    this.owners.set(ownerId, entry);
    while (this.owners.size > this.cacheSize) {
      const oldest = this.owners.keys().next().value;
      if (oldest === undefined) break;
      this.owners.delete(oldest);
    }
  }

  private async loadOwner(ownerId: string, db: Kysely<Schema>): Promise<OwnerEntry | undefined> {
    const rows = await findDataKeys(db, ownerId);
    const first = rows[0];
    if (!first) {
      this.owners.delete(ownerId);
      return undefined;
    }
    let keks = this.keks.get(first.instance_id);
    if (!keks || rows.some((row) => !keks?.has(row.kek_version))) keks = await this.instanceKeks(first.instance_id, db);
    const keys = new Map<number, Buffer>();
    for (const row of rows) {
      const kek = keks.get(row.kek_version);
      if (!kek) throw new MasterKeyError(`The data key ${dataKeyId(row.owner_id, row.version)} needs KEK version ${row.kek_version} of instance ${row.instance_id}, which is gone.`);
      keys.set(row.version, this.unwrapData(kek, row));
    }
    const entry: OwnerEntry = { instanceId: first.instance_id, keys, current: Math.max(...keys.keys()), loadedAt: Date.now() };
    this.remember(ownerId, entry);
    return entry;
  }

  /** Read fresh each time (a new room is rare): a rotation on another node may have retired the cached KEK. */
  private async currentKek(instanceId: string): Promise<{ version: number; key: Buffer }> {
    const keks = await this.instanceKeks(instanceId);
    if (keks.size === 0) throw new MasterKeyError(`Instance ${instanceId} has no key-encryption key: its keys were destroyed.`);
    const version = Math.max(...keks.keys());
    const key = keks.get(version);
    if (!key) throw new MasterKeyError(`Instance ${instanceId} has no key-encryption key: its keys were destroyed.`);
    return { version, key };
  }

  private async instanceIndexKey(instanceId: string): Promise<Buffer> {
    const cached = this.indexKeys.get(instanceId);
    if (cached) return cached;
    const [row] = await findRootKeys(this.db, instanceId, 'index');
    if (!row) throw new MasterKeyError(`Instance ${instanceId} has no index key: its keys were destroyed.`);
    const key = await this.unwrapRoot(row);
    this.indexKeys.set(instanceId, key);
    return key;
  }

  private async loadServerKeys(): Promise<void> {
    let data = await findRootKeys(this.db, null, 'server-data');
    let index = await findRootKeys(this.db, null, 'server-index');
    if (data.length === 0 || index.length === 0) {
      const now = Date.now();
      await insertRootKeys(this.db, [
        ...(data.length === 0 ? [this.rootRow('server-data', null, 1, randomBytes(KEY_BYTES), now)] : []),
        ...(index.length === 0 ? [this.rootRow('server-index', null, 1, randomBytes(KEY_BYTES), now)] : []),
      ]);
      // Another node may have won the insert: read back what is stored.
      data = await findRootKeys(this.db, null, 'server-data');
      index = await findRootKeys(this.db, null, 'server-index');
    }
    const keys = new Map<number, Buffer>();
    for (const row of data) keys.set(row.version, await this.unwrapRoot(row));
    this.serverEntry = { instanceId: null, keys, current: Math.max(...keys.keys()), loadedAt: Date.now() };
    const [indexRow] = index;
    if (!indexRow) throw new MasterKeyError('The server index key is missing.');
    this.serverIndex = await this.unwrapRoot(indexRow);
  }

  /** Before wrapping anything new under the master: make sure no rotation replaced it meanwhile. */
  private async refreshMaster(): Promise<void> {
    const recorded = await findMasterKeyId(this.db);
    if (recorded !== null && recorded !== this.master.id) await this.reloadMaster();
    if (recorded !== null && recorded !== this.master.id) {
      throw new MasterKeyError(`The database's master key is now ${recorded.slice(0, 12)}, but ${describeMasterSource(this.source)} holds ${this.master.id.slice(0, 12)}.`);
    }
  }

  private async reloadMaster(): Promise<void> {
    const fresh = await readMasterKey(this.source, { create: false });
    if (fresh) this.master = fresh;
  }
}
