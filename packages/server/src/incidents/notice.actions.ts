import type { AppContext } from '../context.ts';
import { findIncidentById } from './incident.queries.ts';
import { addTimelineEntry } from './incident.actions.ts';
import { newId } from '../crypto/index.ts';
import type { IncidentMailingsTable, IncidentSegment } from '../db/index.ts';
import { AppError, type ErrorDetail } from '../errors.ts';
import { auditActor, openAccount, type Actor } from '../identity/index.ts';
import { notifyMailQueued, prepareMail, queueMail, type RenderedMail } from '../mail/index.ts';
import { incidentRef, openIncident, sealMailingMessage, type OpenedIncident } from './incident.seal.ts';
import {
  countAccounts,
  countListedAccounts,
  findChunkEnd,
  findMailingRow,
  findScopeRow,
  insertMailingChunk,
  insertMailingRows,
  listInstanceAdmins,
  listMailingRows,
  listReportInstances,
  relaxCommitDurability,
  saveMailingProgress,
  type AccountWalk,
  type MailingRow,
  type ReportInstanceRow,
  type ScopeRow,
} from './mailing.queries.ts';
import {
  SAMPLE_PERSON,
  renderActionRequired,
  renderAdminReport,
  renderFollowUp,
  renderPrecautionary,
  renderReassurance,
  sampleResetLink,
  type InstanceSummary,
  type NoticeContext,
  type NoticeTemplate,
} from './notice.templates.ts';

export const SEGMENTS: readonly IncidentSegment[] = ['affected', 'possibly_affected', 'not_affected'];

/** Which template each segment of a scope gets ('none': no mail). */
export interface NoticePlan {
  affected: 'action-required' | 'precautionary' | 'none';
  possibly_affected: 'action-required' | 'precautionary' | 'none';
  not_affected: 'reassurance' | 'none';
}

export interface NoticeRequest {
  incidentId: string;
  /**
   * The saved scope whose segments the plan addresses. Null: no scope, everyone is treated as affected (one
   * mailing to every account with `plan.affected`; the other segments are empty, admin reports need a scope).
   */
  scopeId: string | null;
  plan: NoticePlan;
  /** Also mail each admin of each instance the incident touched a report of what it touched there. */
  adminReports: boolean;
}

export type MailingTarget = IncidentMailingsTable['target'];

export interface MailingProgress {
  mailingId: string;
  target: MailingTarget;
  template: NoticeTemplate;
  /** Mails this mailing queued so far (all runs). */
  queued: number;
  done: boolean;
}

export interface QueueOptions {
  ratePerSecond: number;
  /** Who asked (API); the CLI acts as the operator of the machine. */
  actor?: Actor | undefined;
  /** After each committed chunk. */
  onProgress?: ((progress: MailingProgress) => void) | undefined;
  /** Accounts walked per transaction (default 5,000: a few tens of milliseconds of SQLite each). */
  chunkSize?: number | undefined;
}

export interface QueuedMailing {
  id: string;
  target: MailingTarget;
  template: NoticeTemplate;
  /** Mails the mailing holds (this run and earlier ones). */
  queued: number;
  /** Mails this call added. */
  added: number;
}

export interface PlannedSegment {
  segment: IncidentSegment | 'everyone';
  /** People in the segment. */
  people: number;
  template: NoticeTemplate | 'none';
  /** Mails an earlier run of the same plan already queued for this segment (a rerun adds only the rest). */
  alreadyQueued: number;
}

export interface NoticeSample {
  template: NoticeTemplate;
  rendered: RenderedMail;
}

export interface NoticePlanResult {
  incident: { id: string; ref: string };
  scopeId: string | null;
  segments: PlannedSegment[];
  adminReports: { instances: number; recipients: number; alreadyQueued: number } | null;
  /** One rendered mail of each template the plan sends, with a made-up recipient. */
  samples: NoticeSample[];
}

export const RATE_LIMITS = { min: 1, max: 10_000 } as const;
export const FOLLOW_UP_LIMITS = { subjectChars: 150, bodyChars: 20_000 } as const;
const DEFAULT_CHUNK = 5_000;
const REPORT_INSTANCE_CHUNK = 100;
/** Mailings go out in this order: admins hear first, then the people by how much it concerns them. */
const TARGET_ORDER: Record<MailingTarget, number> = { admins: 0, affected: 1, everyone: 1, possibly_affected: 2, not_affected: 3 };

const invalid = (details: ErrorDetail[]): AppError => new AppError('VALIDATION_FAILED', { details });

const PLAN_CHOICES: Record<IncidentSegment, readonly string[]> = {
  affected: ['action-required', 'precautionary', 'none'],
  possibly_affected: ['action-required', 'precautionary', 'none'],
  not_affected: ['reassurance', 'none'],
};

const assertPlan = (plan: NoticePlan): void => {
  const problems: ErrorDetail[] = [];
  for (const segment of SEGMENTS) {
    const choice = (plan as unknown as Record<string, unknown> | undefined)?.[segment];
    if (typeof choice !== 'string' || !PLAN_CHOICES[segment].includes(choice)) problems.push({ path: `plan.${segment}`, problem: `must be one of ${PLAN_CHOICES[segment].join(', ')}` });
  }
  if (problems.length > 0) throw invalid(problems);
};

export const assertRate = (ratePerSecond: unknown): number => {
  if (typeof ratePerSecond !== 'number' || !Number.isInteger(ratePerSecond) || ratePerSecond < RATE_LIMITS.min || ratePerSecond > RATE_LIMITS.max) {
    throw invalid([{ path: 'ratePerSecond', problem: `must be a whole number of mails per second from ${RATE_LIMITS.min} to ${RATE_LIMITS.max}` }]);
  }
  return ratePerSecond;
};

const assertChunkSize = (chunkSize: number | undefined): number => {
  if (chunkSize === undefined) return DEFAULT_CHUNK;
  if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > 50_000) throw invalid([{ path: 'chunkSize', problem: 'must be a whole number from 1 to 50000' }]);
  return chunkSize;
};

interface Target {
  incident: OpenedIncident;
  scope: ScopeRow | null;
}

/** The incident, opened, and the scope (which must be one of the incident's). */
export const loadNoticeTarget = async (ctx: AppContext, incidentId: string, scopeId: string | null): Promise<Target> => {
  const row = typeof incidentId === 'string' ? await findIncidentById(ctx.database.db, incidentId) : undefined;
  if (!row) throw new AppError('INCIDENT_NOT_FOUND');
  let scope: ScopeRow | null = null;
  if (scopeId !== null) {
    const found = typeof scopeId === 'string' ? await findScopeRow(ctx.database.db, scopeId) : undefined;
    if (!found || found.incident_id !== row.id) throw new AppError('INCIDENT_SCOPE_NOT_FOUND');
    scope = found;
  }
  return { incident: openIncident(ctx.keyring, row), scope };
};

export const noticeContext = (ctx: AppContext, incident: OpenedIncident): NoticeContext => ({
  ref: incidentRef(incident),
  host: ctx.config.publicUrl.host,
  origin: ctx.config.publicUrl.origin,
  notice: incident.details.notice,
});

/** What one mailing walks: every account, or one segment of the scope. */
export const walkOf = (target: Exclude<MailingTarget, 'admins'>, scope: Pick<ScopeRow, 'id' | 'default_segment'> | null): AccountWalk => {
  if (target === 'everyone') return { kind: 'everyone' };
  if (!scope) throw new Error(`a ${target} mailing needs its scope`);
  return target === scope.default_segment ? { kind: 'default', scopeId: scope.id, segment: target } : { kind: 'listed', scopeId: scope.id, segment: target };
};

interface PlannedMailing {
  target: MailingTarget;
  template: NoticeTemplate;
}

const plannedMailings = (request: NoticeRequest, scope: ScopeRow | null): PlannedMailing[] => {
  const planned: PlannedMailing[] = [];
  if (request.adminReports) {
    if (!scope) throw invalid([{ path: 'adminReports', problem: 'admin reports need a scope (they say what the incident touched in each instance)' }]);
    planned.push({ target: 'admins', template: 'admin-report' });
  }
  if (!scope) {
    if (request.plan.affected !== 'none') planned.push({ target: 'everyone', template: request.plan.affected });
    return planned;
  }
  for (const segment of SEGMENTS) {
    const template = request.plan[segment];
    if (template !== 'none') planned.push({ target: segment, template });
  }
  return planned;
};

/** People per segment: those the scope lists there, plus every unlisted account for its default segment. */
const countPeople = async (ctx: AppContext, scope: ScopeRow | null): Promise<Record<IncidentSegment | 'everyone', number>> => {
  const total = await countAccounts(ctx.database.db);
  if (!scope) return { everyone: total, affected: total, possibly_affected: 0, not_affected: 0 };
  const listed = await countListedAccounts(ctx.database.db, scope.id);
  const unlisted = total - listed.affected - listed.possibly_affected - listed.not_affected;
  const people = { everyone: total, ...listed };
  people[scope.default_segment] += Math.max(0, unlisted);
  return people;
};

/** The instance summary as the scope wrote it, read defensively. */
const parseSummary = (raw: string | null): InstanceSummary | null => {
  if (raw === null) return null;
  try {
    const value = JSON.parse(raw) as Partial<Record<keyof InstanceSummary, unknown>>;
    const count = (n: unknown): number => (typeof n === 'number' && Number.isFinite(n) && n >= 0 ? Math.floor(n) : 0);
    return { roomsRead: count(value.roomsRead), affected: count(value.affected), possiblyAffected: count(value.possiblyAffected) };
  } catch {
    return null;
  }
};

const reportInput = (scope: ScopeRow, instance: ReportInstanceRow) => ({
  instanceName: instance.name,
  segment: instance.segment ?? scope.default_segment,
  summary: instance.segment === null ? null : parseSummary(instance.summary),
});

/** Every page of the instances whose admins get a report. */
async function* reportInstancePages(ctx: AppContext, scope: ScopeRow, after: string | null): AsyncGenerator<ReportInstanceRow[]> {
  let cursor = after;
  for (;;) {
    const page = await listReportInstances(ctx.database.db, scope, cursor, REPORT_INSTANCE_CHUNK);
    if (page.length === 0) return;
    yield page;
    cursor = page[page.length - 1]!.id;
    if (page.length < REPORT_INSTANCE_CHUNK) return;
  }
}

const findStandardMailing = (mailings: MailingRow[], scopeId: string | null, planned: PlannedMailing): MailingRow | undefined =>
  mailings.find((m) => m.scope_id === scopeId && m.target === planned.target && m.template === planned.template);

const renderSample = (ctx: AppContext, c: NoticeContext, template: Exclude<NoticeTemplate, 'admin-report' | 'follow-up'>): RenderedMail => {
  switch (template) {
    case 'action-required':
      return renderActionRequired(c, SAMPLE_PERSON, { link: sampleResetLink(c.origin), ttlMs: ctx.config.forcedResetTtlMs });
    case 'precautionary':
      return renderPrecautionary(c, SAMPLE_PERSON);
    case 'reassurance':
      return renderReassurance(c, SAMPLE_PERSON);
  }
};

/**
 * The dry run: how many people each segment holds and which template each would get, how many admin reports
 * would go out, and one rendered sample of each mail. Writes nothing.
 */
export const planNotices = async (ctx: AppContext, request: NoticeRequest): Promise<NoticePlanResult> => {
  assertPlan(request.plan);
  const { incident, scope } = await loadNoticeTarget(ctx, request.incidentId, request.scopeId);
  const planned = plannedMailings(request, scope);
  const people = await countPeople(ctx, scope);
  const existing = await listMailingRows(ctx.database.db, incident.id);
  const c = noticeContext(ctx, incident);
  const alreadyQueued = (target: MailingTarget, template: NoticeTemplate | 'none'): number =>
    template === 'none' ? 0 : (findStandardMailing(existing, scope?.id ?? null, { target, template })?.queued ?? 0);
  const segments: PlannedSegment[] = scope
    ? SEGMENTS.map((segment) => ({ segment, people: people[segment], template: request.plan[segment], alreadyQueued: alreadyQueued(segment, request.plan[segment]) }))
    : [{ segment: 'everyone', people: people.everyone, template: request.plan.affected, alreadyQueued: alreadyQueued('everyone', request.plan.affected) }];
  const samples: NoticeSample[] = [];
  let adminReports: NoticePlanResult['adminReports'] = null;
  if (scope && request.adminReports) {
    let instances = 0;
    let recipients = 0;
    let sample: RenderedMail | undefined;
    for await (const page of reportInstancePages(ctx, scope, null)) {
      instances += page.length;
      recipients += (await listInstanceAdmins(ctx.database.db, page.map((i) => i.id))).length;
      sample ??= renderAdminReport(c, SAMPLE_PERSON, reportInput(scope, page[0]!));
    }
    adminReports = { instances, recipients, alreadyQueued: alreadyQueued('admins', 'admin-report') };
    samples.push({
      template: 'admin-report',
      rendered: sample ?? renderAdminReport(c, SAMPLE_PERSON, { instanceName: 'Example instance', segment: 'affected', summary: { roomsRead: 0, affected: 0, possiblyAffected: 0 } }),
    });
  }
  for (const template of new Set(planned.map((p) => p.template))) {
    if (template === 'admin-report' || template === 'follow-up') continue;
    samples.push({ template, rendered: renderSample(ctx, c, template) });
  }
  return { incident: { id: incident.id, ref: incidentRef(incident) }, scopeId: scope?.id ?? null, segments, adminReports, samples };
};

/**
 * Mails are spread at the rate from an origin: the n-th mail a run queues is due at origin + n · 1000 / rate.
 * The schedule is in the rows (next_attempt_at), so any number of nodes send at the rate without talking.
 */
interface Schedule {
  origin: number;
  position: number;
  ratePerSecond: number;
}

const dueAt = (schedule: Schedule, offset = 0): number => schedule.origin + Math.floor(((schedule.position + offset) * 1000) / schedule.ratePerSecond);

/**
 * A run's schedule: from its first mailing's creation, after the mails its mailings already hold; never in
 * the past (a run resumed after a stop spreads the rest from now, not all at once).
 */
const scheduleFor = (ctx: AppContext, mailings: MailingRow[], ratePerSecond: number): Schedule => {
  const start = Math.min(...mailings.map((m) => m.created_at));
  const held = mailings.reduce((sum, m) => sum + Number(m.queued), 0);
  const planned = start + Math.ceil((held * 1000) / ratePerSecond);
  return { origin: Math.max(ctx.now(), planned), position: 0, ratePerSecond };
};

/** Queues the rest of one mailing, chunk by chunk, each chunk and the mailing's cursor in one transaction. */
const runMailing = async (ctx: AppContext, mailing: MailingRow, schedule: Schedule, options: { chunkSize: number; onProgress?: ((progress: MailingProgress) => void) | undefined }): Promise<number> => {
  if (mailing.status === 'queued') return 0;
  const db = ctx.database.db;
  const scope = mailing.scope_id === null ? null : ((await findScopeRow(db, mailing.scope_id)) ?? null);
  if (mailing.scope_id !== null && !scope) throw new AppError('INCIDENT_SCOPE_NOT_FOUND');
  const template = mailing.template;
  let cursor = mailing.cursor;
  let queued = Number(mailing.queued);
  let added = 0;
  const report = (done: boolean) => options.onProgress?.({ mailingId: mailing.id, target: mailing.target, template, queued, done });

  if (mailing.target === 'admins') {
    // Few: rendered now and sealed like any mail, one transaction per page of instances.
    const incidentRow = await findIncidentById(db, mailing.incident_id);
    if (!incidentRow || !scope) throw new AppError('INCIDENT_NOT_FOUND');
    const c = noticeContext(ctx, openIncident(ctx.keyring, incidentRow));
    for await (const page of reportInstancePages(ctx, scope, cursor)) {
      const admins = await listInstanceAdmins(db, page.map((i) => i.id));
      const byInstance = new Map(page.map((i) => [i.id, i]));
      const now = ctx.now();
      const rows = admins.map((admin, index) => {
        const account = openAccount(ctx.keyring, admin);
        const instance = byInstance.get(admin.instance_id)!;
        const row = prepareMail(
          ctx,
          {
            kind: 'incident_report',
            accountId: account.id,
            to: account.email,
            idempotencyKey: `incident:${mailing.incident_id}:admin-report:${instance.id}:${account.id}`,
            rendered: renderAdminReport(c, { displayName: account.display_name }, reportInput(scope, instance)),
          },
          now,
        );
        return { ...row, mailing_id: mailing.id, next_attempt_at: dueAt(schedule, index) };
      });
      const last = page[page.length - 1]!.id;
      const inserted = await db.transaction().execute(async (trx) => {
        let count = 0;
        // A row whose cause already has a mail is skipped; the ones after it keep their slots (a gap is harmless).
        for (const row of rows) if (await queueMail(trx, row)) count += 1;
        await saveMailingProgress(trx, mailing.id, { cursor: last, queued: queued + count, done: false, now });
        return count;
      });
      schedule.position += rows.length;
      queued += inserted;
      added += inserted;
      cursor = last;
      if (inserted > 0) notifyMailQueued();
      report(false);
    }
  } else {
    const walk = walkOf(mailing.target, scope);
    const keyPrefix = template === 'follow-up' ? `mailing:${mailing.id}:` : `incident:${mailing.incident_id}:${template}:`;
    for (;;) {
      const last = await findChunkEnd(db, walk, cursor, options.chunkSize);
      if (last === undefined) break;
      const now = ctx.now();
      const chunk = {
        engine: ctx.database.engine,
        walk,
        mailingId: mailing.id,
        keyPrefix,
        after: cursor,
        last,
        idPrefix: newId(now).slice(0, 24),
        origin: schedule.origin,
        position: schedule.position,
        ratePerSecond: schedule.ratePerSecond,
        now,
      };
      const inserted = await db.transaction().execute(async (trx) => {
        await relaxCommitDurability(trx, ctx.database.engine);
        const count = await insertMailingChunk(trx, chunk);
        await saveMailingProgress(trx, mailing.id, { cursor: last, queued: queued + count, done: false, now });
        return count;
      });
      schedule.position += inserted;
      queued += inserted;
      added += inserted;
      cursor = last;
      if (inserted > 0) notifyMailQueued();
      report(false);
      // Let requests in between chunks (SQLite has one connection).
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  await saveMailingProgress(db, mailing.id, { cursor, queued, done: true, now: ctx.now() });
  report(true);
  return added;
};

const newMailingRow = (input: { incidentId: string; scopeId: string | null; target: MailingTarget; template: NoticeTemplate; ratePerSecond: number; actor?: Actor | undefined; now: number }): MailingRow => ({
  id: newId(input.now),
  incident_id: input.incidentId,
  scope_id: input.scopeId,
  target: input.target,
  template: input.template,
  message: null,
  rate_per_second: input.ratePerSecond,
  status: 'queuing',
  cursor: null,
  queued: 0,
  created_by: input.actor?.account.id ?? null,
  created_at: input.now,
  updated_at: input.now,
});

const present = (mailing: MailingRow, queued: number, added: number): QueuedMailing => ({ id: mailing.id, target: mailing.target, template: mailing.template, queued, added });

const runAll = async (ctx: AppContext, mailings: MailingRow[], ratePerSecond: number, options: QueueOptions): Promise<QueuedMailing[]> => {
  const chunkSize = assertChunkSize(options.chunkSize);
  const ordered = [...mailings].sort((a, b) => TARGET_ORDER[a.target] - TARGET_ORDER[b.target]);
  const schedule = scheduleFor(ctx, ordered, ratePerSecond);
  const results: QueuedMailing[] = [];
  for (const mailing of ordered) {
    const added = await runMailing(ctx, mailing, schedule, { chunkSize, onProgress: options.onProgress });
    results.push(present(mailing, Number(mailing.queued) + added, added));
  }
  return results;
};

/** Ids, targets, templates and counts: never an address or a text. */
const recordNotify = async (
  ctx: AppContext,
  input: { incidentId: string; scopeId?: string | null; ratePerSecond?: number; actor?: Actor | undefined; mailings: QueuedMailing[]; kind: 'plan' | 'follow-up' | 'resume' },
): Promise<void> => {
  const added = input.mailings.reduce((sum, m) => sum + m.added, 0);
  const parts = input.mailings.map((m) => `${m.template} to ${m.target.replace('_', ' ')}: ${m.queued.toLocaleString('en-US')}`);
  const lead = input.kind === 'follow-up' ? 'Follow-up queued' : input.kind === 'resume' ? 'Mailings resumed' : 'Notices queued';
  await addTimelineEntry(ctx, ctx.database.db, {
    incidentId: input.incidentId,
    kind: 'notify',
    body: `${lead} (${added.toLocaleString('en-US')} new${input.ratePerSecond !== undefined ? `, ${input.ratePerSecond}/s` : ''}): ${parts.join('; ') || 'nothing to send'}.`,
    actorId: input.actor?.account.id ?? null,
  });
  await ctx.audit.record({
    action: 'incident.notify',
    ...(input.actor ? auditActor(input.actor) : {}),
    detail: {
      incidentId: input.incidentId,
      kind: input.kind,
      ...(input.scopeId !== undefined ? { scopeId: input.scopeId } : {}),
      ...(input.ratePerSecond !== undefined ? { ratePerSecond: input.ratePerSecond } : {}),
      mailings: input.mailings.map((m) => ({ id: m.id, target: m.target, template: m.template, queued: m.queued, added: m.added })),
    },
  });
};

/**
 * Queues the notices of a plan through the outbox: one mailing per (segment, template) and the admins'
 * reports, each walked in account-id order in chunks whose rows and cursor commit together. Running the
 * same plan again (after a crash, or twice) finishes what is unfinished and adds nobody twice: a mail's
 * idempotency key is the incident, the template and the account. The mails carry no address and no body
 * (the worker renders them when it sends), and are spread at `ratePerSecond` in all.
 */
export const queueNotices = async (ctx: AppContext, request: NoticeRequest & QueueOptions): Promise<QueuedMailing[]> => {
  assertPlan(request.plan);
  const ratePerSecond = assertRate(request.ratePerSecond);
  assertChunkSize(request.chunkSize);
  const { incident, scope } = await loadNoticeTarget(ctx, request.incidentId, request.scopeId);
  const planned = plannedMailings(request, scope);
  const existing = await listMailingRows(ctx.database.db, incident.id);
  const now = ctx.now();
  const fresh: MailingRow[] = [];
  const mailings = planned.map((p) => {
    const found = findStandardMailing(existing, scope?.id ?? null, p);
    if (found) return found;
    const row = newMailingRow({ incidentId: incident.id, scopeId: scope?.id ?? null, target: p.target, template: p.template, ratePerSecond, actor: request.actor, now });
    fresh.push(row);
    return row;
  });
  await insertMailingRows(ctx.database.db, fresh);
  const results = await runAll(ctx, mailings, ratePerSecond, request);
  await recordNotify(ctx, { incidentId: incident.id, scopeId: scope?.id ?? null, ratePerSecond, actor: request.actor, mailings: results, kind: 'plan' });
  return results;
};

export interface FollowUpRequest extends QueueOptions {
  incidentId: string;
  /** Needed unless the segment is 'everyone'. */
  scopeId: string | null;
  segment: IncidentSegment | 'everyone';
  subject: string;
  /** Plain text. */
  body: string;
}

const assertFollowUp = (request: Pick<FollowUpRequest, 'segment' | 'subject' | 'body' | 'scopeId'>): { segment: IncidentSegment | 'everyone'; subject: string; body: string } => {
  const problems: ErrorDetail[] = [];
  const segment = request.segment;
  if (segment !== 'everyone' && !SEGMENTS.includes(segment)) problems.push({ path: 'segment', problem: `must be everyone or one of ${SEGMENTS.join(', ')}` });
  const subject = typeof request.subject === 'string' ? request.subject.trim() : '';
  const body = typeof request.body === 'string' ? request.body.trim() : '';
  if (subject.length === 0 || subject.length > FOLLOW_UP_LIMITS.subjectChars || /[\p{Cc}\u2028\u2029]/u.test(subject)) {
    problems.push({ path: 'subject', problem: `must be one line of 1 to ${FOLLOW_UP_LIMITS.subjectChars} characters` });
  }
  if (body.length === 0 || body.length > FOLLOW_UP_LIMITS.bodyChars) problems.push({ path: 'body', problem: `must be 1 to ${FOLLOW_UP_LIMITS.bodyChars} characters` });
  if (segment !== 'everyone' && request.scopeId === null) problems.push({ path: 'scopeId', problem: 'a segment needs the scope that defines it' });
  if (problems.length > 0) throw invalid(problems);
  return { segment, subject, body };
};

/** The dry run of a follow-up: how many people the segment holds and the mail rendered for a made-up one. Writes nothing. */
export const planFollowUp = async (ctx: AppContext, request: Omit<FollowUpRequest, keyof QueueOptions>): Promise<{ people: number; sample: RenderedMail }> => {
  const { segment, subject, body } = assertFollowUp(request);
  const { incident, scope } = await loadNoticeTarget(ctx, request.incidentId, request.scopeId);
  const people = await countPeople(ctx, scope);
  return { people: people[segment], sample: renderFollowUp(noticeContext(ctx, incident), SAMPLE_PERSON, { subject, body }) };
};

/** A later mailing to one segment (or everyone) with the operator's own subject and text; its own mailing each time. */
export const queueFollowUp = async (ctx: AppContext, request: FollowUpRequest): Promise<QueuedMailing> => {
  const { segment, subject, body } = assertFollowUp(request);
  const ratePerSecond = assertRate(request.ratePerSecond);
  assertChunkSize(request.chunkSize);
  const { incident, scope } = await loadNoticeTarget(ctx, request.incidentId, request.scopeId);
  const now = ctx.now();
  const row = newMailingRow({ incidentId: incident.id, scopeId: scope?.id ?? null, target: segment, template: 'follow-up', ratePerSecond, actor: request.actor, now });
  row.message = sealMailingMessage(ctx.keyring, row.id, { subject, body });
  await insertMailingRows(ctx.database.db, [row]);
  const [result] = await runAll(ctx, [row], ratePerSecond, request);
  await recordNotify(ctx, { incidentId: incident.id, scopeId: scope?.id ?? null, ratePerSecond, actor: request.actor, mailings: [result!], kind: 'follow-up' });
  return result!;
};

/**
 * Finishes every mailing of the incident still queuing (a run that stopped: crash, Ctrl-C), at the rate each
 * was created with, from its cursor.
 */
export const resumeMailings = async (ctx: AppContext, incidentId: string, options: Omit<QueueOptions, 'ratePerSecond'> = {}): Promise<QueuedMailing[]> => {
  assertChunkSize(options.chunkSize);
  const { incident } = await loadNoticeTarget(ctx, incidentId, null);
  const unfinished = (await listMailingRows(ctx.database.db, incident.id)).filter((m) => m.status === 'queuing');
  const results: QueuedMailing[] = [];
  // One run per creation (a plan's mailings share theirs), in order.
  const runs = new Map<number, MailingRow[]>();
  for (const m of unfinished) runs.set(m.created_at, [...(runs.get(m.created_at) ?? []), m]);
  for (const run of runs.values()) {
    const rate = run[0]!.rate_per_second;
    results.push(...(await runAll(ctx, run, rate, { ...options, ratePerSecond: rate })));
  }
  if (results.length > 0) await recordNotify(ctx, { incidentId: incident.id, actor: options.actor, mailings: results, kind: 'resume' });
  return results;
};

/** A mailing, or MAILING_NOT_FOUND. */
export const findMailing = async (ctx: AppContext, mailingId: string): Promise<MailingRow> => {
  const row = typeof mailingId === 'string' ? await findMailingRow(ctx.database.db, mailingId) : undefined;
  if (!row) throw new AppError('MAILING_NOT_FOUND');
  return row;
};
