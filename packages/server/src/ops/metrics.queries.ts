import type { Kysely } from 'kysely';
import type { MailStatus, Schema } from '../db/index.ts';

/**
 * Read-only aggregates for the metrics, over the mail and incidents domains' tables: one grouped count each,
 * run when Prometheus scrapes (every 15–60 s), never on a request path.
 */
export const countMailByStatus = async (db: Kysely<Schema>): Promise<Partial<Record<MailStatus, number>>> => {
  const rows = await db.selectFrom('mail_outbox').select((eb) => ['status', eb.fn.countAll<string | number>().as('count')]).groupBy('status').execute();
  return Object.fromEntries(rows.map((row) => [row.status, Number(row.count)]));
};

export const sumRunningContainments = async (db: Kysely<Schema>): Promise<{ running: number; done: number; total: number }> => {
  const row = await db
    .selectFrom('incident_containments')
    .select((eb) => [eb.fn.countAll<string | number>().as('running'), eb.fn.sum<string | number | null>('done').as('done'), eb.fn.sum<string | number | null>('total').as('total')])
    .where('status', '=', 'running')
    .executeTakeFirst();
  return { running: Number(row?.running ?? 0), done: Number(row?.done ?? 0), total: Number(row?.total ?? 0) };
};
