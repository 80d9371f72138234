import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Schema } from '../db/index.ts';
import { KEY_BYTES } from './key-files.ts';
import type { Keyring } from './keyring.ts';
import {
  countDataKeysUnder,
  deleteInstanceKeys,
  deleteRootKeys,
  findMasterKeyId,
  insertDataKeys,
  listAllRootKeys,
  listDataKeysOfInstance,
  rewrapDataKey,
  setMasterKeyId,
  updateRootKeyWrapping,
  type DataKeyRow,
} from './keyring.queries.ts';
import { completeMasterFileRotation, createNextMasterKey, MasterKeyError, type MasterKey } from './master-key.ts';

/** Data keys re-wrapped per transaction: keeps each write short on SQLite's single writer. */
const REWRAP_CHUNK = 500;

export interface InstanceRotation {
  kekVersion: number;
  rewrapped: number;
  newDataKeys: number;
  retiredKekVersions: number[];
}

/**
 * Rotates an instance's key-encryption key: a new KEK (wrapped by the master key), every data key of the
 * instance re-wrapped under it (no message is rewritten), a fresh data key version for every room and the
 * instance so new content uses new keys, then the old KEK destroyed. Interrupted, it is safe to run again.
 */
export const rotateInstanceKeys = async (
  keyring: Keyring,
  db: Kysely<Schema>,
  instanceId: string,
  now: number,
  onProgress: (done: number) => void = () => undefined,
): Promise<InstanceRotation> => {
  const keks = await keyring.instanceKeks(instanceId);
  if (keks.size === 0) throw new MasterKeyError(`Instance ${instanceId} has no keys to rotate: they were destroyed or never made.`);
  const kekVersion = Math.max(...keks.keys()) + 1;
  const kek = randomBytes(KEY_BYTES);
  await db.insertInto('root_keys').values(await keyring.newRootRow('kek', instanceId, kekVersion, kek, now)).execute();
  keks.set(kekVersion, kek);

  let rewrapped = 0;
  const latest = new Map<string, number>();
  let after: { ownerId: string; version: number } | undefined;
  for (;;) {
    const page = await listDataKeysOfInstance(db, instanceId, after, REWRAP_CHUNK);
    if (page.length === 0) break;
    await db.transaction().execute(async (trx) => {
      for (const row of page) {
        latest.set(row.owner_id, Math.max(latest.get(row.owner_id) ?? 0, row.version));
        if (row.kek_version === kekVersion) continue;
        const old = keks.get(row.kek_version);
        if (!old) throw new MasterKeyError(`The data key of ${row.owner_id} (version ${row.version}) needs KEK version ${row.kek_version}, which is gone.`);
        await rewrapDataKey(trx, row.owner_id, row.version, keyring.wrapData(kek, row.owner_id, row.version, keyring.unwrapData(old, row)), kekVersion);
        rewrapped += 1;
      }
    });
    onProgress(rewrapped);
    const last = page.at(-1) as DataKeyRow;
    after = { ownerId: last.owner_id, version: last.version };
  }

  const fresh: DataKeyRow[] = [...latest].map(([ownerId, version]) => ({
    owner_id: ownerId,
    version: version + 1,
    instance_id: instanceId,
    wrapped: keyring.wrapData(kek, ownerId, version + 1, randomBytes(KEY_BYTES)),
    kek_version: kekVersion,
    created_at: now,
  }));
  for (let i = 0; i < fresh.length; i += REWRAP_CHUNK) await insertDataKeys(db, fresh.slice(i, i + REWRAP_CHUNK));

  const retiredKekVersions: number[] = [];
  for (const version of keks.keys()) {
    if (version !== kekVersion && (await countDataKeysUnder(db, instanceId, version)) === 0) retiredKekVersions.push(version);
  }
  await deleteRootKeys(db, retiredKekVersions.map((version) => `instance:${instanceId}:kek:${version}`));
  keyring.forgetInstance(instanceId);
  return { kekVersion, rewrapped, newDataKeys: fresh.length, retiredKekVersions };
};

export interface MasterRotation {
  oldId: string;
  newId: string;
  rewrapped: number;
  retiredTo: string | undefined;
}

/**
 * Replaces the master key: every root key re-wrapped under a new one in one transaction (the database then
 * names the new key), then the key files swapped. The old key is kept in keys/retired/ for opening backups
 * made before now, or destroyed (keepOld false): then those backups cannot be opened at all.
 */
export const rotateMasterKey = async (keyring: Keyring, db: Kysely<Schema>, options: { keepOld: boolean }): Promise<MasterRotation> => {
  const source = keyring.masterSource;
  if (source.fromEnv !== undefined) {
    throw new MasterKeyError('The master key comes from CONCLAVE_MASTER_KEY: rotate it in the secrets manager that sets it (this command rewrites keys/master.key only).');
  }
  const oldId = keyring.masterId;
  const recorded = await findMasterKeyId(db);
  if (recorded !== oldId) throw new MasterKeyError(`The database names master key ${String(recorded).slice(0, 12)}, not the one loaded (${oldId.slice(0, 12)}). Restart and try again.`);
  const next: MasterKey = await createNextMasterKey(source.keysDir);
  const roots = await listAllRootKeys(db);
  await db.transaction().execute(async (trx) => {
    for (const row of roots) {
      const key = await keyring.unwrapRoot(row);
      await updateRootKeyWrapping(trx, row.id, next.wrap(row.id, key), next.id);
    }
    if (!(await setMasterKeyId(trx, next.id, oldId))) throw new MasterKeyError('Another rotation changed the master key meanwhile; nothing was changed by this one.');
  });
  const retiredTo = await completeMasterFileRotation(source.keysDir, oldId, options.keepOld);
  keyring.adoptMaster(next);
  return { oldId, newId: next.id, rewrapped: roots.length, retiredTo };
};

/**
 * Crypto-shredding: destroys the instance's keys in the database, then rotates the master key and destroys
 * the old one, because every backup made before now holds the instance's keys wrapped by that old master.
 * Afterwards nothing sealed for the instance opens, here or in any earlier backup.
 */
export const shredInstanceKeys = async (keyring: Keyring, db: Kysely<Schema>, instanceId: string): Promise<{ rootKeys: number; dataKeys: number; master: MasterRotation }> => {
  const deleted = await db.transaction().execute((trx) => deleteInstanceKeys(trx, instanceId));
  keyring.forgetInstance(instanceId);
  const master = await rotateMasterKey(keyring, db, { keepOld: false });
  return { ...deleted, master };
};

