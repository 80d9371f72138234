import { createHash } from 'node:crypto';
import { hash as bcryptHash } from '@node-rs/bcrypt';
import { LEGACY_HASH_PREFIX } from '../crypto/index.ts';
import type { PasswordHasher } from './password.hasher.ts';

/**
 * Legacy password hashes an import accepts (docs/runbooks/legacy-import.md, decision 0013). None is ever
 * stored as it came: each is wrapped at once as
 *
 *   $conclave-legacy$<format>$<params>$argon2id$v=19$m=…,t=…,p=1$<salt>$<hash>
 *
 * where the argon2id PHC string is the native hasher's (same pepper, same parameters) over the legacy hash
 * L, i.e. argon2id(HMAC-SHA256(pepper, L)); <params> is base64url JSON of what is needed to recompute L from
 * a password and is not secret (bcrypt's cost and salt, a salted digest's salt and order). At log-in L is
 * recomputed from the typed password and checked against the wrap; on success the native form replaces it.
 * Without the pepper the wrap cannot be attacked offline, exactly like a native hash.
 */
export const LEGACY_FORMATS = ['bcrypt', 'md5', 'sha1', 'sha256'] as const;
export type LegacyFormat = (typeof LEGACY_FORMATS)[number];
export type SaltOrder = 'salt+password' | 'password+salt';

export interface LegacyHash {
  format: LegacyFormat;
  /** bcrypt: the modular crypt string ($2a$/$2b$/$2y$); digests: hex. */
  hash: string;
  /** md5/sha1/sha256 only: a salt that was concatenated with the password before hashing. */
  salt?: string | undefined;
  saltOrder?: SaltOrder | undefined;
}

interface LegacyParams {
  /** bcrypt: the 29-character setting ($2b$12$ and 22 salt characters). */
  setting?: string;
  salt?: string;
  order?: SaltOrder;
}

const DIGEST_HEX_LENGTH: Record<Exclude<LegacyFormat, 'bcrypt'>, number> = { md5: 32, sha1: 40, sha256: 64 };

/**
 * A bcrypt hash: version 2a, 2b or 2y; cost 04–15 (a higher cost would make each log-in cost seconds of CPU);
 * 22 salt characters whose last one carries no stray bits, then 31 hash characters, in bcrypt's base64.
 */
const BCRYPT = /^\$2[aby]\$(0[4-9]|1[0-5])\$[./A-Za-z0-9]{21}[.Oeu][./A-Za-z0-9]{30}[.CGKOSWaeimquy26]$/;

/** What is wrong with a legacy hash for its declared format (never echoing it), or undefined. */
export const legacyHashProblem = (legacy: LegacyHash): string | undefined => {
  if (legacy.format === 'bcrypt') {
    if (legacy.salt !== undefined && legacy.salt !== '') return 'bcrypt hashes carry their own salt; leave the salt column empty';
    if (/^\$2x\$/.test(legacy.hash)) return 'a $2x$ bcrypt hash (from the 2011 crypt_blowfish bug) cannot be verified reliably; force a reset for this account instead';
    if (/^\$2[aby]\$(\d\d)\$/.test(legacy.hash) && !/^\$2[aby]\$(0[4-9]|1[0-5])\$/.test(legacy.hash)) return 'bcrypt cost must be between 04 and 15';
    return BCRYPT.test(legacy.hash) ? undefined : 'not a bcrypt hash ($2a$, $2b$ or $2y$, cost, then 53 characters of bcrypt base64)';
  }
  const length = DIGEST_HEX_LENGTH[legacy.format];
  return new RegExp(`^[0-9a-fA-F]{${length}}$`).test(legacy.hash) ? undefined : `not a ${legacy.format} hash (${length} hexadecimal characters)`;
};

/** The legacy hash in the one form it is wrapped and recomputed in. */
const canonical = (legacy: LegacyHash): string => (legacy.format === 'bcrypt' ? legacy.hash : legacy.hash.toLowerCase());

const paramsOf = (legacy: LegacyHash): LegacyParams => {
  if (legacy.format === 'bcrypt') return { setting: legacy.hash.slice(0, 29) };
  if (legacy.salt === undefined || legacy.salt === '') return {};
  return { salt: legacy.salt, order: legacy.saltOrder ?? 'salt+password' };
};

/** Wraps a (checked) legacy hash: what an import stores instead of it. */
export const wrapLegacyHash = async (hasher: PasswordHasher, legacy: LegacyHash): Promise<string> => {
  const problem = legacyHashProblem(legacy);
  if (problem) throw new Error(`refusing to wrap a malformed ${legacy.format} hash: ${problem}`);
  const params = Buffer.from(JSON.stringify(paramsOf(legacy)), 'utf8').toString('base64url');
  return `${LEGACY_HASH_PREFIX}${legacy.format}$${params}${await hasher.hash(canonical(legacy))}`;
};

export const isWrappedLegacyHash = (stored: string): boolean => stored.startsWith(LEGACY_HASH_PREFIX);

const parseWrapped = (stored: string): { format: LegacyFormat; params: LegacyParams; phc: string } | undefined => {
  const rest = stored.slice(LEGACY_HASH_PREFIX.length);
  const formatEnd = rest.indexOf('$');
  const paramsEnd = rest.indexOf('$', formatEnd + 1);
  if (formatEnd < 0 || paramsEnd < 0) return undefined;
  const format = LEGACY_FORMATS.find((f) => f === rest.slice(0, formatEnd));
  if (!format) return undefined;
  try {
    const params = JSON.parse(Buffer.from(rest.slice(formatEnd + 1, paramsEnd), 'base64url').toString('utf8')) as LegacyParams;
    return { format, params, phc: rest.slice(paramsEnd) };
  } catch {
    return undefined;
  }
};

/** Recomputes the legacy hash of a password as the old system did: over its UTF-8 bytes as typed, unnormalized. */
const legacyHashOf = async (format: LegacyFormat, params: LegacyParams, password: string): Promise<string | undefined> => {
  if (format === 'bcrypt') {
    if (params.setting === undefined) return undefined;
    // bcrypt's own semantics, including its 72-byte truncation: the old system had them too.
    return bcryptHash(password, { salt: params.setting });
  }
  const input = params.salt === undefined ? password : params.order === 'password+salt' ? password + params.salt : params.salt + password;
  return createHash(format).update(input, 'utf8').digest('hex');
};

/** Whether a password matches a wrapped legacy hash. */
export const verifyWrappedLegacyHash = async (hasher: PasswordHasher, stored: string, password: string): Promise<boolean> => {
  const parsed = parseWrapped(stored);
  if (!parsed) return false;
  let legacy: string | undefined;
  try {
    legacy = await legacyHashOf(parsed.format, parsed.params, password);
  } catch {
    legacy = undefined;
  }
  if (legacy === undefined) {
    await hasher.verifyDummy(password);
    return false;
  }
  return (await hasher.verify(parsed.phc, legacy)).ok;
};
