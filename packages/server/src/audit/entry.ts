import { createHmac, hash } from 'node:crypto';
import type { Selectable } from 'kysely';
import type { AuditEntriesTable } from '../db/index.ts';

export type AuditRow = Selectable<AuditEntriesTable>;

/** What a caller records; the log adds the sequence number, the time and the hashes. */
export interface AuditInput {
  /** `resource.verb`: `room.read`, `session.create`, `auth.login_failed`, `instance.update`, … */
  action: string;
  instanceId?: string | null;
  actorId?: string | null;
  sessionId?: string | null;
  roomId?: string | null;
  /** Ids and counts only: never content, never a secret. */
  detail?: Record<string, unknown>;
  ip?: string | undefined;
  userAgent?: string | undefined;
}

/** JSON with object keys sorted at every level: one encoding per value, so the leaf hash is reproducible. */
export const canonicalJson = (value: unknown): string => {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
};

/** The fields of an entry in the order of its canonical encoding (every column but leaf_hash). */
export const ENTRY_COLUMNS = ['seq', 'at', 'action', 'instance_id', 'actor_id', 'session_id', 'room_id', 'detail', 'ip_hash', 'ua_hash'] as const;

/** An entry's fields in ENTRY_COLUMNS order, as a database hands them out (a raw row): numbers, strings, nulls. */
export type EntryValues = readonly unknown[];

export const entryValues = (row: Omit<AuditRow, 'leaf_hash'>): EntryValues => ENTRY_COLUMNS.map((column) => row[column]);

const FORMAT = Buffer.from('conclave-audit-v2', 'latin1');
const TEXTS = ENTRY_COLUMNS.length - 2;
/** Where seq and at, the texts' header and the texts' bytes start, after RFC 6962's 0x00 leaf prefix. */
const NUMBERS_AT = 1 + FORMAT.length;
const HEADER_AT = NUMBERS_AT + 16;
const TEXTS_AT = HEADER_AT + 5 * TEXTS;
/** The leaf prefix, then the encoding: written together so the leaf hash needs no copy. */
let leafInput = Buffer.alloc(4_096);
FORMAT.copy(leafInput, 1);

const textOf = (value: unknown): string | undefined => (value === null || value === undefined ? undefined : typeof value === 'string' ? value : String(value));

/**
 * Writes 0x00 ‖ the canonical encoding of an entry into `leafInput` and returns its end. The encoding
 * (docs/decisions/0010-audit-log.md): "conclave-audit-v2"; seq and at as 8-byte big-endian IEEE 754 doubles
 * (exact for every integer below 2^53); for each of the eight texts in ENTRY_COLUMNS order 0x00 and a zero length
 * if null, else 0x01 and its UTF-8 length, 4 bytes big-endian; then the texts' UTF-8 bytes one after the other.
 * The lengths come first so the texts are written at once: when their bytes number their characters, every
 * one of them is ASCII and its length is its character count, the common case; otherwise each is written alone.
 */
const writeLeafInput = (values: EntryValues): number => {
  leafInput.writeDoubleBE(Number(values[0]), NUMBERS_AT);
  leafInput.writeDoubleBE(Number(values[1]), NUMBERS_AT + 8);
  let joined = '';
  for (let i = 2; i < ENTRY_COLUMNS.length; i += 1) joined += textOf(values[i]) ?? '';
  // A UTF-16 code unit is at most 3 bytes of UTF-8.
  if (TEXTS_AT + 3 * joined.length > leafInput.length) {
    const grown = Buffer.alloc(Math.max(2 * leafInput.length, TEXTS_AT + 3 * joined.length));
    leafInput.copy(grown, 0, 0, TEXTS_AT);
    leafInput = grown;
  }
  const ascii = leafInput.write(joined, TEXTS_AT) === joined.length;
  let end = TEXTS_AT;
  for (let i = 2; i < ENTRY_COLUMNS.length; i += 1) {
    const text = textOf(values[i]);
    const header = HEADER_AT + 5 * (i - 2);
    leafInput[header] = text === undefined ? 0 : 1;
    const length = text === undefined ? 0 : ascii ? text.length : leafInput.write(text, end);
    leafInput.writeUInt32BE(length, header + 1);
    end += length;
  }
  return end;
};

/** 0x00 ‖ the canonical encoding: what the leaf hash hashes, as a view valid until the next call. */
export const leafInputOf = (values: EntryValues): Uint8Array => {
  // Written first: a long entry replaces leafInput with a larger buffer.
  const end = writeLeafInput(values);
  return new Uint8Array(leafInput.buffer, leafInput.byteOffset, end);
};

/** The bytes a leaf hashes: every field of the entry, sequence number first, in a fixed order. */
export const canonicalEntry = (row: Omit<AuditRow, 'leaf_hash'>): Buffer => Buffer.from(leafInputOf(entryValues(row)).subarray(1));

/** The entry's RFC 6962 leaf hash as hex (as leaf_hash stores it): the hot path of `conclave audit verify`. */
export const valuesLeafHex = (values: EntryValues): string => hash('sha256', leafInputOf(values), 'hex');

export const entryLeafHex = (row: Omit<AuditRow, 'leaf_hash'>): string => valuesLeafHex(entryValues(row));

export const entryLeaf = (row: Omit<AuditRow, 'leaf_hash'>): Buffer => Buffer.from(entryLeafHex(row), 'hex');

/** The keyed hash an investigator computes from a client address or user agent to search the log. */
export const clientHash = (key: Buffer, kind: 'ip' | 'ua', value: string): string => createHmac('sha256', key).update(`${kind}\u0000${value}`, 'utf8').digest('hex');
