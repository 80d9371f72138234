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
export { assertPostmortemText, postmortemTemplateFor, publishPostmortem, readPostmortem, setPostmortem, type PostmortemDraft } from './postmortem.actions.ts';
export { isSafeLinkTarget, renderPostmortem } from './postmortem.markdown.ts';
export { postmortemTemplate } from './postmortem.template.ts';
export { findPublicIncident, publishIncident, readStatus, readStatusFeed, unpublishIncident, STATUS_PAST_WINDOW_MS, type PublicIncident, type PublicIncidentUpdate } from './status.actions.ts';
export { registerStatusRoutes } from './status.routes.ts';
