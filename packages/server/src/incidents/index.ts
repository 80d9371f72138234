export { incidentRef, openIncident, type BreachNotice, type IncidentDetails, type OpenedIncident } from './incident.seal.ts';
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
