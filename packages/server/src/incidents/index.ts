export {
  addTimelineEntry,
  declareIncident,
  findIncident,
  incidentTimeline,
  INCIDENT_SEVERITIES,
  INCIDENT_STATUSES,
  listIncidents,
  resolveIncident,
  updateIncident,
  type DeclareIncidentInput,
  type IncidentActor,
  type IncidentUpdateInput,
} from './incident.actions.ts';
export {
  incidentRef,
  notificationDeadline,
  NOTIFICATION_DEADLINE_MS,
  openIncident,
  type BreachNotice,
  type IncidentDetails,
  type OpenedIncident,
  type OpenedIncidentUpdate,
} from './incident.seal.ts';
export { computeScope, findIncidentScope, instanceSlugs, type InstanceScopeSummary, type ScopeCounts, type ScopeResult, type ScopeSelectors, type SegmentCounts } from './scope.actions.ts';
export {
  containIncident,
  CONTAINMENT_STEPS,
  CONTAINMENT_TARGETS,
  findIncidentContainment,
  listIncidentContainments,
  type ContainmentProgress,
  type ContainmentStep,
  type ContainmentTarget,
  type ContainOptions,
} from './contain.actions.ts';
export { incidentProgress, PROGRESS_BUCKETS, PROGRESS_BUCKETS_MS, type ProgressBucket, type IncidentProgress, type ResetProgress } from './progress.actions.ts';
export { registerIncidentRoutes } from './incident.routes.ts';
export { assertPostmortemText, postmortemTemplateFor, publishPostmortem, readPostmortem, setPostmortem, type PostmortemDraft } from './postmortem.actions.ts';
export { isSafeLinkTarget, renderPostmortem } from './postmortem.markdown.ts';
export { postmortemTemplate } from './postmortem.template.ts';
export { findPublicIncident, publishIncident, readStatus, readStatusFeed, unpublishIncident, STATUS_PAST_WINDOW_MS, type PublicIncident, type PublicIncidentUpdate } from './status.actions.ts';
export { registerStatusRoutes } from './status.routes.ts';
export {
  FOLLOW_UP_LIMITS,
  planFollowUp,
  RATE_LIMITS,
  planNotices,
  queueFollowUp,
  queueNotices,
  resumeMailings,
  type FollowUpRequest,
  type MailingProgress,
  type MailingTarget,
  type NoticePlan,
  type NoticePlanResult,
  type NoticeRequest,
  type NoticeSample,
  type PlannedSegment,
  type QueueOptions,
  type QueuedMailing,
} from './notice.actions.ts';
export { listMailingRecipients, mailingStatus, noticesDeliveredOverTime, type MailingRecipient, type MailingStatus, type RecipientPage } from './mailing.actions.ts';
export { incidentMailRenderers } from './notice.renderer.ts';
export type { InstanceSummary, NoticeTemplate } from './notice.templates.ts';
