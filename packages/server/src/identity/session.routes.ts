import { AccountParams, EndedSessions, ErrorBody, SessionList, SessionParams } from '@conclave/protocol';
import { Type } from 'typebox';
import type { AppContext } from '../context.ts';
import { actorOf, clearSessionCookie, createAuthGuard, sessionActorOf } from '../http/auth-guard.ts';
import type { App } from '../http/types.ts';
import { endMySession, endOtherSessions, listMySessions, revokeAccountCredentials, revokeAllCredentials } from './session.actions.ts';
import { presentSessionListing } from './session.presenter.ts';

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody };

/**
 * Your sessions: list them, end one, end all the others. Operators end an account's sessions or everyone's.
 * Every route here is for sessions only: an API token never manages sessions.
 */
export const registerSessionRoutes = (app: App, ctx: AppContext): void => {
  const guarded = { preHandler: [createAuthGuard(ctx)] };

  app.get(
    '/api/v1/me/sessions',
    { schema: { tags: ['sessions'], summary: 'Your sessions that still work: device, address, created, last seen', response: { 200: SessionList, ...errors } }, ...guarded },
    async (request) => ({ sessions: (await listMySessions(ctx, sessionActorOf(request))).map(presentSessionListing) }),
  );

  app.delete(
    '/api/v1/me/sessions/:sessionId',
    { schema: { tags: ['sessions'], summary: 'End one of your sessions; its live sockets close', params: SessionParams, response: { 204: Type.Null(), ...errors } }, ...guarded },
    async (request, reply) => {
      const actor = sessionActorOf(request);
      const { current } = await endMySession(ctx, actor, request.params.sessionId);
      if (current && actor.via === 'cookie') clearSessionCookie(reply, ctx.config);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/v1/me/sessions/end-others',
    { schema: { tags: ['sessions'], summary: 'End every session of yours but this one (API tokens stay)', response: { 200: EndedSessions, ...errors } }, ...guarded },
    async (request) => ({ ended: await endOtherSessions(ctx, sessionActorOf(request)) }),
  );

  app.post(
    '/api/v1/accounts/:accountId/sessions/revoke',
    {
      schema: { tags: ['sessions'], summary: 'End every session and API token of an account (operators)', params: AccountParams, response: { 204: Type.Null(), ...errors } },
      ...guarded,
    },
    async (request, reply) => {
      await revokeAccountCredentials(ctx, actorOf(request), request.params.accountId);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/v1/sessions/revoke',
    { schema: { tags: ['sessions'], summary: 'End every session and API token on the server, yours too (operators)', response: { 204: Type.Null(), ...errors } }, ...guarded },
    async (request, reply) => {
      const actor = actorOf(request);
      await revokeAllCredentials(ctx, actor);
      if (actor.via === 'cookie') clearSessionCookie(reply, ctx.config);
      return reply.code(204).send(null);
    },
  );
};
