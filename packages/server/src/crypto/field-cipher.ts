import { createCipheriv, createDecipheriv, randomBytes, randomFillSync } from 'node:crypto';

/**
 * AES-256-GCM for one field of one record. The associated data names the field, the instance, the key's
 * owner (a room, an instance or the server), the record and the key version, so a ciphertext copied to
 * another row, field, room or instance does not open.
 *
 * Stored form: `cv1.<key version>.<base64url(iv ‖ ciphertext ‖ tag)>`.
 */
export const CIPHERTEXT_PREFIX = 'cv1.';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const SEALED = /^cv1\.(\d{1,9})\.([A-Za-z0-9_-]+)$/;

/** Thrown when a stored value does not open: tampered, moved, or sealed under a key this ring lacks. */
export class CiphertextError extends Error {
  readonly field: string;
  readonly recordId: string;

  constructor(field: string, recordId: string, reason: string) {
    super(`The encrypted ${field} of record ${recordId} does not open: ${reason}.`);
    this.name = 'CiphertextError';
    this.field = field;
    this.recordId = recordId;
  }
}

/** Where a ciphertext belongs: bound into it as associated data. */
export interface SealContext {
  /** `table.column`, e.g. `messages.body`. */
  field: string;
  instanceId: string | null;
  /** Whose data key: a room id, an instance id, or `server`. */
  ownerId: string;
  recordId: string;
}

export const associatedData = (where: SealContext, version: number): Buffer =>
  Buffer.from(`conclave-field-v1|${where.field}|${where.instanceId ?? '-'}|${where.ownerId}|${where.recordId}|${version}`, 'utf8');

/**
 * The key version a stored value names, or undefined when it is not ciphertext at all. Reads the prefix
 * only (hot path: every opened value); a corrupt body fails authentication when opened.
 */
export const sealedVersion = (value: string): number | undefined => {
  if (!value.startsWith(CIPHERTEXT_PREFIX)) return undefined;
  const dot = value.indexOf('.', CIPHERTEXT_PREFIX.length);
  if (dot <= CIPHERTEXT_PREFIX.length || dot > CIPHERTEXT_PREFIX.length + 9) return undefined;
  const version = Number(value.slice(CIPHERTEXT_PREFIX.length, dot));
  return Number.isInteger(version) && version >= 0 ? version : undefined;
};

/** Random IVs drawn from a pooled buffer: one call to the CSPRNG per 512 seals instead of one each. */
const IV_POOL_SIZE = IV_BYTES * 512;
let ivPool = Buffer.alloc(0);
let ivOffset = IV_POOL_SIZE;
const nextIv = (): Buffer => {
  if (ivOffset >= IV_POOL_SIZE) {
    ivPool = randomFillSync(Buffer.allocUnsafe(IV_POOL_SIZE));
    ivOffset = 0;
  }
  ivOffset += IV_BYTES;
  return ivPool.subarray(ivOffset - IV_BYTES, ivOffset);
};

export const isSealed = (value: string): boolean => {
  const match = SEALED.exec(value);
  return match !== null && Buffer.from(match[2] ?? '', 'base64url').length >= IV_BYTES + TAG_BYTES;
};

export const sealWithKey = (key: Buffer, version: number, where: SealContext, plaintext: string): string => {
  const iv = nextIv();
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(associatedData(where, version));
  const body = Buffer.concat([iv, cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return `${CIPHERTEXT_PREFIX}${version}.${body.toString('base64url')}`;
};

export const openWithKey = (keyFor: (version: number) => Buffer | undefined, where: SealContext, sealed: string): string => {
  const version = sealedVersion(sealed);
  if (version === undefined) throw new CiphertextError(where.field, where.recordId, 'it is not ciphertext');
  const key = keyFor(version);
  if (!key) throw new CiphertextError(where.field, where.recordId, `no key of version ${version} for ${where.ownerId}`);
  const body = Buffer.from(sealed.slice(sealed.indexOf('.', CIPHERTEXT_PREFIX.length) + 1), 'base64url');
  if (body.length < IV_BYTES + TAG_BYTES) throw new CiphertextError(where.field, where.recordId, 'it is truncated');
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, body.subarray(0, IV_BYTES));
    decipher.setAAD(associatedData(where, version));
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
    return decipher.update(body.subarray(IV_BYTES, body.length - TAG_BYTES), undefined, 'utf8') + decipher.final('utf8');
  } catch {
    throw new CiphertextError(where.field, where.recordId, 'it was altered, moved from another record, or sealed under another key');
  }
};

/** Key wrapping: the same AEAD, over raw key bytes, bound to the wrapped key's identity. */
export const wrapKey = (wrappingKey: Buffer, keyId: string, key: Buffer): string => {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', wrappingKey, iv);
  cipher.setAAD(Buffer.from(`conclave-wrap-v1|${keyId}`, 'utf8'));
  return Buffer.concat([iv, cipher.update(key), cipher.final(), cipher.getAuthTag()]).toString('base64url');
};

export const unwrapKey = (wrappingKey: Buffer, keyId: string, wrapped: string): Buffer => {
  const body = Buffer.from(wrapped, 'base64url');
  if (body.length < IV_BYTES + TAG_BYTES) throw new Error(`The wrapped key ${keyId} is truncated.`);
  const decipher = createDecipheriv('aes-256-gcm', wrappingKey, body.subarray(0, IV_BYTES));
  decipher.setAAD(Buffer.from(`conclave-wrap-v1|${keyId}`, 'utf8'));
  decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(body.subarray(IV_BYTES, body.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new Error(`The wrapped key ${keyId} does not open under its wrapping key: wrong key or altered row.`);
  }
};
