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
