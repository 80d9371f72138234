import type { AppContext } from '../context.ts';
import type { IncidentSeverity, IncidentStatus } from '../db/index.ts';
import { AppError } from '../errors.ts';
import { auditActor } from '../identity/index.ts';
import { addTimelineEntry, findIncident, type IncidentActor } from './incident.actions.ts';
import { incidentRef, openIncident, openIncidentUpdate, type OpenedIncident, type OpenedIncidentUpdate } from './incident.seal.ts';
import { listPublicUpdatesOf, listPublishedIncidentRows, listStatusIncidentRows, setIncidentPublishedAt } from './status.queries.ts';

/** Past incidents stay on the status page this long after they were resolved. */
export const STATUS_PAST_WINDOW_MS = 90 * 86_400_000;
const STATUS_LIST_MAX = 200;
const FEED_MAX = 50;

/**
 * An incident as the public sees it. Everything the status page, the feed and the JSON show is built from
 * this, and it holds nothing internal: no notice fields, components, scope, counts, or who did what.
 */
export interface PublicIncident {
  ref: string;
  number: number;
  title: string;
  severity: IncidentSeverity;
  status: IncidentStatus;
  declaredAt: number;
  resolvedAt: number | null;
  publishedAt: number;
  /** The newest public entry, or the moment it was published. */
  lastUpdateAt: number;
  /** Public entries, oldest first. */
  updates: PublicIncidentUpdate[];
  /** The published postmortem (never a draft). */
  postmortem: { markdown: string; publishedAt: number } | null;
}

export interface PublicIncidentUpdate {
  at: number;
  status: IncidentStatus | null;
  body: string;
}

const toPublicIncident = (incident: OpenedIncident, updates: OpenedIncidentUpdate[]): PublicIncident | undefined => {
  if (incident.publishedAt === null) return undefined;
  const shown = updates.filter((update) => update.public && update.incidentId === incident.id).map((update) => ({ at: update.at, status: update.status, body: update.body }));
  return {
    ref: incidentRef(incident),
    number: incident.number,
    title: incident.title,
    severity: incident.severity,
    status: incident.status,
    declaredAt: incident.declaredAt,
    resolvedAt: incident.resolvedAt,
    publishedAt: incident.publishedAt,
    lastUpdateAt: Math.max(incident.publishedAt, ...shown.map((update) => update.at)),
    updates: shown,
    postmortem: incident.postmortem !== null && incident.postmortemPublishedAt !== null ? { markdown: incident.postmortem, publishedAt: incident.postmortemPublishedAt } : null,
  };
};

const withPublicUpdates = async (ctx: AppContext, incidents: OpenedIncident[]): Promise<PublicIncident[]> => {
  const updates = (await listPublicUpdatesOf(ctx.database.db, incidents.map((incident) => incident.id))).map((row) => openIncidentUpdate(ctx.keyring, row));
  return incidents.flatMap((incident) => toPublicIncident(incident, updates) ?? []);
};

/** The status page: published incidents still open, and those resolved in the last 90 days. */
export const readStatus = async (ctx: AppContext): Promise<{ open: PublicIncident[]; past: PublicIncident[]; at: number }> => {
  const at = ctx.now();
  const rows = await listStatusIncidentRows(ctx.database.db, { resolvedSince: at - STATUS_PAST_WINDOW_MS, limit: STATUS_LIST_MAX });
  const incidents = await withPublicUpdates(ctx, rows.map((row) => openIncident(ctx.keyring, row)));
  return { open: incidents.filter((incident) => incident.status !== 'resolved'), past: incidents.filter((incident) => incident.status === 'resolved'), at };
};

/** The feed: the newest published incidents, whenever they were resolved. */
export const readStatusFeed = async (ctx: AppContext): Promise<PublicIncident[]> =>
  withPublicUpdates(ctx, (await listPublishedIncidentRows(ctx.database.db, FEED_MAX)).map((row) => openIncident(ctx.keyring, row)));

/** A published incident by reference; an unpublished one answers INCIDENT_NOT_FOUND exactly like a missing one. */
export const findPublicIncident = async (ctx: AppContext, ref: string): Promise<PublicIncident> => {
  const incident = await findIncident(ctx, ref);
  const found = incident.publishedAt === null ? undefined : (await withPublicUpdates(ctx, [incident]))[0];
  if (!found) throw new AppError('INCIDENT_NOT_FOUND');
  return found;
};

const auditBy = (actor: IncidentActor): Record<string, unknown> => (actor ? auditActor(actor) : {});

/**
 * Puts the incident on the status page: it is listed, with its public timeline entries, from now on.
 * Publishing a published incident changes nothing.
 */
export const publishIncident = async (ctx: AppContext, ref: string, actor?: IncidentActor): Promise<OpenedIncident> => {
  const incident = await findIncident(ctx, ref);
  if (incident.publishedAt !== null) return incident;
  const now = ctx.now();
  const changed = await ctx.database.db.transaction().execute(async (trx) => {
    if (!(await setIncidentPublishedAt(trx, incident.id, now, now))) return false;
    await addTimelineEntry(ctx, trx, { incidentId: incident.id, kind: 'published', body: 'Published on the status page.', actorId: actor?.account.id ?? null, at: now });
    return true;
  });
  if (changed) await ctx.audit.record({ action: 'incident.publish', ...auditBy(actor), detail: { incidentId: incident.id, number: incident.number } });
  return findIncident(ctx, incident.id);
};

/**
 * Takes the incident off the status page (its page answers 404 again). Its postmortem stays on record, and
 * shows again if the incident is published again.
 */
export const unpublishIncident = async (ctx: AppContext, ref: string, actor?: IncidentActor): Promise<OpenedIncident> => {
  const incident = await findIncident(ctx, ref);
  if (incident.publishedAt === null) return incident;
  const now = ctx.now();
  const changed = await ctx.database.db.transaction().execute(async (trx) => {
    if (!(await setIncidentPublishedAt(trx, incident.id, null, now))) return false;
    await addTimelineEntry(ctx, trx, { incidentId: incident.id, kind: 'unpublished', body: 'Taken off the status page.', actorId: actor?.account.id ?? null, at: now });
    return true;
  });
  if (changed) await ctx.audit.record({ action: 'incident.unpublish', ...auditBy(actor), detail: { incidentId: incident.id, number: incident.number } });
  return findIncident(ctx, incident.id);
};
