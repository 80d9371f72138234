import type { ChatEvent } from '@conclave/protocol';
import type { Kysely } from 'kysely';
import type { AppContext } from '../context.ts';
import { newId, type Keyring } from '../crypto/index.ts';
import type { Schema } from '../db/index.ts';
import type { Audience, BusMessage } from './event-bus.ts';
import { insertEvent, type EventRow } from './event.queries.ts';

type WithoutSeq<T> = T extends unknown ? Omit<T, 'seq'> : never;
export type NewEvent = WithoutSeq<ChatEvent>;

export interface PendingEvent {
  event: NewEvent;
  audience: Audience;
  /** The person the event is about (joins, leaves, read markers): they receive it even outside the audience. */
  subjectId?: string;
}

/** Whose data key seals an event: its room's, its instance's, or (addressed to one person) the server's. */
export const eventKeyOwner = (row: { audience: 'room' | 'instance' | 'account'; room_id: string | null; instance_id: string | null }): string =>
  row.audience === 'room' && row.room_id !== null ? row.room_id : row.audience === 'instance' && row.instance_id !== null ? row.instance_id : 'server';

/**
 * Writes events into the log inside the caller's transaction, sealed, returning them with their seq, ready
 * to publish once the transaction has committed. Keys not cached yet are read through the transaction.
 */
export const recordEvents = async (db: Kysely<Schema>, keyring: Keyring, events: PendingEvent[], now: number): Promise<BusMessage[]> => {
  const messages: BusMessage[] = [];
  for (const pending of events) {
    const { audience } = pending;
    const row = {
      id: newId(now),
      instance_id: audience.kind === 'account' ? null : audience.instanceId,
      room_id: audience.kind === 'room' ? audience.roomId : null,
      account_id: audience.kind === 'account' ? audience.accountId : (pending.subjectId ?? null),
      audience: audience.kind,
      created_at: now,
    };
    // Stored without its seq (the row's key); replay adds it back.
    const cipher = await keyring.owner(eventKeyOwner(row), [], db);
    const payload = cipher.seal('events.payload', row.id, JSON.stringify(pending.event));
    const seq = await insertEvent(db, { ...row, payload });
    const event = { ...pending.event, seq } as ChatEvent;
    messages.push({ kind: 'event', event, audience, subjectId: pending.subjectId ?? null });
  }
  return messages;
};

/**
 * Runs inside the transaction that records events, after they have their seq: what must commit with them
 * or not at all (outgoing webhooks queue their deliveries here, decision 0020).
 */
export type EventTap = (db: Kysely<Schema>, events: ChatEvent[], now: number) => Promise<void>;

/** After commit: hand the events to every node. A failure here loses no data; clients catch up by resume. */
export const publishCommitted = async (ctx: AppContext, messages: BusMessage[]): Promise<void> => {
  try {
    await ctx.bus.publish(messages);
  } catch (error) {
    ctx.log.error({ err: error }, 'event bus publish failed; clients will catch up on resume');
  }
};

/** Opens logged events for replay; each row is bound to its own id and its audience's key. */
export const openEventPayloads = async (ctx: AppContext, rows: EventRow[]): Promise<Array<{ seq: number; payload: string }>> => {
  const opened: Array<{ seq: number; payload: string }> = [];
  for (const row of rows) {
    const cipher = await ctx.keyring.owner(eventKeyOwner(row), [row.payload]);
    opened.push({ seq: row.seq, payload: cipher.open('events.payload', row.id, row.payload) });
  }
  return opened;
};
