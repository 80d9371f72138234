import type { ContainmentProgress } from './contain.actions.ts';
import { incidentRef, notificationDeadline, type OpenedIncident, type OpenedIncidentUpdate } from './incident.seal.ts';
import type { ScopeResult } from './scope.actions.ts';

const iso = (ms: number): string => new Date(ms).toISOString();
const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms));

export const presentIncident = (incident: OpenedIncident, now: number) => ({
  id: incident.id,
  ref: incidentRef(incident),
  number: incident.number,
  title: incident.title,
  severity: incident.severity,
  status: incident.status,
  awareAt: iso(incident.awareAt),
  declaredAt: iso(incident.declaredAt),
  resolvedAt: isoOrNull(incident.resolvedAt),
  deadlineAt: iso(notificationDeadline(incident)),
  deadlineMsLeft: notificationDeadline(incident) - now,
  components: incident.details.components,
  notice: incident.details.notice,
  publishedAt: isoOrNull(incident.publishedAt),
  postmortemPublishedAt: isoOrNull(incident.postmortemPublishedAt),
});

export const presentTimelineEntry = (entry: OpenedIncidentUpdate) => ({
  id: entry.id,
  at: iso(entry.at),
  kind: entry.kind,
  status: entry.status,
  body: entry.body,
  public: entry.public,
  actorId: entry.actorId,
});

export const presentScope = (scope: ScopeResult, slugs: Map<string, string>) => ({
  id: scope.id,
  createdAt: iso(scope.createdAt),
  checkpointSize: scope.checkpointSize,
  checkpointRoot: scope.checkpointRoot,
  verified: scope.verified,
  defaultSegment: scope.defaultSegment,
  counts: scope.counts,
  instances: scope.instances.map((entry) => ({
    instanceId: entry.instanceId,
    slug: slugs.get(entry.instanceId) ?? null,
    segment: entry.segment,
    roomsRead: entry.summary.roomsRead,
    affected: entry.summary.affected,
    possiblyAffected: entry.summary.possiblyAffected,
  })),
});

export const presentContainment = (c: ContainmentProgress) => ({
  id: c.id,
  scopeId: c.scopeId,
  target: c.target,
  steps: c.steps,
  status: c.status,
  step: c.step,
  done: c.done,
  total: c.total,
  epoch: iso(c.epoch),
  startedAt: iso(c.startedAt),
  updatedAt: iso(c.updatedAt),
  finishedAt: isoOrNull(c.finishedAt),
});
