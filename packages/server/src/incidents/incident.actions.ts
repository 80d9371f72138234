import type { Kysely } from 'kysely';
import type { AppContext } from '../context.ts';
import { newId } from '../crypto/index.ts';
import type { IncidentSeverity, IncidentStatus, Schema } from '../db/index.ts';
import { isUniqueViolation } from '../db/index.ts';
import { AppError } from '../errors.ts';
import { auditActor, type Actor } from '../identity/index.ts';
import {
  findIncidentById,
  findIncidentByNumber,
  insertIncident,
  insertIncidentUpdate,
  listIncidentRows,
  listIncidentUpdates,
  nextIncidentNumber,
  updateIncidentRow,
  type IncidentRow,
} from './incident.queries.ts';
import {
  emptyNotice,
  incidentRef,
  openIncident,
  openIncidentUpdate,
  sealIncidentDetails,
  sealIncidentTitle,
  sealUpdateBody,
  type BreachNotice,
  type IncidentDetails,
  type OpenedIncident,
  type OpenedIncidentUpdate,
} from './incident.seal.ts';

export const INCIDENT_SEVERITIES: readonly IncidentSeverity[] = ['SEV1', 'SEV2', 'SEV3'];
export const INCIDENT_STATUSES: readonly IncidentStatus[] = ['investigating', 'identified', 'contained', 'monitoring', 'resolved'];
export const INCIDENT_TITLE_MAX = 200;
export const INCIDENT_TEXT_MAX = 20_000;

/** Who did it: a person (API) or the operator at the console (CLI, no account). */
export type IncidentActor = Actor | undefined;

const actorIdOf = (actor: IncidentActor): string | null => actor?.account.id ?? null;
const auditBy = (actor: IncidentActor): Record<string, unknown> => (actor ? auditActor(actor) : {});

export interface DeclareIncidentInput {
  title: string;
  severity: IncidentSeverity;
  /** When the operator became aware (default: now). Not in the future. */
  awareAt?: number | undefined;
  components?: string[] | undefined;
  notice?: Partial<BreachNotice> | undefined;
  /** The first timeline entry (default: "Incident declared."). */
  summary?: string | undefined;
}

export interface IncidentUpdateInput {
  status?: IncidentStatus | undefined;
  severity?: IncidentSeverity | undefined;
  title?: string | undefined;
  components?: string[] | undefined;
  notice?: Partial<BreachNotice> | undefined;
  /** The timeline entry's text. */
  note?: string | undefined;
  /** The entry is shown on the status page (once the incident is published). */
  public?: boolean | undefined;
}

const assertText = (value: string | undefined, field: string, max: number, required = false): void => {
  if (value === undefined) {
    if (required) throw new AppError('VALIDATION_FAILED', { message: `${field} is required.` });
    return;
  }
  if ((required && value.trim() === '') || value.length > max) throw new AppError('VALIDATION_FAILED', { message: `${field} must be 1–${max} characters.` });
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/u.test(value)) throw new AppError('VALIDATION_FAILED', { message: `${field} holds control characters.` });
};

const assertNotice = (notice: Partial<BreachNotice> | undefined): void => {
  if (!notice) return;
  for (const key of ['whatHappened', 'consequences', 'measures', 'contact'] as const) assertText(notice[key], `notice.${key}`, INCIDENT_TEXT_MAX);
  for (const key of ['approxPeople', 'approxRecords'] as const) {
    const value = notice[key];
    if (value !== undefined && value !== null && (!Number.isSafeInteger(value) || value < 0)) throw new AppError('VALIDATION_FAILED', { message: `notice.${key} must be a whole number of at least 0.` });
  }
  if (notice.categories !== undefined) {
    if (notice.categories.length > 50) throw new AppError('VALIDATION_FAILED', { message: 'At most 50 categories.' });
    for (const category of notice.categories) assertText(category, 'A category', 200, true);
  }
};

const assertComponents = (components: string[] | undefined): void => {
  if (!components) return;
  if (components.length > 50) throw new AppError('VALIDATION_FAILED', { message: 'At most 50 components.' });
  for (const component of components) assertText(component, 'A component', 200, true);
};

const assertSeverity = (severity: string | undefined): void => {
  if (severity !== undefined && !INCIDENT_SEVERITIES.includes(severity as IncidentSeverity)) throw new AppError('VALIDATION_FAILED', { message: 'Severity is SEV1, SEV2 or SEV3.' });
};
const assertStatus = (status: string | undefined): void => {
  if (status !== undefined && !INCIDENT_STATUSES.includes(status as IncidentStatus)) throw new AppError('VALIDATION_FAILED', { message: `Status is one of ${INCIDENT_STATUSES.join(', ')}.` });
};

/** Adds a timeline entry (in the caller's transaction when `db` is one). */
export const addTimelineEntry = async (
  ctx: AppContext,
  db: Kysely<Schema>,
  entry: { incidentId: string; kind: string; body: string; status?: IncidentStatus | null; public?: boolean; actorId?: string | null; at?: number },
): Promise<void> => {
  const at = entry.at ?? ctx.now();
  const id = newId(at);
  await insertIncidentUpdate(db, {
    id,
    incident_id: entry.incidentId,
    at,
    kind: entry.kind,
    status: entry.status ?? null,
    body: sealUpdateBody(ctx.keyring, id, entry.body),
    public: entry.public === true ? 1 : 0,
    actor_id: entry.actorId ?? null,
  });
};

export const declareIncident = async (ctx: AppContext, input: DeclareIncidentInput, actor?: IncidentActor): Promise<OpenedIncident> => {
  assertText(input.title, 'The title', INCIDENT_TITLE_MAX, true);
  assertSeverity(input.severity);
  assertComponents(input.components);
  assertNotice(input.notice);
  assertText(input.summary, 'The summary', INCIDENT_TEXT_MAX);
  const now = ctx.now();
  const awareAt = input.awareAt ?? now;
  if (!Number.isFinite(awareAt) || awareAt > now + 60_000) throw new AppError('VALIDATION_FAILED', { message: 'The moment of awareness cannot be in the future.' });
  const id = newId(now);
  const details: IncidentDetails = { components: input.components ?? [], notice: { ...emptyNotice(), ...input.notice } };
  for (let attempt = 0; ; attempt += 1) {
    try {
      const row = await ctx.database.db.transaction().execute(async (trx) => {
        const incident: IncidentRow = {
          id,
          number: await nextIncidentNumber(trx),
          title: sealIncidentTitle(ctx.keyring, id, input.title.trim()),
          severity: input.severity,
          status: 'investigating',
          aware_at: awareAt,
          declared_at: now,
          declared_by: actorIdOf(actor),
          resolved_at: null,
          details: sealIncidentDetails(ctx.keyring, id, details),
          published_at: null,
          postmortem: null,
          postmortem_published_at: null,
          updated_at: now,
        };
        await insertIncident(trx, incident);
        await addTimelineEntry(ctx, trx, { incidentId: id, kind: 'declared', status: 'investigating', body: input.summary?.trim() || 'Incident declared.', actorId: actorIdOf(actor), at: now });
        return incident;
      });
      const opened = openIncident(ctx.keyring, row);
      await ctx.audit.record({ action: 'incident.declare', ...auditBy(actor), detail: { incidentId: id, number: opened.number, severity: input.severity } });
      return opened;
    } catch (error) {
      if (attempt < 3 && isUniqueViolation(error)) continue;
      throw error;
    }
  }
};

/** An incident by id, number or reference (`INC-7`, `7`, or its UUID). */
export const findIncident = async (ctx: AppContext, ref: string): Promise<OpenedIncident> => {
  const trimmed = ref.trim();
  const number = /^(?:INC-)?(\d{1,9})$/i.exec(trimmed);
  const row = number ? await findIncidentByNumber(ctx.database.db, Number(number[1])) : /^[0-9a-f-]{36}$/.test(trimmed) ? await findIncidentById(ctx.database.db, trimmed) : undefined;
  if (!row) throw new AppError('INCIDENT_NOT_FOUND');
  return openIncident(ctx.keyring, row);
};

export const listIncidents = async (ctx: AppContext, filter: { open?: boolean; published?: boolean; limit?: number } = {}): Promise<OpenedIncident[]> =>
  (await listIncidentRows(ctx.database.db, { ...filter, limit: filter.limit ?? 100 })).map((row) => openIncident(ctx.keyring, row));

export const incidentTimeline = async (ctx: AppContext, incidentId: string, filter: { publicOnly?: boolean } = {}): Promise<OpenedIncidentUpdate[]> =>
  (await listIncidentUpdates(ctx.database.db, incidentId, filter)).map((row) => openIncidentUpdate(ctx.keyring, row));

export const updateIncident = async (ctx: AppContext, ref: string, input: IncidentUpdateInput, actor?: IncidentActor): Promise<OpenedIncident> => {
  assertStatus(input.status);
  assertSeverity(input.severity);
  assertText(input.title, 'The title', INCIDENT_TITLE_MAX, input.title !== undefined);
  assertComponents(input.components);
  assertNotice(input.notice);
  assertText(input.note, 'The note', INCIDENT_TEXT_MAX);
  const changesSomething = input.status !== undefined || input.severity !== undefined || input.title !== undefined || input.components !== undefined || input.notice !== undefined || (input.note ?? '').trim() !== '';
  if (!changesSomething) throw new AppError('VALIDATION_FAILED', { message: 'Nothing to update: give a status, a severity, a title, components, notice fields or a note.' });
  const incident = await findIncident(ctx, ref);
  const now = ctx.now();
  const statusChanged = input.status !== undefined && input.status !== incident.status;
  const changes: Record<string, unknown> = { updated_at: now };
  if (input.status !== undefined) {
    changes.status = input.status;
    changes.resolved_at = input.status === 'resolved' ? (incident.resolvedAt ?? now) : null;
  }
  if (input.severity !== undefined) changes.severity = input.severity;
  if (input.title !== undefined) changes.title = sealIncidentTitle(ctx.keyring, incident.id, input.title.trim());
  if (input.components !== undefined || input.notice !== undefined) {
    const details: IncidentDetails = { components: input.components ?? incident.details.components, notice: { ...incident.details.notice, ...input.notice } };
    changes.details = sealIncidentDetails(ctx.keyring, incident.id, details);
  }
  const described = [
    statusChanged ? `Status: ${incident.status} → ${input.status}.` : '',
    input.severity !== undefined && input.severity !== incident.severity ? `Severity: ${incident.severity} → ${input.severity}.` : '',
    input.title !== undefined ? 'Title changed.' : '',
    input.components !== undefined ? 'Affected components updated.' : '',
    input.notice !== undefined ? 'Breach notice fields updated.' : '',
  ].filter(Boolean);
  const body = (input.note ?? '').trim() || described.join(' ');
  await ctx.database.db.transaction().execute(async (trx) => {
    await updateIncidentRow(trx, incident.id, changes);
    await addTimelineEntry(ctx, trx, {
      incidentId: incident.id,
      kind: input.status === 'resolved' && statusChanged ? 'resolved' : statusChanged ? 'status' : 'update',
      status: statusChanged ? (input.status ?? null) : null,
      body,
      public: input.public === true,
      actorId: actorIdOf(actor),
      at: now,
    });
  });
  await ctx.audit.record({ action: 'incident.update', ...auditBy(actor), detail: { incidentId: incident.id, status: input.status ?? null, severity: input.severity ?? null, public: input.public === true } });
  return findIncident(ctx, incident.id);
};

export const resolveIncident = (ctx: AppContext, ref: string, note: string | undefined, actor?: IncidentActor, isPublic = false): Promise<OpenedIncident> =>
  updateIncident(ctx, ref, { status: 'resolved', note: note ?? 'Incident resolved.', public: isPublic }, actor);

export { incidentRef };
