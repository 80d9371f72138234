import { Type, type Static } from 'typebox';
import { MULTI_LINE_PATTERN, Timestamp } from './common.ts';

// ─── Status page and postmortems (issue 7, step 5) ──────────────────────────────────────────────────────────
// The public status page's JSON (GET /api/v1/status) and the operators' publication and postmortem routes
// (/api/v1/operator/incidents/:ref/…). What the public sees carries no internal field: no notice, scope,
// counts, nor who did what.

export const IncidentSeveritySchema = Type.Union([Type.Literal('SEV1'), Type.Literal('SEV2'), Type.Literal('SEV3')]);
export const IncidentStatusSchema = Type.Union([
  Type.Literal('investigating'),
  Type.Literal('identified'),
  Type.Literal('contained'),
  Type.Literal('monitoring'),
  Type.Literal('resolved'),
]);

/** INC-7, 7 (any case), or the incident's UUID. */
export const IncidentRef = Type.String({
  pattern: '^(?:(?:[Ii][Nn][Cc]-)?[0-9]{1,9}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$',
  description: 'An incident: INC-7, 7, or its id.',
});
export const IncidentRefParams = Type.Object({ ref: IncidentRef }, { additionalProperties: false });

/** A postmortem's Markdown: up to 100,000 characters, lines and tabs allowed, no other control characters. */
export const POSTMORTEM_MAX_LENGTH = 100_000;
export const PostmortemMarkdown = Type.String({
  minLength: 1,
  maxLength: POSTMORTEM_MAX_LENGTH,
  pattern: MULTI_LINE_PATTERN,
  description: 'Markdown (CommonMark with tables). Raw HTML and images are shown as text; links only to http(s), mailto and this site.',
});
export const SetPostmortemRequest = Type.Object({ markdown: PostmortemMarkdown }, { additionalProperties: false });
export type SetPostmortemRequest = Static<typeof SetPostmortemRequest>;

/** An incident's place on the status page, as an operator sees it after publishing or unpublishing. */
export const IncidentPublication = Type.Object({
  ref: Type.String({ description: 'INC-<n>' }),
  publishedAt: Type.Union([Timestamp, Type.Null()], { description: 'On the status page since (null: internal only).' }),
  postmortemPublishedAt: Type.Union([Timestamp, Type.Null()]),
  statusUrl: Type.String({ description: 'The incident\'s public page (answers 404 while it is not published).' }),
});
export type IncidentPublication = Static<typeof IncidentPublication>;

/** The postmortem as an operator edits it: the draft, its rendering, and a skeleton when there is none yet. */
export const PostmortemView = Type.Object({
  ref: Type.String(),
  markdown: Type.Union([Type.String(), Type.Null()], { description: 'The text on record (the published one, once published).' }),
  html: Type.Union([Type.String(), Type.Null()], { description: 'The text rendered exactly as the status page shows it.' }),
  publishedAt: Type.Union([Timestamp, Type.Null()], { description: 'When the postmortem was published (null: a draft, or none).' }),
  incidentPublishedAt: Type.Union([Timestamp, Type.Null()]),
  template: Type.Union([Type.String(), Type.Null()], { description: 'A Markdown skeleton prefilled from the incident, when there is no text yet.' }),
});
export type PostmortemView = Static<typeof PostmortemView>;

/** One public timeline entry. */
export const StatusUpdate = Type.Object({
  at: Timestamp,
  status: Type.Union([IncidentStatusSchema, Type.Null()], { description: 'The status this entry set, if it set one.' }),
  body: Type.String(),
});

export const StatusIncident = Type.Object({
  ref: Type.String({ description: 'INC-<n>' }),
  title: Type.String(),
  severity: IncidentSeveritySchema,
  status: IncidentStatusSchema,
  declaredAt: Timestamp,
  resolvedAt: Type.Union([Timestamp, Type.Null()]),
  lastUpdateAt: Timestamp,
  url: Type.String({ description: 'The incident\'s public page.' }),
  updates: Type.Array(StatusUpdate, { description: 'Public entries, oldest first.' }),
  postmortemUrl: Type.Union([Type.String(), Type.Null()], { description: 'Set once the postmortem is published (the incident\'s page shows it).' }),
});
export type StatusIncident = Static<typeof StatusIncident>;

export const StatusSummary = Type.Object({
  name: Type.String({ description: 'The server, as its public address names it.' }),
  state: Type.Union([Type.Literal('normal'), Type.Literal('incident')], { description: 'normal: no published incident is open.' }),
  open: Type.Array(StatusIncident, { description: 'Published incidents not resolved, newest first.' }),
  past: Type.Array(StatusIncident, { description: 'Published incidents resolved in the last 90 days, newest first.' }),
  generatedAt: Timestamp,
});
export type StatusSummary = Static<typeof StatusSummary>;
// ─── end of status page and postmortems ─────────────────────────────────────────────────────────────────────
