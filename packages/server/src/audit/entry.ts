import { createHmac } from 'node:crypto';
import type { Selectable } from 'kysely';
import type { AuditEntriesTable } from '../db/index.ts';
import { leafHash } from './merkle.ts';

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

/** The bytes a leaf hashes: every field of the entry, sequence number first, in a fixed order. */
export const canonicalEntry = (row: Omit<AuditRow, 'leaf_hash'>): string =>
  JSON.stringify(['conclave-audit-v1', Number(row.seq), Number(row.at), row.action, row.instance_id, row.actor_id, row.session_id, row.room_id, row.detail, row.ip_hash, row.ua_hash]);

export const entryLeaf = (row: Omit<AuditRow, 'leaf_hash'>): Buffer => leafHash(canonicalEntry(row));

/** The keyed hash an investigator computes from a client address or user agent to search the log. */
export const clientHash = (key: Buffer, kind: 'ip' | 'ua', value: string): string => createHmac('sha256', key).update(`${kind}\u0000${value}`, 'utf8').digest('hex');
