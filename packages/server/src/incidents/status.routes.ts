import { ErrorBody, IncidentPublication, IncidentRefParams, PostmortemView, SetPostmortemRequest, StatusSummary } from '@conclave/protocol';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../context.ts';
import { AppError } from '../errors.ts';
import { actorOf, createAuthGuard } from '../http/auth-guard.ts';
import { perIpLimit } from '../http/rate-limits.ts';
import type { App } from '../http/types.ts';
import { assertOperator } from '../identity/index.ts';
import { publishPostmortem, readPostmortem, setPostmortem } from './postmortem.actions.ts';
import { findPublicIncident, publishIncident, readStatus, readStatusFeed, unpublishIncident } from './status.actions.ts';
import { renderStatusFeed } from './status.atom.ts';
import { renderIncidentPage, renderNotFoundPage, renderStatusPage, STATUS_CSS, STATUS_CSS_PATH, STATUS_FEED_PATH } from './status.html.ts';
import { presentPostmortem, presentPublication, presentStatus } from './status.presenter.ts';

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody, 429: ErrorBody };

/** Public pages may be cached briefly (a status page gets busy exactly when things go wrong). */
const PUBLIC_CACHE = 'public, max-age=30';

const operatorOnly = async (request: FastifyRequest): Promise<void> => {
  assertOperator(actorOf(request));
};

/**
 * The public status page (no log-in, GET only, limited per address): /status, an incident's page, the Atom
 * feed, the stylesheet and the JSON. The operators' routes put incidents on it, take them off, and write
 * and publish postmortems.
 */
export const registerStatusRoutes = (app: App, ctx: AppContext): void => {
  const name = ctx.config.publicUrl.host;
  const origin = ctx.config.publicUrl.origin;
  const publicRoute = { config: perIpLimit(ctx.config.statusRateLimitPerIp) };
  const html = (reply: FastifyReply, body: string, code = 200): FastifyReply =>
    reply.code(code).type('text/html; charset=utf-8').header('cache-control', code === 200 ? PUBLIC_CACHE : 'no-store').send(body);

  app.get('/status', { schema: { tags: ['status'], summary: 'The public status page (HTML)' }, ...publicRoute }, async (_request, reply) =>
    html(reply, renderStatusPage(name, await readStatus(ctx))),
  );

  app.get(
    '/status/incidents/:ref',
    { schema: { tags: ['status'], summary: 'A published incident: its public updates and its postmortem (HTML)' }, ...publicRoute },
    async (request, reply) => {
      const { ref } = request.params as { ref: string };
      try {
        return html(reply, renderIncidentPage(name, await findPublicIncident(ctx, ref)));
      } catch (error) {
        // Missing, unpublished or malformed: the same page, and nothing of the reference echoed.
        if (error instanceof AppError && error.code === 'INCIDENT_NOT_FOUND') return html(reply, renderNotFoundPage(name), 404);
        throw error;
      }
    },
  );

  app.get(STATUS_FEED_PATH, { schema: { tags: ['status'], summary: 'Published incidents as an Atom 1.0 feed' }, ...publicRoute }, async (_request, reply) =>
    reply
      .type('application/atom+xml; charset=utf-8')
      .header('cache-control', PUBLIC_CACHE)
      .send(renderStatusFeed(name, origin, await readStatusFeed(ctx), ctx.now())),
  );

  app.get(STATUS_CSS_PATH, { schema: { hide: true }, ...publicRoute }, async (_request, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(STATUS_CSS),
  );

  app.get(
    '/api/v1/status',
    { schema: { tags: ['status'], summary: 'The status page as JSON: open published incidents and those resolved in the last 90 days', response: { 200: StatusSummary, 429: ErrorBody } }, ...publicRoute },
    async () => presentStatus(name, origin, await readStatus(ctx)),
  );

  // Operators: sessions only (no API token), like the other operator routes.
  const operator = { preHandler: [createAuthGuard(ctx), operatorOnly] };
  const params = IncidentRefParams;

  app.post(
    '/api/v1/operator/incidents/:ref/publish',
    { schema: { tags: ['incidents'], summary: 'Put an incident and its public updates on the status page (operators)', params, response: { 200: IncidentPublication, ...errors } }, ...operator },
    async (request) => presentPublication(origin, await publishIncident(ctx, request.params.ref, actorOf(request))),
  );

  app.post(
    '/api/v1/operator/incidents/:ref/unpublish',
    { schema: { tags: ['incidents'], summary: 'Take an incident off the status page (operators)', params, response: { 200: IncidentPublication, ...errors } }, ...operator },
    async (request) => presentPublication(origin, await unpublishIncident(ctx, request.params.ref, actorOf(request))),
  );

  app.get(
    '/api/v1/operator/incidents/:ref/postmortem',
    {
      schema: { tags: ['incidents'], summary: 'The postmortem on record, rendered as the status page shows it, or a skeleton to start from (operators)', params, response: { 200: PostmortemView, ...errors } },
      ...operator,
    },
    async (request) => presentPostmortem(await readPostmortem(ctx, request.params.ref)),
  );

  app.put(
    '/api/v1/operator/incidents/:ref/postmortem',
    {
      schema: {
        tags: ['incidents'],
        summary: 'Write the postmortem (a draft until published; once published, a revision shows at once) (operators)',
        params,
        body: SetPostmortemRequest,
        response: { 200: PostmortemView, ...errors },
      },
      ...operator,
    },
    async (request) => {
      await setPostmortem(ctx, request.params.ref, request.body.markdown, actorOf(request));
      return presentPostmortem(await readPostmortem(ctx, request.params.ref));
    },
  );

  app.post(
    '/api/v1/operator/incidents/:ref/postmortem/publish',
    {
      schema: { tags: ['incidents'], summary: 'Publish the postmortem, and the incident with it if needed (operators)', params, response: { 200: PostmortemView, ...errors } },
      ...operator,
    },
    async (request) => {
      await publishPostmortem(ctx, request.params.ref, actorOf(request));
      return presentPostmortem(await readPostmortem(ctx, request.params.ref));
    },
  );
};
