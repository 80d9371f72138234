import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

/**
 * Checkpoints in the C2SP tlog-checkpoint format, as a signed note (C2SP signed-note) with an Ed25519
 * signature:
 *
 *   <origin>\n<tree size>\n<base64 root hash>\n
 *   \n
 *   — <key name> <base64(key hash[4] ‖ signature[64])>\n
 *
 * The key hash is the first 4 bytes of SHA-256(key name ‖ "\n" ‖ 0x01 ‖ public key).
 */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SIGNATURE_PREFIX = '\u2014 ';

export interface AuditSigner {
  readonly keyName: string;
  readonly publicKey: Buffer;
  sign(text: string): string;
}

export interface Checkpoint {
  origin: string;
  size: number;
  root: Buffer;
}

export const signerFromSeed = (seed: Buffer, keyName: string): AuditSigner => {
  const privateKey = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const publicKey = createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).subarray(-32);
  const hash = keyHash(keyName, publicKey);
  return {
    keyName,
    publicKey,
    sign: (text) => `${SIGNATURE_PREFIX}${keyName} ${Buffer.concat([hash, sign(null, Buffer.from(text, 'utf8'), privateKey)]).toString('base64')}\n`,
  };
};

/**
 * The audit log's name, fixed by its key (not by PUBLIC_URL, so checkpoints stay verifiable if the URL
 * changes): `conclave-audit/<first 16 hex of SHA-256(public key)>`. Also the key's public fingerprint.
 */
export const auditKeyName = (seed: Buffer): string =>
  `conclave-audit/${createHash('sha256').update(signerFromSeed(seed, 'conclave-audit').publicKey).digest('hex').slice(0, 16)}`;

export const keyHash = (keyName: string, publicKey: Buffer): Buffer =>
  createHash('sha256').update(`${keyName}\n`).update(Buffer.from([1])).update(publicKey).digest().subarray(0, 4);

/** The last key parsed: verify opens every checkpoint with one key, and parsing it cost as much as checking a signature. */
let lastKey: { raw: Buffer; key: KeyObject } | undefined;

const publicKeyObject = (publicKey: Buffer): KeyObject => {
  if (!lastKey?.raw.equals(publicKey)) {
    lastKey = { raw: Buffer.from(publicKey), key: createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), publicKey]), format: 'der', type: 'spki' }) };
  }
  return lastKey.key;
};

export const checkpointText = (checkpoint: Checkpoint): string => `${checkpoint.origin}\n${checkpoint.size}\n${checkpoint.root.toString('base64')}\n`;

export const signCheckpoint = (signer: AuditSigner, checkpoint: Checkpoint): string => {
  const text = checkpointText(checkpoint);
  return `${text}\n${signer.sign(text)}`;
};

export type OpenedCheckpoint = { ok: true; checkpoint: Checkpoint } | { ok: false; problem: string };

/** Parses a signed checkpoint and checks its signature by this key name and public key. */
export const openCheckpoint = (note: string, keyName: string, publicKey: Buffer): OpenedCheckpoint => {
  const split = note.indexOf('\n\n');
  if (split < 0) return { ok: false, problem: 'it is not a signed note' };
  const text = note.slice(0, split + 1);
  const lines = text.split('\n');
  const [origin, sizeText, rootText] = lines;
  if (lines.length !== 4 || !origin || !sizeText || !/^\d+$/.test(sizeText) || !rootText) return { ok: false, problem: 'its text is not a checkpoint' };
  const root = Buffer.from(rootText, 'base64');
  if (root.length !== 32) return { ok: false, problem: 'its root hash is not 32 bytes' };
  const expectedHash = keyHash(keyName, publicKey);
  const signatures = note.slice(split + 2).split('\n').filter(Boolean);
  let sawName = false;
  for (const line of signatures) {
    if (!line.startsWith(SIGNATURE_PREFIX)) continue;
    const [name, value] = line.slice(SIGNATURE_PREFIX.length).split(' ');
    if (name !== keyName || !value) continue;
    sawName = true;
    const raw = Buffer.from(value, 'base64');
    if (raw.length !== 68 || !raw.subarray(0, 4).equals(expectedHash)) continue;
    if (verify(null, Buffer.from(text, 'utf8'), publicKeyObject(publicKey), raw.subarray(4))) {
      return { ok: true, checkpoint: { origin, size: Number(sizeText), root } };
    }
  }
  return { ok: false, problem: sawName ? 'its signature is not by the audit key' : `it carries no signature of ${keyName}` };
};
