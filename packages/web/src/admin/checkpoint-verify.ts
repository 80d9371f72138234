/**
 * The audit log's signed checkpoint, checked again in the browser: the note's Ed25519 signature against the
 * public key the server names, and that key against the log's name (conclave-audit/<first 16 hex of
 * SHA-256(public key)>), which an operator can compare with `conclave audit` output. Web Crypto only.
 */
export interface CheckpointCheck {
  ok: boolean;
  /** What was checked, or what failed, in a sentence. */
  message: string;
  size?: number;
}

const SIGNATURE_PREFIX = '\u2014 ';

const fromBase64 = (text: string): Uint8Array => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
const hex = (bytes: Uint8Array): string => [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
const concat = (...parts: Uint8Array[]): Uint8Array<ArrayBuffer> => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
};

export const verifyCheckpointNote = async (note: string, keyName: string, publicKeyBase64: string, subtle: SubtleCrypto = globalThis.crypto.subtle): Promise<CheckpointCheck> => {
  const split = note.indexOf('\n\n');
  if (split < 0) return { ok: false, message: 'The checkpoint is not a signed note.' };
  const text = note.slice(0, split + 1);
  const [, sizeLine] = text.split('\n');
  const size = Number(sizeLine);
  let publicKey: Uint8Array;
  try {
    publicKey = fromBase64(publicKeyBase64);
  } catch {
    return { ok: false, message: 'The audit key is not valid base64.' };
  }
  const fingerprint = hex(new Uint8Array(await subtle.digest('SHA-256', concat(publicKey)))).slice(0, 16);
  if (!keyName.endsWith(`/${fingerprint}`)) return { ok: false, message: 'The audit key does not match the log\u2019s name.' };
  const keyHash = new Uint8Array(await subtle.digest('SHA-256', concat(new TextEncoder().encode(`${keyName}\n`), new Uint8Array([1]), publicKey))).slice(0, 4);
  const lines = note.slice(split + 2).split('\n');
  for (const line of lines) {
    if (!line.startsWith(SIGNATURE_PREFIX)) continue;
    const [name, value] = line.slice(SIGNATURE_PREFIX.length).split(' ');
    if (name !== keyName || !value) continue;
    let signed: Uint8Array;
    try {
      signed = fromBase64(value);
    } catch {
      continue;
    }
    if (signed.length !== 68 || hex(signed.slice(0, 4)) !== hex(keyHash)) continue;
    let valid = false;
    try {
      const key = await subtle.importKey('raw', concat(publicKey), { name: 'Ed25519' }, false, ['verify']);
      valid = await subtle.verify({ name: 'Ed25519' }, key, concat(signed.slice(4)), concat(new TextEncoder().encode(text)));
    } catch {
      return { ok: false, message: 'This browser cannot check Ed25519 signatures; the server checked it.' };
    }
    return valid
      ? { ok: true, message: `Signature checked in this browser: ${size} entries, signed by ${keyName}.`, size }
      : { ok: false, message: 'The checkpoint\u2019s signature does not verify.' };
  }
  return { ok: false, message: `The checkpoint carries no signature by ${keyName}.` };
};
