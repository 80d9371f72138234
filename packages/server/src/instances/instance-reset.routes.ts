import { ErrorBody, ForcedResetResponse, InstanceParams, MemberParams } from '@conclave/protocol';
import type { AppContext } from '../context.ts';
import { actorOf, createAuthGuard } from '../http/auth-guard.ts';
import type { App } from '../http/types.ts';
import { forceInstanceReset, forceMemberReset } from './instance-reset.actions.ts';

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 429: ErrorBody };

/** Forced password resets by an instance's admins: for one member, or for every member. */
export const registerInstanceResetRoutes = (app: App, ctx: AppContext): void => {
  const authGuard = createAuthGuard(ctx);

  app.post(
    '/api/v1/instances/:instanceId/members/:accountId/force-password-reset',
    {
      schema: {
        tags: ['instances'],
        summary: 'Force a password reset for a member (admins): their sessions end and a reset link is mailed to them',
        params: MemberParams,
        response: { 200: ForcedResetResponse, ...errors },
      },
      preHandler: [authGuard],
    },
    async (request) => forceMemberReset(ctx, actorOf(request), request.params.instanceId, request.params.accountId),
  );

  app.post(
    '/api/v1/instances/:instanceId/force-password-reset',
    {
      schema: {
        tags: ['instances'],
        summary: 'Force a password reset for every member (admins), the caller included: every session ends, each is mailed a link',
        params: InstanceParams,
        response: { 200: ForcedResetResponse, ...errors },
      },
      preHandler: [authGuard],
    },
    async (request) => forceInstanceReset(ctx, actorOf(request), request.params.instanceId),
  );
};
