import type { IncidentPublication, PostmortemView, StatusIncident, StatusSummary } from '@conclave/protocol';
import { incidentRef, type OpenedIncident } from './incident.seal.ts';
import type { PostmortemDraft } from './postmortem.actions.ts';
import type { PublicIncident } from './status.actions.ts';
import { incidentPath } from './status.html.ts';

const iso = (ms: number): string => new Date(ms).toISOString();
const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms));

export const presentStatusIncident = (origin: string, incident: PublicIncident): StatusIncident => ({
  ref: incident.ref,
  title: incident.title,
  severity: incident.severity,
  status: incident.status,
  declaredAt: iso(incident.declaredAt),
  resolvedAt: isoOrNull(incident.resolvedAt),
  lastUpdateAt: iso(incident.lastUpdateAt),
  url: `${origin}${incidentPath(incident)}`,
  updates: incident.updates.map((update) => ({ at: iso(update.at), status: update.status, body: update.body })),
  postmortemUrl: incident.postmortem ? `${origin}${incidentPath(incident)}#postmortem` : null,
});

export const presentStatus = (name: string, origin: string, status: { open: PublicIncident[]; past: PublicIncident[]; at: number }): StatusSummary => ({
  name,
  state: status.open.length === 0 ? 'normal' : 'incident',
  open: status.open.map((incident) => presentStatusIncident(origin, incident)),
  past: status.past.map((incident) => presentStatusIncident(origin, incident)),
  generatedAt: iso(status.at),
});

export const presentPublication = (origin: string, incident: OpenedIncident): IncidentPublication => ({
  ref: incidentRef(incident),
  publishedAt: isoOrNull(incident.publishedAt),
  postmortemPublishedAt: isoOrNull(incident.postmortemPublishedAt),
  statusUrl: `${origin}${incidentPath({ ref: incidentRef(incident) })}`,
});

export const presentPostmortem = (draft: PostmortemDraft): PostmortemView => ({
  ref: incidentRef(draft.incident),
  markdown: draft.markdown,
  html: draft.html,
  publishedAt: isoOrNull(draft.incident.postmortemPublishedAt),
  incidentPublishedAt: isoOrNull(draft.incident.publishedAt),
  template: draft.template,
});
