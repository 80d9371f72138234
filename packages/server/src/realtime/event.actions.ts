import type { ChatEvent } from '@conclave/protocol';
import type { Kysely } from 'kysely';
import type { AppContext } from '../context.ts';
import type { Schema } from '../db/index.ts';
import type { Audience, BusMessage } from './event-bus.ts';
import { insertEvent } from './event.queries.ts';

type WithoutSeq<T> = T extends unknown ? Omit<T, 'seq'> : never;
export type NewEvent = WithoutSeq<ChatEvent>;

export interface PendingEvent {
  event: NewEvent;
  audience: Audience;
  /** The person the event is about (joins, leaves, read markers): they receive it even outside the audience. */
  subjectId?: string;
}

/**
 * Writes events into the log inside the caller's transaction, returning them with their seq, ready to
 * publish once the transaction has committed.
 */
export const recordEvents = async (db: Kysely<Schema>, events: PendingEvent[], now: number): Promise<BusMessage[]> => {
  const messages: BusMessage[] = [];
  for (const pending of events) {
    const { audience } = pending;
    const seq = await insertEvent(db, {
      instance_id: audience.kind === 'account' ? null : audience.instanceId,
      room_id: audience.kind === 'room' ? audience.roomId : null,
      account_id: audience.kind === 'account' ? audience.accountId : (pending.subjectId ?? null),
      audience: audience.kind,
      // Stored without its seq (the row's key); replay adds it back.
      payload: JSON.stringify(pending.event),
      created_at: now,
    });
    const event = { ...pending.event, seq } as ChatEvent;
    messages.push({ kind: 'event', event, audience, subjectId: pending.subjectId ?? null });
  }
  return messages;
};

/** After commit: hand the events to every node. A failure here loses no data; clients catch up by resume. */
export const publishCommitted = async (ctx: AppContext, messages: BusMessage[]): Promise<void> => {
  try {
    await ctx.bus.publish(messages);
  } catch (error) {
    ctx.log.error({ err: error }, 'event bus publish failed; clients will catch up on resume');
  }
};
