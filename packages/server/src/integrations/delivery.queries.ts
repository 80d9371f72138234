import type { Kysely, Selectable } from 'kysely';
import type { HookDeliveriesTable, Schema } from '../db/index.ts';

export type DeliveryRow = Selectable<HookDeliveriesTable>;

export const insertDeliveries = async (db: Kysely<Schema>, rows: DeliveryRow[]): Promise<void> => {
  if (rows.length > 0) await db.insertInto('hook_deliveries').values(rows).execute();
};

/** Ids of queued deliveries whose time has come, oldest first. */
export const findDueDeliveryIds = async (db: Kysely<Schema>, now: number, limit: number): Promise<string[]> =>
  (
    await db
      .selectFrom('hook_deliveries')
      .select('id')
      .where('status', '=', 'queued')
      .where('next_attempt_at', '<=', now)
      .orderBy('next_attempt_at')
      .orderBy('id')
      .limit(limit)
      .execute()
  ).map((row) => row.id);

/**
 * Claims queued deliveries for this node (status `sending`, one more attempt), each only if nobody claimed
 * it first: the conditional update is the lock, as in the mail outbox. The claimed rows.
 */
export const claimDeliveries = (db: Kysely<Schema>, ids: string[], nodeId: string, now: number): Promise<DeliveryRow[]> =>
  ids.length === 0
    ? Promise.resolve([])
    : db
        .updateTable('hook_deliveries')
        .set((eb) => ({ status: 'sending', claimed_by: nodeId, claimed_at: now, attempts: eb('attempts', '+', 1), updated_at: now }))
        .where('id', 'in', ids)
        .where('status', '=', 'queued')
        .where('next_attempt_at', '<=', now)
        .returningAll()
        .execute();

export type DeliveryOutcome =
  | { status: 'delivered'; statusCode: number; latencyMs: number; now: number }
  | { status: 'queued'; nextAttemptAt: number; statusCode: number | null; latencyMs: number | null; error: string; now: number }
  | { status: 'failed'; statusCode: number | null; latencyMs: number | null; error: string; now: number };

/** Ends a claim this node still holds; false when its lease expired and another node took the delivery. */
export const finishDelivery = async (db: Kysely<Schema>, claim: { id: string; claimed_by: string | null; claimed_at: number | null }, outcome: DeliveryOutcome): Promise<boolean> => {
  if (claim.claimed_by === null || claim.claimed_at === null) return false;
  const result = await db
    .updateTable('hook_deliveries')
    .set({
      status: outcome.status,
      claimed_by: null,
      claimed_at: null,
      last_status_code: outcome.statusCode,
      last_latency_ms: outcome.latencyMs,
      last_error: outcome.status === 'delivered' ? null : outcome.error,
      updated_at: outcome.now,
      ...(outcome.status === 'queued' ? { next_attempt_at: outcome.nextAttemptAt } : {}),
      ...(outcome.status === 'delivered' ? { delivered_at: outcome.now } : {}),
    })
    .where('id', '=', claim.id)
    .where('status', '=', 'sending')
    .where('claimed_by', '=', claim.claimed_by)
    .where('claimed_at', '=', claim.claimed_at)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
};

/** Deliveries left in `sending` by a node that stopped (its lease expired) go back in the queue. */
export const requeueExpiredDeliveries = async (db: Kysely<Schema>, claimedBefore: number, now: number): Promise<number> => {
  const result = await db
    .updateTable('hook_deliveries')
    .set({ status: 'queued', claimed_by: null, claimed_at: null, next_attempt_at: now, last_error: 'the node sending it stopped; sent again', updated_at: now })
    .where('status', '=', 'sending')
    .where('claimed_at', '<', claimedBefore)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
};

/** A hook's delivery log, newest first. */
export const listDeliveries = (db: Kysely<Schema>, hookId: string, limit: number): Promise<DeliveryRow[]> =>
  db.selectFrom('hook_deliveries').selectAll().where('hook_id', '=', hookId).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();

export const findDelivery = (db: Kysely<Schema>, id: string): Promise<DeliveryRow | undefined> =>
  db.selectFrom('hook_deliveries').selectAll().where('id', '=', id).executeTakeFirst();

/** Deliveries across the server for the operator, newest first (the CLI). */
export const listDeliveriesForOperator = (db: Kysely<Schema>, filter: { status?: DeliveryRow['status'] | undefined; hookId?: string | undefined; limit: number }): Promise<DeliveryRow[]> => {
  let query = db.selectFrom('hook_deliveries').selectAll();
  if (filter.status) query = query.where('status', '=', filter.status);
  if (filter.hookId) query = query.where('hook_id', '=', filter.hookId);
  return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(filter.limit).execute();
};
