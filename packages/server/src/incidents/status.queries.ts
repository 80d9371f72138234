import type { Kysely } from 'kysely';
import type { Schema } from '../db/index.ts';
import type { IncidentRow, IncidentUpdateRow } from './incident.queries.ts';

/** Published incidents that are open, or were resolved since `resolvedSince`: the status page's list. */
export const listStatusIncidentRows = (db: Kysely<Schema>, filter: { resolvedSince: number; limit: number }): Promise<IncidentRow[]> =>
  db
    .selectFrom('incidents')
    .selectAll()
    .where('published_at', 'is not', null)
    .where((eb) => eb.or([eb('status', '!=', 'resolved'), eb('resolved_at', '>=', filter.resolvedSince)]))
    .orderBy('declared_at', 'desc')
    .limit(filter.limit)
    .execute();

/** Every published incident, newest first: the feed. */
export const listPublishedIncidentRows = (db: Kysely<Schema>, limit: number): Promise<IncidentRow[]> =>
  db.selectFrom('incidents').selectAll().where('published_at', 'is not', null).orderBy('declared_at', 'desc').limit(limit).execute();

/** The public timeline entries of these incidents, oldest first. */
export const listPublicUpdatesOf = async (db: Kysely<Schema>, incidentIds: string[]): Promise<IncidentUpdateRow[]> =>
  incidentIds.length === 0
    ? []
    : db.selectFrom('incident_updates').selectAll().where('incident_id', 'in', incidentIds).where('public', '=', 1).orderBy('at').orderBy('id').execute();

/** Puts an incident on the status page, or takes it off (null); false when it already was so. */
export const setIncidentPublishedAt = async (db: Kysely<Schema>, id: string, publishedAt: number | null, now: number): Promise<boolean> => {
  const result = await db
    .updateTable('incidents')
    .set({ published_at: publishedAt, updated_at: now })
    .where('id', '=', id)
    .where('published_at', publishedAt === null ? 'is not' : 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
};

export const setIncidentPostmortem = async (db: Kysely<Schema>, id: string, sealedMarkdown: string, now: number): Promise<void> => {
  await db.updateTable('incidents').set({ postmortem: sealedMarkdown, updated_at: now }).where('id', '=', id).execute();
};

/** Publishes the postmortem on record (and the incident, if it was not yet); false when there was none or it already was. */
export const setPostmortemPublished = async (db: Kysely<Schema>, id: string, now: number): Promise<boolean> => {
  const result = await db
    .updateTable('incidents')
    .set((eb) => ({ postmortem_published_at: now, published_at: eb.fn.coalesce('published_at', eb.val(now)), updated_at: now }))
    .where('id', '=', id)
    .where('postmortem', 'is not', null)
    .where('postmortem_published_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
};
