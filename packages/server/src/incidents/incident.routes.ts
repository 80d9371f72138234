import {
  Containment,
  ContainmentParams,
  ContainRequest,
  DeclareIncidentRequest,
  ErrorBody,
  Incident,
  IncidentDetail,
  IncidentList,
  IncidentProgress,
  IncidentRefParams,
  IncidentScope,
  FollowUpPlan,
  FollowUpRequest,
  MailingParams,
  MailingStatusList,
  NoticePlan,
  NotifyRequest,
  ProgressQuery,
  QueuedMailing,
  QueuedMailings,
  RecipientPage,
  RecipientsQuery,
  ScopeRequest,
  UpdateIncidentRequest,
} from '@conclave/protocol';
import type { AppContext } from '../context.ts';
import { AppError } from '../errors.ts';
import { actorOf, createAuthGuard } from '../http/auth-guard.ts';
import type { App } from '../http/types.ts';
import { assertOperator, type Actor } from '../identity/index.ts';
import { containIncident, findIncidentContainment, listIncidentContainments } from './contain.actions.ts';
import { declareIncident, findIncident, incidentTimeline, listIncidents, updateIncident } from './incident.actions.ts';
import { presentContainment, presentIncident, presentScope, presentTimelineEntry } from './incident.presenter.ts';
import { listMailingRecipients, mailingStatus, noticesDeliveredOverTime } from './mailing.actions.ts';
import { findMailing, planFollowUp, planNotices, queueFollowUp, queueNotices } from './notice.actions.ts';
import { incidentProgress, PROGRESS_BUCKETS } from './progress.actions.ts';
import { computeScope, findIncidentScope, instanceSlugs, type ScopeResult } from './scope.actions.ts';

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody };


const time = (value: string | undefined): number | undefined => (value === undefined ? undefined : Date.parse(value));

/**
 * The incident console's API (operators): declare, follow, scope and contain an incident, and watch the
 * progress. Containment runs in this process after the answer (202): follow it at its URL; if the process
 * stops, POST the same containment again and it resumes.
 */
export const registerIncidentRoutes = (app: App, ctx: AppContext): void => {
  const guarded = { preHandler: [createAuthGuard(ctx)] };
  const operator = (request: Parameters<typeof actorOf>[0]): Actor => assertOperator(actorOf(request));
  const scopeOrNull = async (incidentId: string): Promise<ScopeResult | null> => {
    try {
      return await findIncidentScope(ctx, incidentId);
    } catch (error) {
      if (error instanceof AppError && error.code === 'INCIDENT_SCOPE_NOT_FOUND') return null;
      throw error;
    }
  };

  app.get(
    '/api/v1/operator/incidents',
    { schema: { tags: ['incidents'], summary: 'Incidents, newest first (operators)', response: { 200: IncidentList, ...errors } }, ...guarded },
    async (request) => {
      operator(request);
      return { incidents: (await listIncidents(ctx)).map((incident) => presentIncident(incident, ctx.now())) };
    },
  );

  app.post(
    '/api/v1/operator/incidents',
    { schema: { tags: ['incidents'], summary: 'Declare an incident; the 72-hour clock runs from awareAt (operators)', body: DeclareIncidentRequest, response: { 201: Incident, ...errors } }, ...guarded },
    async (request, reply) => {
      const actor = operator(request);
      const body = request.body;
      const declared = await declareIncident(ctx, { title: body.title, severity: body.severity, awareAt: time(body.awareAt), components: body.components, notice: body.notice, summary: body.summary }, actor);
      return reply.code(201).send(presentIncident(declared, ctx.now()));
    },
  );

  app.get(
    '/api/v1/operator/incidents/:ref',
    { schema: { tags: ['incidents'], summary: 'An incident with its timeline, latest scope and containments (operators)', params: IncidentRefParams, response: { 200: IncidentDetail, ...errors } }, ...guarded },
    async (request) => {
      operator(request);
      const incident = await findIncident(ctx, request.params.ref);
      const scope = await scopeOrNull(incident.id);
      return {
        incident: presentIncident(incident, ctx.now()),
        timeline: (await incidentTimeline(ctx, incident.id)).map(presentTimelineEntry),
        scope: scope ? presentScope(scope, await instanceSlugs(ctx, scope.instances.map((i) => i.instanceId))) : null,
        containments: (await listIncidentContainments(ctx, incident.id)).map(presentContainment),
      };
    },
  );

  app.patch(
    '/api/v1/operator/incidents/:ref',
    { schema: { tags: ['incidents'], summary: 'Add to the timeline; change status, severity, title, components or notice fields (operators)', params: IncidentRefParams, body: UpdateIncidentRequest, response: { 200: Incident, ...errors } }, ...guarded },
    async (request) => presentIncident(await updateIncident(ctx, request.params.ref, request.body, operator(request)), ctx.now()),
  );

  app.post(
    '/api/v1/operator/incidents/:ref/scope',
    { schema: { tags: ['incidents'], summary: 'Compute and save a scope from the verified audit log; changes nothing else (operators)', params: IncidentRefParams, body: ScopeRequest, response: { 201: IncidentScope, ...errors } }, ...guarded },
    async (request, reply) => {
      const actor = operator(request);
      const { allowUnverified, since, until, ...rest } = request.body;
      const scope = await computeScope(ctx, request.params.ref, { ...rest, since: time(since), until: time(until) }, { actor, allowUnverified: allowUnverified === true });
      return reply.code(201).send(presentScope(scope, await instanceSlugs(ctx, scope.instances.map((i) => i.instanceId))));
    },
  );

  app.get(
    '/api/v1/operator/incidents/:ref/scope',
    { schema: { tags: ['incidents'], summary: 'The latest scope (operators)', params: IncidentRefParams, response: { 200: IncidentScope, ...errors } }, ...guarded },
    async (request) => {
      operator(request);
      const incident = await findIncident(ctx, request.params.ref);
      const scope = await findIncidentScope(ctx, incident.id);
      return presentScope(scope, await instanceSlugs(ctx, scope.instances.map((i) => i.instanceId)));
    },
  );

  app.post(
    '/api/v1/operator/incidents/:ref/containments',
    {
      schema: { tags: ['incidents'], summary: 'Start (or resume) a containment; it runs after the answer (operators)', params: IncidentRefParams, body: ContainRequest, response: { 202: Containment, 200: Containment, ...errors } },
      ...guarded,
    },
    async (request, reply) => {
      const actor = operator(request);
      const incident = await findIncident(ctx, request.params.ref);
      // Validate and create (or find) the containment before answering; the chunks run afterwards.
      let first: Awaited<ReturnType<typeof containIncident>> | undefined;
      let answered!: (progress: Awaited<ReturnType<typeof containIncident>>) => void;
      const started = new Promise<Awaited<ReturnType<typeof containIncident>>>((resolve) => (answered = resolve));
      const run = containIncident(ctx, incident.id, {
        target: request.body.target,
        steps: request.body.steps,
        scopeId: request.body.scopeId,
        actor,
        onProgress: (progress) => {
          if (!first) {
            first = progress;
            answered(progress);
          }
        },
      });
      const outcome = await Promise.race([started.then((progress) => ({ progress, finished: false })), run.then((progress) => ({ progress, finished: true }))]);
      if (!outcome.finished) run.catch((error: unknown) => ctx.log.error({ err: error, incidentId: incident.id }, 'containment stopped; POST it again to resume'));
      return reply.code(outcome.finished && outcome.progress.alreadyDone === true ? 200 : 202).send(presentContainment(outcome.progress));
    },
  );

  app.get(
    '/api/v1/operator/incidents/:ref/containments/:containmentId',
    { schema: { tags: ['incidents'], summary: 'A containment\'s progress (operators)', params: ContainmentParams, response: { 200: Containment, ...errors } }, ...guarded },
    async (request) => {
      operator(request);
      return presentContainment(await findIncidentContainment(ctx, request.params.ref, request.params.containmentId));
    },
  );

  app.get(
    '/api/v1/operator/incidents/:ref/progress',
    { schema: { tags: ['incidents'], summary: 'People who reset since containment and notices delivered, over time (operators)', params: IncidentRefParams, querystring: ProgressQuery, response: { 200: IncidentProgress, ...errors } }, ...guarded },
    async (request) => {
      operator(request);
      const progress = await incidentProgress(ctx, request.params.ref, PROGRESS_BUCKETS[request.query.bucket ?? 'hour']);
      const totals = { queued: 0, sent: 0, failed: 0 };
      for (const mailing of await mailingStatus(ctx, progress.incidentId)) {
        totals.queued += mailing.mails.queued + mailing.mails.sending;
        totals.sent += mailing.mails.sent;
        totals.failed += mailing.mails.failed;
      }
      return {
        bucketMs: progress.bucketMs,
        containments: progress.containments.map(presentContainment),
        resets: { ...progress.resets, series: progress.resets.series.map((point) => ({ at: new Date(point.at).toISOString(), completed: point.completed })) },
        notices: {
          ...totals,
          series: (await noticesDeliveredOverTime(ctx, progress.incidentId, progress.bucketMs)).map((point) => ({ at: new Date(point.at).toISOString(), delivered: point.delivered })),
        },
      };
    },
  );

  // The scope a notice addresses: the one named, none (null: everyone), or the latest.
  const noticeScope = async (incidentId: string, scopeId: string | null | undefined): Promise<string | null> =>
    scopeId === null ? null : (await findIncidentScope(ctx, incidentId, scopeId)).id;

  app.post(
    '/api/v1/operator/incidents/:ref/notices',
    {
      schema: {
        tags: ['incidents'],
        summary: 'Queue each segment its notice through the outbox (dryRun: counts and samples, nothing written) (operators)',
        params: IncidentRefParams,
        body: NotifyRequest,
        response: { 200: NoticePlan, 202: QueuedMailings, ...errors },
      },
      ...guarded,
    },
    async (request, reply) => {
      const actor = operator(request);
      const incident = await findIncident(ctx, request.params.ref);
      const scopeId = await noticeScope(incident.id, request.body.scopeId);
      const notice = {
        incidentId: incident.id,
        scopeId,
        plan: { affected: request.body.plan?.affected ?? 'action-required', possibly_affected: request.body.plan?.possibly_affected ?? 'precautionary', not_affected: request.body.plan?.not_affected ?? 'none' },
        adminReports: scopeId !== null && request.body.adminReports !== false,
      } as const;
      if (request.body.dryRun === true) {
        const plan = await planNotices(ctx, notice);
        return reply.code(200).send({ scopeId: plan.scopeId, segments: plan.segments, adminReports: plan.adminReports, samples: plan.samples });
      }
      const mailings = await queueNotices(ctx, { ...notice, ratePerSecond: request.body.ratePerSecond ?? 200, actor });
      return reply.code(202).send({ mailings });
    },
  );

  app.post(
    '/api/v1/operator/incidents/:ref/notices/follow-up',
    {
      schema: { tags: ['incidents'], summary: 'A later mailing to one segment with your own subject and text (operators)', params: IncidentRefParams, body: FollowUpRequest, response: { 200: FollowUpPlan, 202: QueuedMailing, ...errors } },
      ...guarded,
    },
    async (request, reply) => {
      const actor = operator(request);
      const incident = await findIncident(ctx, request.params.ref);
      const scopeId = request.body.segment === 'everyone' && request.body.scopeId === undefined ? null : await noticeScope(incident.id, request.body.scopeId);
      const followUp = { incidentId: incident.id, scopeId, segment: request.body.segment, subject: request.body.subject, body: request.body.body };
      if (request.body.dryRun === true) return reply.code(200).send(await planFollowUp(ctx, followUp));
      return reply.code(202).send(await queueFollowUp(ctx, { ...followUp, ratePerSecond: request.body.ratePerSecond ?? 200, actor }));
    },
  );

  app.get(
    '/api/v1/operator/incidents/:ref/mailings',
    { schema: { tags: ['incidents'], summary: 'Each mailing and its mails by delivery status (operators)', params: IncidentRefParams, response: { 200: MailingStatusList, ...errors } }, ...guarded },
    async (request) => {
      operator(request);
      const incident = await findIncident(ctx, request.params.ref);
      return { mailings: (await mailingStatus(ctx, incident.id)).map((m) => ({ ...m, createdAt: new Date(m.createdAt).toISOString() })) };
    },
  );

  app.get(
    '/api/v1/operator/incidents/:ref/mailings/:mailingId/recipients',
    { schema: { tags: ['incidents'], summary: 'Per-recipient status of a mailing, with addresses (operators)', params: MailingParams, querystring: RecipientsQuery, response: { 200: RecipientPage, ...errors } }, ...guarded },
    async (request) => {
      operator(request);
      const incident = await findIncident(ctx, request.params.ref);
      const mailing = await findMailing(ctx, request.params.mailingId);
      if (mailing.incident_id !== incident.id) throw new AppError('MAILING_NOT_FOUND');
      const page = await listMailingRecipients(ctx, mailing.id, { status: request.query.status, limit: request.query.limit ?? 100, after: request.query.after });
      return { recipients: page.recipients.map((r) => ({ ...r, sentAt: r.sentAt === null ? null : new Date(r.sentAt).toISOString() })), next: page.next };
    },
  );

};
