import type { Kysely, Selectable } from 'kysely';
import type { IncidentStatus, IncidentsTable, IncidentUpdatesTable, Schema } from '../db/index.ts';

export type IncidentRow = Selectable<IncidentsTable>;
export type IncidentUpdateRow = Selectable<IncidentUpdatesTable>;

export const insertIncident = async (db: Kysely<Schema>, row: IncidentRow): Promise<void> => {
  await db.insertInto('incidents').values(row).execute();
};

/** The next human number (INC-<n>); the unique constraint settles a race between two declarations. */
export const nextIncidentNumber = async (db: Kysely<Schema>): Promise<number> =>
  Number((await db.selectFrom('incidents').select((eb) => eb.fn.max('number').as('n')).executeTakeFirstOrThrow()).n ?? 0) + 1;

export const findIncidentById = (db: Kysely<Schema>, id: string): Promise<IncidentRow | undefined> =>
  db.selectFrom('incidents').selectAll().where('id', '=', id).executeTakeFirst();

export const findIncidentByNumber = (db: Kysely<Schema>, number: number): Promise<IncidentRow | undefined> =>
  db.selectFrom('incidents').selectAll().where('number', '=', number).executeTakeFirst();

export const listIncidentRows = (db: Kysely<Schema>, filter: { open?: boolean; published?: boolean; limit: number }): Promise<IncidentRow[]> => {
  let query = db.selectFrom('incidents').selectAll();
  if (filter.open === true) query = query.where('status', '!=', 'resolved');
  if (filter.published === true) query = query.where('published_at', 'is not', null);
  return query.orderBy('declared_at', 'desc').limit(filter.limit).execute();
};

export const updateIncidentRow = async (db: Kysely<Schema>, id: string, changes: Partial<Omit<IncidentRow, 'id' | 'number'>>): Promise<void> => {
  await db.updateTable('incidents').set(changes).where('id', '=', id).execute();
};

export const insertIncidentUpdate = async (db: Kysely<Schema>, row: IncidentUpdateRow): Promise<void> => {
  await db.insertInto('incident_updates').values(row).execute();
};

export const listIncidentUpdates = (db: Kysely<Schema>, incidentId: string, filter: { publicOnly?: boolean } = {}): Promise<IncidentUpdateRow[]> => {
  let query = db.selectFrom('incident_updates').selectAll().where('incident_id', '=', incidentId);
  if (filter.publicOnly === true) query = query.where('public', '=', 1);
  return query.orderBy('at').orderBy('id').execute();
};

export type { IncidentStatus };
