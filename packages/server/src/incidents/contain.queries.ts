import type { Kysely, Selectable } from 'kysely';
import type { IncidentContainmentsTable, Schema } from '../db/index.ts';

export type ContainmentRow = Selectable<IncidentContainmentsTable>;

export const insertContainment = async (db: Kysely<Schema>, row: ContainmentRow): Promise<void> => {
  await db.insertInto('incident_containments').values(row).execute();
};

export const findContainment = (db: Kysely<Schema>, incidentId: string, id: string): Promise<ContainmentRow | undefined> =>
  db.selectFrom('incident_containments').selectAll().where('incident_id', '=', incidentId).where('id', '=', id).executeTakeFirst();

/** The containment of this incident with the same target and steps (to resume it, or to see it is done). */
export const findSameContainment = (db: Kysely<Schema>, incidentId: string, scopeId: string | null, target: string, steps: string): Promise<ContainmentRow | undefined> => {
  let query = db.selectFrom('incident_containments').selectAll().where('incident_id', '=', incidentId).where('target', '=', target as ContainmentRow['target']).where('steps', '=', steps);
  query = scopeId === null ? query.where('scope_id', 'is', null) : query.where('scope_id', '=', scopeId);
  return query.orderBy('started_at', 'desc').limit(1).executeTakeFirst();
};

export const listContainments = (db: Kysely<Schema>, incidentId: string): Promise<ContainmentRow[]> =>
  db.selectFrom('incident_containments').selectAll().where('incident_id', '=', incidentId).orderBy('started_at').execute();

export const saveContainmentProgress = async (db: Kysely<Schema>, id: string, progress: Pick<ContainmentRow, 'step_index' | 'cursor' | 'done' | 'status' | 'updated_at' | 'finished_at'>): Promise<void> => {
  await db.updateTable('incident_containments').set(progress).where('id', '=', id).execute();
};

/** Requires a reset of these accounts (those not already required keep their earlier time). */
export const requireResets = async (db: Kysely<Schema>, accountIds: string[], at: number): Promise<number> => {
  if (accountIds.length === 0) return 0;
  const result = await db.updateTable('accounts').set({ reset_required_at: at }).where('id', 'in', accountIds).where('reset_required_at', 'is', null).executeTakeFirst();
  return Number(result.numUpdatedRows);
};

/** Raises these accounts' credential epoch to `epoch` (never lowers it): their older sessions and tokens die. */
export const raiseAccountEpochs = async (db: Kysely<Schema>, accountIds: string[], epoch: number): Promise<number> => {
  if (accountIds.length === 0) return 0;
  const result = await db.updateTable('accounts').set({ not_before: epoch }).where('id', 'in', accountIds).where('not_before', '<', epoch).executeTakeFirst();
  return Number(result.numUpdatedRows);
};

/** Raises the server's epoch to `epoch` (one write ends every session and token). */
export const raiseServerEpoch = async (db: Kysely<Schema>, epoch: number): Promise<void> => {
  await db.updateTable('server_state').set({ not_before: epoch }).where('id', '=', 1).where('not_before', '<', epoch).execute();
};

export const raiseInstanceEpochs = async (db: Kysely<Schema>, instanceIds: string[], epoch: number): Promise<void> => {
  if (instanceIds.length === 0) return;
  await db.updateTable('instances').set({ not_before: epoch }).where('id', 'in', instanceIds).where('not_before', '<', epoch).execute();
};

/** The same over an id range (every account from `afterId`, exclusive, to `lastId`, inclusive): no list of ids to send. */
export const requireResetsInRange = async (db: Kysely<Schema>, afterId: string, lastId: string, at: number): Promise<number> => {
  const result = await db.updateTable('accounts').set({ reset_required_at: at }).where('id', '>', afterId).where('id', '<=', lastId).where('reset_required_at', 'is', null).executeTakeFirst();
  return Number(result.numUpdatedRows);
};
