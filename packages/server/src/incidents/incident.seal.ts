import type { Keyring } from '../crypto/index.ts';
import type { IncidentsTable, IncidentUpdatesTable } from '../db/index.ts';

/** What a breach notice must carry (GDPR art. 33(3), and what people ask): kept with the incident, sealed. */
export interface BreachNotice {
  /** What happened, in words a person who was affected understands. */
  whatHappened: string;
  /** Categories of people and of records concerned (e.g. "chat members", "email addresses", "messages"). */
  categories: string[];
  /** Approximate numbers (null: not known yet). */
  approxPeople: number | null;
  approxRecords: number | null;
  /** Likely consequences for the people concerned. */
  consequences: string;
  /** Measures taken or proposed, including what people should do. */
  measures: string;
  /** Whom to contact for more information (an address or a page). */
  contact: string;
}

export interface IncidentDetails {
  /** Affected components (web tier, database, backups, an integration…). */
  components: string[];
  notice: BreachNotice;
}

export const emptyNotice = (): BreachNotice => ({ whatHappened: '', categories: [], approxPeople: null, approxRecords: null, consequences: '', measures: '', contact: '' });

/** An incident with its free text opened. */
export interface OpenedIncident {
  id: string;
  number: number;
  title: string;
  severity: IncidentsTable['severity'];
  status: IncidentsTable['status'];
  awareAt: number;
  declaredAt: number;
  declaredBy: string | null;
  resolvedAt: number | null;
  details: IncidentDetails;
  publishedAt: number | null;
  postmortem: string | null;
  postmortemPublishedAt: number | null;
  updatedAt: number;
}

export interface OpenedIncidentUpdate {
  id: string;
  incidentId: string;
  at: number;
  kind: string;
  status: IncidentUpdatesTable['status'];
  body: string;
  public: boolean;
  actorId: string | null;
}

const FIELD = {
  title: 'incidents.title',
  details: 'incidents.details',
  postmortem: 'incidents.postmortem',
  updateBody: 'incident_updates.body',
  selectors: 'incident_scopes.selectors',
  mailingMessage: 'incident_mailings.message',
} as const;

export const sealIncidentTitle = (keyring: Keyring, id: string, title: string): string => keyring.server.seal(FIELD.title, id, title);
export const sealIncidentDetails = (keyring: Keyring, id: string, details: IncidentDetails): string => keyring.server.seal(FIELD.details, id, JSON.stringify(details));
export const sealPostmortem = (keyring: Keyring, id: string, markdown: string): string => keyring.server.seal(FIELD.postmortem, id, markdown);
export const sealUpdateBody = (keyring: Keyring, id: string, body: string): string => keyring.server.seal(FIELD.updateBody, id, body);
export const sealSelectors = (keyring: Keyring, scopeId: string, selectors: unknown): string => keyring.server.seal(FIELD.selectors, scopeId, JSON.stringify(selectors));
export const openSelectors = <T>(keyring: Keyring, scopeId: string, sealed: string): T => JSON.parse(keyring.server.open(FIELD.selectors, scopeId, sealed)) as T;
export const sealMailingMessage = (keyring: Keyring, mailingId: string, message: { subject: string; body: string }): string =>
  keyring.server.seal(FIELD.mailingMessage, mailingId, JSON.stringify(message));
export const openMailingMessage = (keyring: Keyring, mailingId: string, sealed: string): { subject: string; body: string } =>
  JSON.parse(keyring.server.open(FIELD.mailingMessage, mailingId, sealed)) as { subject: string; body: string };

export const openIncident = (keyring: Keyring, row: IncidentsTable): OpenedIncident => ({
  id: row.id,
  number: Number(row.number),
  title: keyring.server.open(FIELD.title, row.id, row.title),
  severity: row.severity,
  status: row.status,
  awareAt: Number(row.aware_at),
  declaredAt: Number(row.declared_at),
  declaredBy: row.declared_by,
  resolvedAt: row.resolved_at === null ? null : Number(row.resolved_at),
  details: JSON.parse(keyring.server.open(FIELD.details, row.id, row.details)) as IncidentDetails,
  publishedAt: row.published_at === null ? null : Number(row.published_at),
  postmortem: row.postmortem === null ? null : keyring.server.open(FIELD.postmortem, row.id, row.postmortem),
  postmortemPublishedAt: row.postmortem_published_at === null ? null : Number(row.postmortem_published_at),
  updatedAt: Number(row.updated_at),
});

export const openIncidentUpdate = (keyring: Keyring, row: IncidentUpdatesTable): OpenedIncidentUpdate => ({
  id: row.id,
  incidentId: row.incident_id,
  at: Number(row.at),
  kind: row.kind,
  status: row.status,
  body: keyring.server.open(FIELD.updateBody, row.id, row.body),
  public: Number(row.public) === 1,
  actorId: row.actor_id,
});

/** INC-7 */
export const incidentRef = (incident: Pick<OpenedIncident, 'number'>): string => `INC-${incident.number}`;

/** The regulator's deadline (GDPR art. 33: 72 hours from awareness). */
export const NOTIFICATION_DEADLINE_MS = 72 * 3_600_000;
export const notificationDeadline = (incident: Pick<OpenedIncident, 'awareAt'>): number => incident.awareAt + NOTIFICATION_DEADLINE_MS;
