import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { auditKeyName } from '../audit/index.ts';
import type { Config } from '../config/config.ts';
import { keyFingerprint, keyPath, readKey, readMasterKey } from '../crypto/index.ts';
import type { KeyFile, KeyFingerprints } from './key-export.ts';

/** The fingerprints of the keys this configuration gives (keys directory, or CONCLAVE_MASTER_KEY for the master). */
export const configuredFingerprints = async (config: Config): Promise<KeyFingerprints> => {
  const pepper = await readKey(config.keysDir, 'pepper');
  const master = await readMasterKey({ keysDir: config.keysDir, fromEnv: config.masterKeyEnv }, { create: false });
  const audit = await readKey(config.keysDir, 'audit');
  return {
    pepper: pepper ? keyFingerprint(pepper, 'pepper') : null,
    master: master?.id ?? null,
    audit: audit ? auditKeyName(audit) : null,
  };
};

const decode = (content: Buffer): Buffer | undefined => {
  const key = Buffer.from(content.toString('utf8').trim(), 'base64');
  return key.length === 32 ? key : undefined;
};

/** The fingerprints of the keys among a set of key files (an export's). */
export const fingerprintsOfFiles = (files: KeyFile[]): KeyFingerprints => {
  const named = (name: string) => {
    const file = files.find((f) => f.path === `${name}.key`);
    return file ? decode(file.content) : undefined;
  };
  const pepper = named('pepper');
  const master = named('master');
  const audit = named('audit');
  return {
    pepper: pepper ? keyFingerprint(pepper, 'pepper') : null,
    master: master ? keyFingerprint(master, 'master') : null,
    audit: audit ? auditKeyName(audit) : null,
  };
};

/** A retired master key (keys/retired/) whose fingerprint is `id`, if one is kept. */
export const findRetiredMaster = async (keysDir: string, id: string): Promise<string | undefined> => {
  const dir = join(keysDir, 'retired');
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return undefined;
  }
  for (const name of names) {
    try {
      const key = decode(await readFile(join(dir, name)));
      if (key && keyFingerprint(key, 'master') === id) return join(dir, name);
    } catch {
      // not a key
    }
  }
  return undefined;
};

const short = (id: string): string => id.replace(/^conclave-audit\//, '').slice(0, 12);

/**
 * What is missing or different between the keys a backup needs and the keys configured, one line each,
 * naming the file, the fingerprint needed and what to do. Empty when every needed key is there.
 */
export const describeMissingKeys = async (config: Config, needed: KeyFingerprints): Promise<string[]> => {
  const present = await configuredFingerprints(config);
  const problems: string[] = [];
  if (needed.pepper && present.pepper !== needed.pepper) {
    const path = keyPath(config.keysDir, 'pepper');
    problems.push(
      present.pepper === null
        ? `the password pepper ${path} is missing (the backup needs pepper id ${short(needed.pepper)}); without it no password can be checked.`
        : `${path} is a different pepper (id ${short(present.pepper)}; the backup needs ${short(needed.pepper)}).`,
    );
  }
  if (needed.master && present.master !== needed.master) {
    const where = config.masterKeyEnv !== undefined ? 'CONCLAVE_MASTER_KEY' : keyPath(config.keysDir, 'master');
    const retired = await findRetiredMaster(config.keysDir, needed.master);
    problems.push(
      (present.master === null
        ? `the master key ${where} is missing (the backup needs master key id ${short(needed.master)}); without it no name, topic, message or email can be read.`
        : `${where} is a different master key (id ${short(present.master)}; the backup needs ${short(needed.master)}: the backup may predate a master rotation).`) +
        (retired ? ` ${retired} is that key: copy it to master.key in a separate keys directory for the restore.` : ''),
    );
  }
  if (needed.audit && present.audit !== needed.audit) {
    const path = keyPath(config.keysDir, 'audit');
    problems.push(
      present.audit === null
        ? `the audit signing key ${path} is missing (the backup's audit log is signed by ${needed.audit}); without it the log cannot go on.`
        : `${path} is a different audit key (${present.audit}; the backup's log is signed by ${needed.audit}).`,
    );
  }
  return problems;
};
